import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { freshStorage } from '../support/storage.js'
import type { Storage } from '../../src/adapters/storage/sql/index.js'
import type { AuthorizationCode, PersonGrant } from '../../src/ports/authorization-repo.js'

const NOW = Date.UTC(2026, 11, 1)
let n = 0
const next = () => String(++n).padStart(6, '0')

function code(overrides: Partial<AuthorizationCode> = {}): AuthorizationCode {
  return {
    id: `cod_${next()}`, agentId: 'agt_1', redirectUri: 'https://app.example.com/cb', redirectUriSent: true, codeChallenge: 'c'.repeat(43), nonce: 'n-1',
    scope: ['openid', 'read'], audience: ['https://api.example.com'], userId: 'usr_1', consentId: 'cns_1', authTime: NOW - 5000,
    createdAt: NOW, expiresAt: NOW + 60_000, consumedAt: null, grantId: null, ...overrides,
  }
}

function grant(overrides: Partial<PersonGrant> = {}): PersonGrant {
  return {
    id: `grt_${next()}`, userId: 'usr_1', agentId: 'agt_1', role: 'reader', consentId: 'cns_1', scope: ['openid', 'read'], audience: null,
    authTime: NOW - 5000, state: 'active', endReason: null, expiresAt: NOW + 86_400_000, createdAt: NOW, endedAt: null, ...overrides,
  }
}

