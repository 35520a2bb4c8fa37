import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RevocationBroadcaster } from '../../../../src/domain/revocations/revocation-broadcaster.js'
import { RevokedTokens } from '../../../../src/domain/revocations/revoked-tokens.js'
import type { Change } from '../../../../src/ports/change-notifier.js'
import { ManualClock } from '../../../../src/ports/clock.js'
import { freshStorage } from '../../../support/storage.js'

const NOW = Date.UTC(2026, 11, 4)

async function setUp() {
  const { storage, close } = await freshStorage('sqlite')
  const clock = new ManualClock(NOW)
  const broadcaster = new RevocationBroadcaster(storage.revocationFeed, 20, (err) => assert.fail(String(err)))
  const published: Change[] = []
  const revoked = new RevokedTokens(storage.revocations, broadcaster, clock, { publish: (c) => published.push(c) })
  return {
    storage, clock, broadcaster, revoked, published,
    async close() {
      revoked.stop()
      await broadcaster.close()
      await close()
    },
  }
}

async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 1000
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within 1 s: ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

test('revocations in force at start are loaded; expired ones are not', async () => {
  const s = await setUp()
  try {
    await s.storage.revocations.revoke({ jti: 'live', clientId: 'agt_a', expiresAt: NOW + 60_000, revokedAt: NOW })
    await s.storage.revocations.revoke({ jti: 'dead', clientId: 'agt_a', expiresAt: NOW - 1, revokedAt: NOW - 60_000 })
    await s.revoked.start()
    assert.equal(await s.revoked.isRevoked('live'), true)
    assert.equal(await s.revoked.isRevoked('dead'), false)
    assert.equal(await s.revoked.isRevoked('never'), false)
    assert.equal(s.broadcaster.subscribers, 0, 'the node itself is not counted as a revocation stream')
  } finally {
    await s.close()
  }
})

test('a revocation here counts at once and is told to the other nodes', async () => {
  const s = await setUp()
  try {
    await s.revoked.start()
    await s.revoked.revoke({ jti: 'j1', clientId: 'agt_a', expiresAt: NOW + 60_000, revokedAt: NOW })
    assert.equal(await s.revoked.isRevoked('j1'), true)
    assert.deepEqual(s.published, [{ kind: 'revoked-token', id: 'j1', until: NOW + 60_000 }])
    assert.equal(await s.storage.revocations.isRevoked('j1'), true, 'and it is stored')
  } finally {
    await s.close()
  }
})

test('a revocation made by another node arrives through the feed even when its notification is lost', async () => {
  const s = await setUp()
  try {
    await s.revoked.start()
    // Another node writes the revocation (and its feed entry); no notification reaches this one.
    await s.storage.revocations.revoke({ jti: 'elsewhere', clientId: 'agt_b', expiresAt: NOW + 60_000, revokedAt: NOW })
    await eventually('the feed delivering the revocation', () => s.revoked.isRevoked('elsewhere'))
  } finally {
    await s.close()
  }
})

test('a notification from another node counts before the feed is read; one for an expired token is ignored', async () => {
  const s = await setUp()
  try {
    await s.revoked.start()
    s.revoked.heard({ kind: 'revoked-token', id: 'told', until: NOW + 1_000 })
    s.revoked.heard({ kind: 'revoked-token', id: 'stale', until: NOW - 1 })
    s.revoked.heard({ kind: 'agent', id: 'told-too' })
    assert.equal(await s.revoked.isRevoked('told'), true)
    assert.equal(await s.revoked.isRevoked('stale'), false)
    assert.equal(await s.revoked.isRevoked('told-too'), false)
    assert.equal(s.revoked.size, 1)
  } finally {
    await s.close()
  }
})
