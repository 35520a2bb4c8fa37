import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AuditLog } from '../../../../src/domain/audit/audit-log.js'
import { verifyAuditLog } from '../../../../src/domain/audit/verify.js'
import { ManualClock } from '../../../../src/ports/clock.js'
import { availableEngines } from '../../../support/engines.js'
import { freshStorage } from '../../../support/storage.js'

for (const engine of await availableEngines()) {
  test(`an event holding text the ${engine} store cannot keep exactly is stored and still verifies`, async () => {
    const { storage, close } = await freshStorage(engine)
    try {
      const store = storage.audit
      const log = await AuditLog.open(store, new ManualClock(1_000))
      const event = await log.record({ actorType: 'anonymous', actorId: 'a\u0000b', action: 'test.hostile', outcome: 'failure', reason: '\ud800 lone', details: { note: 'x\u0000\udfff' } })
      assert.equal(event.actorId, 'a\uFFFDb')
      assert.equal(event.reason, '\uFFFD lone')
      assert.deepEqual(event.details, { note: 'x\uFFFD\uFFFD' })
      await log.close()
      assert.equal((await verifyAuditLog(store)).ok, true)
    } finally {
      await close()
    }
  })
}
