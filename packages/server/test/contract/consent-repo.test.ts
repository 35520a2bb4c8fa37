import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { freshStorage } from '../support/storage.js'
import type { Storage } from '../../src/adapters/storage/sql/index.js'
import type { Consent } from '../../src/ports/consent-repo.js'
import type { Role } from '../../src/ports/role-repo.js'

const NOW = Date.UTC(2026, 11, 1)
const DAY = 86_400_000
let n = 0

/** Ids sort by creation like the server's (a counter stands in for the time). */
function consent(overrides: Partial<Consent> = {}): Consent {
  return {
    id: `cns_${String(++n).padStart(9, '0')}x`, userId: 'usr_a', agentId: 'agt_one', agentName: 'Loan analyzer', roleName: 'loans', roleVersion: 3,
    scopes: ['loans:read', 'openid'],
    purposes: [{ id: 'credit-check', description: 'Checks your credit history when you apply for a loan', lawfulBasis: 'contract' }],
    textDigest: 'A'.repeat(43), grantedAt: NOW, expiresAt: NOW + 365 * DAY, withdrawnAt: null, ...overrides,
  }
}

function role(name: string, overrides: Partial<Role> = {}): Role {
  return {
    name, scopes: ['read'], tokenTtlSeconds: 300, maxAgents: null, lifecycle: 'persistent', agentTtlSeconds: null, canIntrospect: false, maxSessionSeconds: 604_800,
    healthCheckHosts: [], rateLimit: { perSecond: 50, burst: 100 }, purposes: [], version: 1, liveAgents: 0, createdAt: NOW, updatedAt: NOW, ...overrides,
  }
}

