import { systemClock } from '../ports/clock.js'
import { envelope, loadMasterKey } from '../crypto/envelope.js'
import { KeyService } from '../crypto/key-service.js'
import { AuditLog } from '../domain/audit/audit-log.js'
import { openOffline } from './offline.js'

/**
 * `mandate keys rotate`: promotes the standby key (already published) to signer and publishes a
 * fresh standby, in the database. Running servers pick the change up on their next key refresh
 * (within 10 s) and sign with the old key until then; both keys verify throughout.
 */
export async function keysRotate(argv: string[]): Promise<number> {
  // --force: promote a standby published less than PUBLISH_AHEAD_SECONDS ago (an emergency).
  const force = argv.includes('--force')
  // --withdraw-previous: the old signer is compromised; unpublish it now and announce it on the revocation feed.
  const withdrawPrevious = argv.includes('--withdraw-previous')
  const { config, database, storage } = await openOffline(argv.filter((a) => a !== '--force' && a !== '--withdraw-previous'))
  try {
    const clock = systemClock()
    const keys = new KeyService(storage.keys, envelope(loadMasterKey(config.masterKey, config.dataDir).key), clock, {
      domain: 'agent-tokens',
      alg: 'ES256',
      retiredPublishSeconds: config.maxTokenTtlSeconds + 60,
    })
    await keys.start()
    const rotated = await keys.rotate({ force, withdrawPrevious })
    const audit = await AuditLog.open(storage.audit, clock)
    await audit.record({ actorType: 'admin', actorId: 'cli', action: 'key.rotated', outcome: 'success', target: rotated.kid, details: { domain: 'agent-tokens', retired_kid: rotated.retiredKid ?? null, forced: force, withdrawn: withdrawPrevious } })
    await audit.close()
    process.stdout.write(`new signing key ${rotated.kid}; retired ${rotated.retiredKid ?? 'none'}\n`)
    return 0
  } finally {
    await database.close()
  }
}
