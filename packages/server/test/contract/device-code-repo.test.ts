import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { freshStorage } from '../support/storage.js'
import type { Storage } from '../../src/adapters/storage/sql/index.js'
import type { DeviceCode } from '../../src/ports/device-code-repo.js'

const NOW = Date.UTC(2026, 11, 1)
const TTL = 600_000
const EARLY = 200
let n = 0

function code(overrides: Partial<DeviceCode> = {}): DeviceCode {
  n++
  return {
    id: `dvc_${String(n).padStart(6, '0')}`, userCode: `BCDFGH${'JKLMNPQRSTVWXZ'[n % 14]}${'BCDFGHJKLMNPQRSTVWXZ'[Math.floor(n / 14) % 20]}`,
    clientId: 'agt_device', scope: ['read', 'write'], audience: null, status: 'pending', userId: null, consentId: null, authTime: null,
    intervalSeconds: 5, lastPolledAt: null, createdAt: NOW, expiresAt: NOW + TTL, decidedAt: null, consumedAt: null, ...overrides,
  }
}

const approval = { status: 'approved' as const, userId: 'usr_1', consentId: 'cns_1', authTime: NOW - 60_000 }

for (const engine of await availableEngines()) {
  describe(`DeviceCodeRepo contract on ${engine}`, () => {
    let storage: Storage
    let close: () => Promise<void>
    before(async () => {
      ;({ storage, close } = await freshStorage(engine))
    })
    after(() => close())

    test('a request round-trips exactly, found by its digest and, while pending and unexpired, by its user code', async () => {
      const c = code({ audience: ['https://api.example.com/', 'urn:x:y'], scope: ['read', 'päckchen:📦'] })
      assert.equal(await storage.deviceCodes.create(c, 'digest-roundtrip'), true)
      assert.deepEqual(await storage.deviceCodes.findByDigest('digest-roundtrip'), c)
      assert.deepEqual(await storage.deviceCodes.findPending(c.userCode, NOW), c)
      assert.equal(await storage.deviceCodes.findPending(c.userCode, c.expiresAt), undefined, 'expired at its expiry')
      assert.equal(await storage.deviceCodes.findPending(c.userCode.toLowerCase(), NOW), undefined, 'compared exactly; callers normalise')
      assert.equal(await storage.deviceCodes.findByDigest('no-such-digest'), undefined)
    })

    test('a user code names one pending request, also under concurrent creation; a decided request gives its code back', async () => {
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => storage.deviceCodes.create(code({ userCode: 'ZZZZXXXX' }), `digest-race-${i}`)))
      assert.equal(results.filter(Boolean).length, 1)
      const holder = (await storage.deviceCodes.findPending('ZZZZXXXX', NOW))!
      assert.ok(await storage.deviceCodes.decide(holder.id, { status: 'denied', userId: 'usr_1' }, NOW + 1))
      assert.equal(await storage.deviceCodes.create(code({ userCode: 'ZZZZXXXX' }), 'digest-race-after'), true, 'free again once decided')
      const digests = await Promise.all(Array.from({ length: 6 }, (_, i) => storage.deviceCodes.findByDigest(`digest-race-${i}`)))
      assert.equal(digests.filter(Boolean).length, 1, 'the refused inserts left nothing behind')
    })

    test('a decision is made once: of racing approvals and denials exactly one wins, and an expired request takes none', async () => {
      const c = code()
      await storage.deviceCodes.create(c, 'digest-decide')
      const racing = await Promise.all([
        ...[1, 2, 3].map((i) => storage.deviceCodes.decide(c.id, { ...approval, userId: `usr_${i}` }, NOW + 10)),
        ...[4, 5, 6].map((i) => storage.deviceCodes.decide(c.id, { status: 'denied', userId: `usr_${i}` }, NOW + 10)),
      ])
      const winners = racing.filter((r) => r !== undefined)
      assert.equal(winners.length, 1)
      const stored = (await storage.deviceCodes.findByDigest('digest-decide'))!
      assert.deepEqual(stored, winners[0])
      assert.equal(stored.decidedAt, NOW + 10)
      if (stored.status === 'approved') {
        assert.equal(stored.consentId, 'cns_1')
        assert.equal(stored.authTime, approval.authTime)
      } else {
        assert.equal(stored.status, 'denied')
        assert.equal(stored.consentId, null)
      }
      const old = code()
      await storage.deviceCodes.create(old, 'digest-old')
      assert.equal(await storage.deviceCodes.decide(old.id, approval, old.expiresAt), undefined)
      assert.equal((await storage.deviceCodes.findByDigest('digest-old'))!.status, 'pending')
      assert.equal(await storage.deviceCodes.decide('dvc_missing', approval, NOW), undefined)
    })

    test('polls: the first is on time, one too soon grows the interval by 5 s, one at the interval (or a fifth early) is on time', async () => {
      const c = code()
      await storage.deviceCodes.create(c, 'digest-poll')
      const first = await storage.deviceCodes.poll('digest-poll', NOW + 1000, EARLY, 5)
      assert.equal(first?.kind, 'on_time')
      assert.equal(first?.code.lastPolledAt, NOW + 1000)
      const exact = await storage.deviceCodes.poll('digest-poll', NOW + 6000, EARLY, 5)
      assert.equal(exact?.kind, 'on_time', 'exactly the interval later')
      const early = await storage.deviceCodes.poll('digest-poll', NOW + 10_000, EARLY, 5)
      assert.equal(early?.kind, 'on_time', 'a fifth of the interval early (4 s of 5) is still on time')
      const soon = await storage.deviceCodes.poll('digest-poll', NOW + 13_999, EARLY, 5)
      assert.equal(soon?.kind, 'too_soon', 'one millisecond less than that is too soon')
      assert.equal(soon?.code.intervalSeconds, 10)
      assert.equal(soon?.code.lastPolledAt, NOW + 13_999, 'the next interval is measured from this poll')
      const atOld = await storage.deviceCodes.poll('digest-poll', NOW + 18_999, EARLY, 5)
      assert.equal(atOld?.kind, 'too_soon', 'the old interval is no longer enough')
      assert.equal(atOld?.code.intervalSeconds, 15)
      const atNew = await storage.deviceCodes.poll('digest-poll', NOW + 33_999, EARLY, 5)
      assert.equal(atNew?.kind, 'on_time', 'the grown interval, measured from the last poll')
      assert.equal(atNew?.code.intervalSeconds, 15)
      assert.equal(await storage.deviceCodes.poll('no-such-digest', NOW, EARLY, 5), undefined)
    })

    test('of polls at the same moment one is on time and the others too soon; a decided request is not polled', async () => {
      const c = code()
      await storage.deviceCodes.create(c, 'digest-poll-race')
      const results = await Promise.all(Array.from({ length: 5 }, () => storage.deviceCodes.poll('digest-poll-race', NOW + 1000, EARLY, 5)))
      assert.equal(results.filter((r) => r?.kind === 'on_time').length, 1)
      assert.equal(results.filter((r) => r?.kind === 'too_soon').length, 4)
      assert.equal((await storage.deviceCodes.findByDigest('digest-poll-race'))!.intervalSeconds, 5 + 4 * 5)
      await storage.deviceCodes.decide(c.id, approval, NOW + 2000)
      assert.equal(await storage.deviceCodes.poll('digest-poll-race', NOW + 60_000, EARLY, 5), undefined)
    })

    test('an approved request is consumed once, by its own client, before it expires', async () => {
      const c = code()
      await storage.deviceCodes.create(c, 'digest-consume')
      assert.equal(await storage.deviceCodes.consume('digest-consume', c.clientId, NOW + 1), undefined, 'not while pending')
      await storage.deviceCodes.decide(c.id, approval, NOW + 2)
      assert.equal(await storage.deviceCodes.consume('digest-consume', 'agt_other', NOW + 3), undefined, 'not by another client')
      const racing = await Promise.all(Array.from({ length: 6 }, () => storage.deviceCodes.consume('digest-consume', c.clientId, NOW + 4)))
      const winners = racing.filter((r) => r !== undefined)
      assert.equal(winners.length, 1)
      assert.equal(winners[0]!.status, 'consumed')
      assert.equal(winners[0]!.consumedAt, NOW + 4)
      assert.equal(winners[0]!.userId, 'usr_1')
      assert.equal(await storage.deviceCodes.consume('digest-consume', c.clientId, NOW + 5), undefined, 'a second exchange finds nothing')
      const late = code()
      await storage.deviceCodes.create(late, 'digest-late')
      await storage.deviceCodes.decide(late.id, approval, NOW + 2)
      assert.equal(await storage.deviceCodes.consume('digest-late', late.clientId, late.expiresAt), undefined, 'not once expired')
      assert.equal((await storage.deviceCodes.findByDigest('digest-late'))!.status, 'approved')
    })

    test('a suspended person\'s unexchanged approvals become denials, once; exchanged, pending and others\' requests stay', async () => {
      const mine = { ...approval, userId: 'usr_suspended' }
      const [approved, exchanged, pending, theirs] = [code(), code(), code(), code()]
      for (const [i, c] of [approved, exchanged, pending, theirs].entries()) assert.equal(await storage.deviceCodes.create(c, `digest-withdraw-${i}`), true)
      assert.ok(await storage.deviceCodes.decide(approved.id, mine, NOW + 1))
      assert.ok(await storage.deviceCodes.decide(exchanged.id, mine, NOW + 1))
      assert.ok(await storage.deviceCodes.consume('digest-withdraw-1', exchanged.clientId, NOW + 2))
      assert.ok(await storage.deviceCodes.decide(theirs.id, approval, NOW + 1))
      const withdrawn = await storage.deviceCodes.withdrawApprovals('usr_suspended', NOW + 3)
      assert.deepEqual(withdrawn.map((c) => [c.id, c.status, c.decidedAt]), [[approved.id, 'denied', NOW + 3]])
      assert.equal(await storage.deviceCodes.consume('digest-withdraw-0', approved.clientId, NOW + 4), undefined, 'no longer exchangeable')
      assert.equal((await storage.deviceCodes.findByDigest('digest-withdraw-1'))?.status, 'consumed')
      assert.equal((await storage.deviceCodes.findByDigest('digest-withdraw-2'))?.status, 'pending')
      assert.equal((await storage.deviceCodes.findByDigest('digest-withdraw-3'))?.status, 'approved')
      assert.deepEqual(await storage.deviceCodes.withdrawApprovals('usr_suspended', NOW + 5), [], 'again: nothing')
    })

    test('purge deletes requests that expired before the cut-off, and only those', async () => {
      const gone = code({ createdAt: NOW - 10 * TTL, expiresAt: NOW - 5 * TTL })
      const kept = code({ expiresAt: NOW + TTL })
      await storage.deviceCodes.create(gone, 'digest-purge-gone')
      await storage.deviceCodes.create(kept, 'digest-purge-kept')
      assert.ok((await storage.deviceCodes.purge(NOW - TTL)) >= 1)
      assert.equal(await storage.deviceCodes.findByDigest('digest-purge-gone'), undefined)
      assert.ok(await storage.deviceCodes.findByDigest('digest-purge-kept'))
    })
  })
}