for (const engine of await availableEngines()) {
  describe(`ConsentRepo contract on ${engine}`, () => {
    let storage: Storage
    let close: () => Promise<void>
    before(async () => {
      ;({ storage, close } = await freshStorage(engine))
    })
    after(() => close())

    test('a consent round-trips exactly: role-wide (no agent), no name, emoji and right-to-left text in purposes', async () => {
      const c = consent({
        agentId: null, agentName: null, userId: 'usr_roundtrip',
        purposes: [
          { id: 'automated-deletion', description: 'يحذف بياناتك 🦊 <b>&amp;</b> "quoted"', lawfulBasis: 'legal_obligation' },
          { id: 'fraud', description: 'Fraud checks', lawfulBasis: 'legitimate_interests' },
        ],
      })
      await storage.consents.create(c)
      assert.deepEqual(await storage.consents.get(c.id), c)
      assert.equal(await storage.consents.get('cns_missing'), undefined)
    })

    test('findUnexpired: this person and role, this agent or role-wide, neither withdrawn nor expired, newest first', async () => {
      const user = 'usr_find'
      const mine = consent({ userId: user })
      const roleWide = consent({ userId: user, agentId: null })
      const expiresNow = consent({ userId: user, expiresAt: NOW })
      const withdrawn = consent({ userId: user, withdrawnAt: NOW - 1 })
      const otherAgent = consent({ userId: user, agentId: 'agt_two' })
      const otherRole = consent({ userId: user, roleName: 'trading' })
      const otherUser = consent({ userId: 'usr_someone_else' })
      for (const c of [mine, roleWide, expiresNow, withdrawn, otherAgent, otherRole, otherUser]) await storage.consents.create(c)
      const found = await storage.consents.findUnexpired({ userId: user, agentId: 'agt_one', roleName: 'loans', now: NOW, limit: 10 })
      assert.deepEqual(found.map((c) => c.id), [roleWide.id, mine.id])
      const limited = await storage.consents.findUnexpired({ userId: user, agentId: 'agt_one', roleName: 'loans', now: NOW, limit: 1 })
      assert.deepEqual(limited.map((c) => c.id), [roleWide.id])
      const later = await storage.consents.findUnexpired({ userId: user, agentId: 'agt_one', roleName: 'loans', now: NOW + 366 * DAY, limit: 10 })
      assert.deepEqual(later, [], 'past the expiry nothing is live')
    })

    test('withdrawal is one conditional update: racing withdrawals withdraw it once, and nobody else\'s consent is touched', async () => {
      const c = consent({ userId: 'usr_race' })
      await storage.consents.create(c)
      assert.equal(await storage.consents.withdraw(c.id, 'usr_intruder', NOW + 1), undefined, 'another person cannot withdraw it')
      assert.equal((await storage.consents.get(c.id))!.withdrawnAt, null)
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => storage.consents.withdraw(c.id, 'usr_race', NOW + 10 + i)))
      const winners = results.filter((r) => r !== undefined)
      assert.equal(winners.length, 1)
      const stored = await storage.consents.get(c.id)
      assert.equal(stored!.withdrawnAt, winners[0]!.withdrawnAt)
      assert.deepEqual(stored, winners[0])
      assert.equal(await storage.consents.withdraw(c.id, 'usr_race', NOW + 100), undefined, 'a second withdrawal changes nothing')
      assert.equal((await storage.consents.get(c.id))!.withdrawnAt, winners[0]!.withdrawnAt)
      assert.equal(await storage.consents.withdraw('cns_missing', 'usr_race', NOW), undefined)
    })

    test('list filters by person, agent and status and pages by id, oldest or newest first', async () => {
      const user = 'usr_list'
      const active = consent({ userId: user })
      const withdrawn = consent({ userId: user, withdrawnAt: NOW + 5 })
      const expired = consent({ userId: user, expiresAt: NOW - 1 })
      const otherAgent = consent({ userId: user, agentId: 'agt_list_other' })
      for (const c of [active, withdrawn, expired, otherAgent]) await storage.consents.create(c)
      const ids = async (f: Parameters<Storage['consents']['list']>[0]) => (await storage.consents.list(f)).map((c) => c.id)
      assert.deepEqual(await ids({ userId: user, now: NOW, limit: 100 }), [active.id, withdrawn.id, expired.id, otherAgent.id])
      assert.deepEqual(await ids({ userId: user, now: NOW, limit: 100, newestFirst: true }), [otherAgent.id, expired.id, withdrawn.id, active.id])
      assert.deepEqual(await ids({ userId: user, now: NOW, limit: 2, after: withdrawn.id }), [expired.id, otherAgent.id])
      assert.deepEqual(await ids({ userId: user, now: NOW, limit: 2, after: expired.id, newestFirst: true }), [withdrawn.id, active.id])
      assert.deepEqual(await ids({ userId: user, now: NOW, limit: 100, status: 'active' }), [active.id, otherAgent.id])
      assert.deepEqual(await ids({ userId: user, now: NOW, limit: 100, status: 'withdrawn' }), [withdrawn.id])
      assert.deepEqual(await ids({ userId: user, now: NOW, limit: 100, status: 'expired' }), [expired.id])
      assert.deepEqual(await ids({ userId: user, now: NOW + 400 * DAY, limit: 100, status: 'expired' }), [active.id, expired.id, otherAgent.id], 'expiry is judged at the time given')
      assert.deepEqual(await ids({ agentId: 'agt_list_other', now: NOW, limit: 100 }), [otherAgent.id])
    })

    test('the creator of an initial access token is read for the consent page; an unknown token has none', async () => {
      await storage.roles.create(role('iat-owner'))
      await storage.registrations.createInitialAccessToken({ id: 'iat_owner1', role: 'iat-owner', digest: 'd-owner1', usesLeft: 1, usesTotal: 1, expiresAt: NOW + DAY, createdAt: NOW, createdBy: 'admin:env' })
      assert.equal(await storage.consents.initialAccessTokenCreator('iat_owner1'), 'admin:env')
      assert.equal(await storage.consents.initialAccessTokenCreator('iat_missing'), undefined)
    })

    test('a role keeps its purposes, in order, through create, update and read', async () => {
      const purposes: Role['purposes'] = [
        { id: 'b-second', description: 'Déjà vu 🦊', lawfulBasis: 'consent' },
        { id: 'a-first', description: 'Vital', lawfulBasis: 'vital_interests' },
      ]
      await storage.roles.create(role('with-purposes', { purposes }))
      assert.deepEqual((await storage.roles.get('with-purposes'))!.purposes, purposes)
      const { name: _n, version: _v, liveAgents: _l, createdAt: _c, updatedAt: _u, ...settings } = role('with-purposes', { purposes: [purposes[1]!] })
      const updated = await storage.roles.update('with-purposes', settings, NOW + 1)
      assert.deepEqual(updated!.purposes, [purposes[1]])
      assert.equal(updated!.version, 2)
      assert.deepEqual((await storage.roles.list()).find((r) => r.name === 'with-purposes')!.purposes, [purposes[1]])
      await storage.roles.create(role('no-purposes'))
      assert.deepEqual((await storage.roles.get('no-purposes'))!.purposes, [])
    })
  })
}