for (const engine of await availableEngines()) {
  describe(`AuthorizationRepo contract on ${engine}`, () => {
    let storage: Storage
    let close: () => Promise<void>
    before(async () => {
      ;({ storage, close } = await freshStorage(engine))
    })
    after(() => close())

    test('a code round-trips by digest, and of concurrent redemptions exactly one wins and stores its grant', async () => {
      const c = code()
      await storage.authorizations.createCode(c, `d-${c.id}`)
      assert.deepEqual(await storage.authorizations.findCode(`d-${c.id}`), c)
      const grants = Array.from({ length: 8 }, () => grant())
      const results = await Promise.all(grants.map((g) => storage.authorizations.redeemCode(`d-${c.id}`, NOW + 1, g, `r-${g.id}`)))
      const winners = results.filter((r) => r.status === 'redeemed')
      assert.equal(winners.length, 1)
      assert.ok(results.filter((r) => r.status !== 'redeemed').every((r) => r.status === 'replayed'))
      const won = winners[0]!
      assert.equal(won.status === 'redeemed' && won.code.grantId, won.status === 'redeemed' && won.grant.id)
      // Only the winner's grant exists, with its first refresh token.
      const stored = await Promise.all(grants.map((g) => storage.authorizations.getGrant(g.id)))
      assert.equal(stored.filter(Boolean).length, 1)
      const replay = await storage.authorizations.redeemCode(`d-${c.id}`, NOW + 2, grant(), null)
      assert.equal(replay.status, 'replayed')
      assert.equal(replay.status === 'replayed' && replay.code.grantId, won.status === 'redeemed' && won.grant.id)
    })

    test('an expired code is not redeemed; an unknown one is unknown', async () => {
      const c = code({ expiresAt: NOW + 10 })
      await storage.authorizations.createCode(c, `d-${c.id}`)
      assert.equal((await storage.authorizations.redeemCode(`d-${c.id}`, NOW + 10, grant(), null)).status, 'expired')
      assert.equal((await storage.authorizations.redeemCode('d-none', NOW, grant(), null)).status, 'unknown')
    })

    test('withdrawing a consent voids its unredeemed codes only', async () => {
      const a = code({ consentId: 'cns_void' })
      const b = code({ consentId: 'cns_other' })
      await storage.authorizations.createCode(a, `d-${a.id}`)
      await storage.authorizations.createCode(b, `d-${b.id}`)
      assert.equal(await storage.authorizations.voidCodesForConsent('cns_void', NOW + 1), 1)
      assert.equal((await storage.authorizations.redeemCode(`d-${a.id}`, NOW + 2, grant(), null)).status, 'replayed')
      assert.equal((await storage.authorizations.redeemCode(`d-${b.id}`, NOW + 2, grant(), null)).status, 'redeemed')
    })

    test('a grant ends once under concurrent ends, drops its refresh tokens and is published on the revocation feed', async () => {
      const g = grant({ consentId: 'cns_end' })
      await storage.authorizations.createGrant(g, `r-${g.id}`)
      assert.deepEqual(await storage.authorizations.listActiveForConsent('cns_end', 10), [g])
      const head = Number(await storage.revocationFeed.head())
      const ends = await Promise.all([1, 2, 3].map(() => storage.authorizations.endGrant(g.id, { now: NOW + 5, reason: 'consent_withdrawn', revokeUntil: NOW + 300_000 })))
      assert.equal(ends.filter(Boolean).length, 1)
      const ended = await storage.authorizations.getGrant(g.id)
      assert.equal(ended?.state, 'ended')
      assert.equal(ended?.endReason, 'consent_withdrawn')
      assert.equal(await storage.authorizations.findByRefreshToken(`r-${g.id}`), undefined)
      const feed = await storage.revocationFeed.since(String(head), 100)
      assert.deepEqual(feed.filter((e) => e.value === g.id).map((e) => e.type), ['session'])
      assert.equal(await storage.authorizations.addRefreshToken(g.id, 'r-late', NOW + 6), false, 'no token is added to an ended grant')
      assert.deepEqual(await storage.authorizations.listActiveForConsent('cns_end', 10), [])
    })

    test('a person\'s grants all end together, once, each published until the earlier of its expiry and the cap; others\' grants stay', async () => {
      const mine = [grant({ userId: 'usr_gone' }), grant({ userId: 'usr_gone', expiresAt: NOW + 60_000 }), grant({ userId: 'usr_gone' })]
      const theirs = grant({ userId: 'usr_stays' })
      for (const g of [...mine, theirs]) await storage.authorizations.createGrant(g, `r-${g.id}`)
      const [myCode, theirCode] = [code({ userId: 'usr_gone' }), code({ userId: 'usr_stays' })]
      for (const c of [myCode, theirCode]) await storage.authorizations.createCode(c, `d-${c.id}`)
      await storage.authorizations.endGrant(mine[2]!.id, { now: NOW + 1, reason: 'revoked', revokeUntil: NOW + 300_000 })
      const head = Number(await storage.revocationFeed.head())
      const end = { now: NOW + 5, reason: 'user_suspended', revokeUntil: NOW + 300_000 }
      const calls = await Promise.all([1, 2, 3].map(() => storage.authorizations.endGrantsForUser('usr_gone', end)))
      const ended = calls.flat()
      assert.deepEqual(ended.map((g) => g.id).sort(), [mine[0]!.id, mine[1]!.id], 'each live grant ended by exactly one call; the already ended one untouched')
      assert.ok(ended.every((g) => g.state === 'ended' && g.endReason === 'user_suspended' && g.endedAt === NOW + 5))
      assert.equal((await storage.authorizations.getGrant(mine[2]!.id))?.endReason, 'revoked')
      for (const g of mine) assert.equal(await storage.authorizations.findByRefreshToken(`r-${g.id}`), undefined)
      assert.equal((await storage.authorizations.getGrant(theirs.id))?.state, 'active')
      assert.equal((await storage.authorizations.findByRefreshToken(`r-${theirs.id}`))?.current, true)
      const feed = (await storage.revocationFeed.since(String(head), 100)).filter((e) => e.type === 'session')
      assert.deepEqual(feed.map((e) => [e.value, e.until]).sort(), [[mine[0]!.id, NOW + 300_000], [mine[1]!.id, NOW + 60_000]].sort())
      assert.deepEqual(await storage.authorizations.endGrantsForUser('usr_gone', end), [], 'again: nothing left to end')
      assert.equal((await storage.authorizations.redeemCode(`d-${myCode.id}`, NOW + 6, grant({ userId: 'usr_gone' }), null)).status, 'replayed', 'their unredeemed code is spent')
      assert.equal((await storage.authorizations.redeemCode(`d-${theirCode.id}`, NOW + 6, grant({ userId: 'usr_stays' }), null)).status, 'redeemed')
    })

    test('refresh rotation: of concurrent uses exactly one rotates; retries within the window are replays; older tokens are reuse', async () => {
      const g = grant()
      await storage.authorizations.createGrant(g, 'r0')
      const rotate = (digest: string, successorDigest: string, now: number, agentId = 'agt_1') =>
        storage.authorizations.rotateRefreshToken({ digest, successorDigest, agentId, now, graceMs: 30_000 })
      const results = await Promise.all(Array.from({ length: 8 }, () => rotate('r0', 'r1', NOW + 10)))
      assert.equal(results.filter((r) => r.status === 'rotated').length, 1)
      assert.ok(results.every((r) => r.status === 'rotated' || r.status === 'replayed'), JSON.stringify(results.map((r) => r.status)))
      assert.equal((await rotate('r0', 'r1', NOW + 10, 'agt_other')).status, 'unknown', "another agent's token is unknown")
      assert.equal((await storage.authorizations.findByRefreshToken('r0'))?.current, false)
      assert.equal((await storage.authorizations.findByRefreshToken('r1'))?.current, true)
      assert.equal((await rotate('r1', 'r2', NOW + 20)).status, 'rotated')
      assert.equal((await rotate('r0', 'r1', NOW + 25)).status, 'reused', 'two rotations back is a copy, even within the window')
      assert.equal((await rotate('r1', 'r2', NOW + 20 + 30_001)).status, 'reused', 'the parent after the window')
      assert.equal((await rotate('nope', 'x', NOW)).status, 'unknown')
      await storage.authorizations.endGrant(g.id, { now: NOW + 40, reason: 'x', revokeUntil: NOW + 100 })
      assert.equal((await storage.authorizations.addRefreshToken(g.id, 'r9', NOW + 41)), false)
    })

    test('an expired grant does not rotate', async () => {
      const g = grant({ expiresAt: NOW + 100 })
      await storage.authorizations.createGrant(g, 'rx0')
      assert.equal((await storage.authorizations.rotateRefreshToken({ digest: 'rx0', successorDigest: 'rx1', agentId: 'agt_1', now: NOW + 100, graceMs: 30_000 })).status, 'inactive')
      assert.equal((await storage.authorizations.findByRefreshToken('rx0'))?.current, true, 'nothing rotated')
    })

    test('expired codes are purged', async () => {
      const c = code({ expiresAt: NOW - 1000 })
      await storage.authorizations.createCode(c, `d-${c.id}`)
      assert.ok((await storage.authorizations.purgeCodes(NOW)) >= 1)
      assert.equal(await storage.authorizations.findCode(`d-${c.id}`), undefined)
    })
  })
}
