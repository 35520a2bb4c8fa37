import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { freshStorage } from '../support/storage.js'
import type { Storage } from '../../src/adapters/storage/sql/index.js'
import type { User } from '../../src/ports/user-repo.js'
import type { UserSession } from '../../src/ports/user-session-repo.js'

const NOW = Date.UTC(2026, 11, 1)
const MIN = 60_000
let n = 0

function user(key: string, overrides: Partial<User> = {}): User {
  const id = `usr_${String(++n).padStart(6, '0')}`
  return { id, username: key, usernameKey: key, displayName: `Person ${n}`, passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', status: 'active', statusReason: null, createdAt: NOW, updatedAt: NOW, ...overrides }
}

function session(userId: string, overrides: Partial<UserSession> = {}): UserSession {
  return { id: `uss_${String(++n).padStart(6, '0')}`, userId, ip: '192.0.2.1', createdAt: NOW, lastSeenAt: NOW, idleExpiresAt: NOW + 30 * MIN, absoluteExpiresAt: NOW + 720 * MIN, endedAt: null, endReason: null, ...overrides }
}

for (const engine of await availableEngines()) {
  describe(`UserRepo and UserSessionRepo contract on ${engine}`, () => {
    let storage: Storage
    let close: () => Promise<void>
    before(async () => {
      ;({ storage, close } = await freshStorage(engine))
    })
    after(() => close())

    test('a username key is unique, also under concurrent creation', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => storage.users.create(user('alice'))))
      assert.equal(results.filter(Boolean).length, 1)
      const found = await storage.users.findByUsernameKey('alice')
      assert.equal(found?.usernameKey, 'alice')
      assert.deepEqual(await storage.users.get(found!.id), found)
      assert.equal(await storage.users.findByUsernameKey('ALICE'), undefined, 'the key is compared exactly; callers normalise')
    })

    test('text round-trips exactly, emoji and right-to-left scripts included', async () => {
      const u = user('dana', { username: 'Dana', displayName: 'دانا 🦊 <b>&amp;</b>' })
      assert.equal(await storage.users.create(u), true)
      assert.deepEqual(await storage.users.get(u.id), u)
    })

    test('list pages by id and filters by status', async () => {
      const a = user('list-a')
      const b = user('list-b')
      await storage.users.create(a)
      await storage.users.create(b)
      await storage.users.setStatus(b.id, 'active', 'suspended', 'drill', NOW + 1)
      const all = await storage.users.list({ limit: 1000 })
      assert.deepEqual(all.map((u) => u.id), [...all.map((u) => u.id)].sort())
      const page = await storage.users.list({ limit: 1, after: a.id })
      assert.equal(page[0]!.id, b.id)
      const suspended = await storage.users.list({ status: 'suspended', limit: 1000 })
      assert.ok(suspended.some((u) => u.id === b.id) && suspended.every((u) => u.status === 'suspended'))
    })

    test('suspension is one conditional change that ends the live sessions with it; racing suspensions change it once', async () => {
      const u = user('suspend-me')
      await storage.users.create(u)
      const live = session(u.id)
      const expired = session(u.id, { idleExpiresAt: NOW - 1 })
      await storage.userSessions.create(live, `d-${live.id}`)
      await storage.userSessions.create(expired, `d-${expired.id}`)
      const results = await Promise.all([1, 2, 3].map(() => storage.users.setStatus(u.id, 'active', 'suspended', 'left the company', NOW + 5)))
      const winners = results.filter((r) => r !== undefined)
      assert.equal(winners.length, 1)
      assert.deepEqual(winners[0]!.endedSessions, [live.id])
      assert.equal(winners[0]!.user.status, 'suspended')
      assert.equal(winners[0]!.user.statusReason, 'left the company')
      assert.equal(await storage.userSessions.touch(`d-${live.id}`, NOW + 6, 30 * MIN), undefined)
      assert.equal(await storage.users.setStatus('usr_missing', 'active', 'suspended', 'x', NOW), undefined)
      const resumed = await storage.users.setStatus(u.id, 'suspended', 'active', null, NOW + 7)
      assert.equal(resumed?.user.status, 'active')
      assert.deepEqual(resumed?.endedSessions, [])
    })

    test('touch moves the idle expiry, never past the absolute one, and refuses an expired or ended session', async () => {
      const u = user('toucher')
      await storage.users.create(u)
      const s = session(u.id, { absoluteExpiresAt: NOW + 45 * MIN })
      await storage.userSessions.create(s, 'touch-digest')
      const seen = await storage.userSessions.touch('touch-digest', NOW + 10 * MIN, 30 * MIN)
      assert.equal(seen?.lastSeenAt, NOW + 10 * MIN)
      assert.equal(seen?.idleExpiresAt, NOW + 40 * MIN)
      const capped = await storage.userSessions.touch('touch-digest', NOW + 20 * MIN, 30 * MIN)
      assert.equal(capped?.idleExpiresAt, NOW + 45 * MIN, 'capped at the absolute expiry')
      assert.equal(await storage.userSessions.touch('touch-digest', NOW + 45 * MIN, 30 * MIN), undefined, 'expired at the absolute expiry')
      assert.equal(await storage.userSessions.touch('no-such-digest', NOW, 30 * MIN), undefined)
    })

    test('end records an expired session as ended at its expiry, for that reason; concurrent ends end it once', async () => {
      const u = user('ender')
      await storage.users.create(u)
      const idle = session(u.id)
      await storage.userSessions.create(idle, 'idle-digest')
      const ended = await storage.userSessions.end('idle-digest', NOW + 31 * MIN, 'signed_out')
      assert.equal(ended?.endReason, 'idle_timeout')
      assert.equal(ended?.endedAt, NOW + 30 * MIN)
      const absolute = session(u.id, { idleExpiresAt: NOW + 60 * MIN, absoluteExpiresAt: NOW + 60 * MIN })
      await storage.userSessions.create(absolute, 'absolute-digest')
      assert.equal((await storage.userSessions.end('absolute-digest', NOW + 61 * MIN, 'signed_out'))?.endReason, 'absolute_timeout')
      // Idle expiry passed first, and the absolute one since: it ended idle, when it went idle.
      const both = session(u.id, { idleExpiresAt: NOW + 30 * MIN, absoluteExpiresAt: NOW + 60 * MIN })
      await storage.userSessions.create(both, 'both-digest')
      const endedBoth = await storage.userSessions.end('both-digest', NOW + 90 * MIN, 'signed_out')
      assert.equal(endedBoth?.endReason, 'idle_timeout')
      assert.equal(endedBoth?.endedAt, NOW + 30 * MIN)
      const live = session(u.id)
      await storage.userSessions.create(live, 'live-digest')
      const racing = await Promise.all([1, 2, 3].map(() => storage.userSessions.end('live-digest', NOW + MIN, 'signed_out')))
      const winners = racing.filter((r) => r !== undefined)
      assert.equal(winners.length, 1)
      assert.equal(winners[0]!.endReason, 'signed_out')
      assert.equal(winners[0]!.endedAt, NOW + MIN)
      assert.equal(await storage.userSessions.touch('live-digest', NOW + 2 * MIN, 30 * MIN), undefined)
    })

    test('live lists what is neither ended nor expired; purge deletes what ended or expired before the cutoff', async () => {
      const u = user('purger')
      await storage.users.create(u)
      const keep = session(u.id, { idleExpiresAt: NOW + 100 * MIN })
      const old = session(u.id, { idleExpiresAt: NOW - 5 * MIN })
      const signedOut = session(u.id)
      await storage.userSessions.create(keep, 'keep')
      await storage.userSessions.create(old, 'old')
      await storage.userSessions.create(signedOut, 'signed-out')
      await storage.userSessions.end('signed-out', NOW - 2 * MIN, 'signed_out')
      assert.deepEqual((await storage.userSessions.live(u.id, NOW)).map((s) => s.id), [keep.id])
      assert.equal(await storage.userSessions.purge(NOW - MIN), 2)
      assert.deepEqual((await storage.userSessions.live(u.id, NOW)).map((s) => s.id), [keep.id])
      assert.ok(await storage.userSessions.touch('keep', NOW, 30 * MIN))
    })
  })
}
