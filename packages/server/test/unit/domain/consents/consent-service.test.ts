import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { openDatabase, sqlStorage, type OpenDatabase, type Storage } from '../../../../src/adapters/storage/sql/index.js'
import { AuditLog } from '../../../../src/domain/audit/audit-log.js'
import { ConsentService } from '../../../../src/domain/consents/consent-service.js'
import { ConsentNotFound, ValidationFailed } from '../../../../src/domain/errors.js'
import { ManualClock } from '../../../../src/ports/clock.js'
import type { Agent } from '../../../../src/ports/agent-repo.js'
import type { Consent } from '../../../../src/ports/consent-repo.js'
import type { Role } from '../../../../src/ports/role-repo.js'
import type { ActionContext } from '../../../../src/domain/context.js'

const T0 = Date.UTC(2026, 11, 1)
const DAY = 86_400_000
const DIGEST = 'x'.repeat(43)
const ctx: ActionContext = { actorType: 'human', actorId: 'usr_alice', ip: '192.0.2.7', requestId: 'req-1' }

const purposes: Role['purposes'] = [{ id: 'credit-check', description: 'Checks your credit history', lawfulBasis: 'contract' }]

function role(overrides: Partial<Role> = {}): Role {
  return {
    name: 'loans', scopes: ['loans:read', 'loans:write'], tokenTtlSeconds: 300, maxAgents: null, lifecycle: 'persistent', agentTtlSeconds: null, canIntrospect: false,
    maxSessionSeconds: 604_800, healthCheckHosts: [], rateLimit: { perSecond: 50, burst: 100 }, purposes, version: 1, liveAgents: 0, createdAt: T0, updatedAt: T0, ...overrides,
  }
}

function agent(id: string, overrides: Partial<Agent> = {}): Agent {
  return {
    id, role: 'loans', roleVersion: 1, status: 'active', statusReason: null, secretDigest: 'd', secretExpiresAt: null, registrationTokenDigest: `r-${id}`,
    authMethod: 'client_secret_basic', scopes: ['loans:read'], grantTypes: ['client_credentials'], metadata: { client_name: 'Loan Analyzer' },
    initialAccessTokenId: null, tokensNotBefore: null, createdAt: T0, updatedAt: T0, ...overrides,
  }
}

describe('ConsentService on SQLite', () => {
  let database: OpenDatabase
  let storage: Storage
  let audit: AuditLog
  const clock = new ManualClock(T0)
  let current = role()
  let consents: ConsentService
  let n = 0
  before(async () => {
    database = await openDatabase({ kind: 'sqlite', file: ':memory:' })
    storage = sqlStorage(database)
    audit = await AuditLog.open(storage.audit, clock)
    consents = new ConsentService({
      repo: storage.consents, audit, clock, roleOf: async (name) => (name === current.name ? current : undefined), validitySeconds: 30 * 86_400,
      newId: (now) => `cns_${now.toString(36)}${String(++n).padStart(6, '0')}`,
    })
  })
  after(async () => {
    await audit.close()
    await database.close()
  })

  const grant = (userId: string, a: Agent, scopes: string[], extra: { roleWide?: boolean } = {}) =>
    consents.grant({ userId, agent: a, role: current, scopes, textDigest: DIGEST, ...extra }, { ...ctx, actorId: userId })

  test('grant records the role version, its purposes and the digest, expires after the configured time, and is audited as the person', async () => {
    const c = await grant('usr_alice', agent('agt_1'), ['loans:read', 'loans:read', 'openid'])
    assert.match(c.id, /^cns_/)
    assert.deepEqual(c.scopes, ['loans:read', 'openid'], 'duplicates dropped')
    assert.deepEqual(c.purposes, purposes)
    assert.equal(c.agentId, 'agt_1')
    assert.equal(c.agentName, 'Loan Analyzer')
    assert.equal(c.roleVersion, 1)
    assert.equal(c.expiresAt, T0 + 30 * DAY)
    assert.deepEqual(await storage.consents.get(c.id), c)
    const [event] = await storage.audit.query({ action: 'consent.granted', target: c.id, limit: 5 })
    assert.equal(event!.actorType, 'human')
    assert.equal(event!.actorId, 'usr_alice')
    assert.equal(event!.role, 'loans')
    assert.deepEqual(event!.details, {
      agent: 'agt_1', role: 'loans', role_version: 1, scopes: ['loans:read', 'openid'], role_wide: false, expires_at: T0 + 30 * DAY,
      purposes: [{ id: 'credit-check', description: 'Checks your credit history', lawful_basis: 'contract' }], text_digest: DIGEST,
    })
  })

  test('grant refuses bad input and writes nothing', async () => {
    const before = (await storage.consents.list({ now: clock.now(), limit: 1000 })).length
    const bad: Array<[string, () => Promise<Consent>]> = [
      ['no scopes', () => grant('usr_bad', agent('agt_b'), [])],
      ['a scope that is no scope token', () => grant('usr_bad', agent('agt_b'), ['has space'])],
      ['too many scopes', () => grant('usr_bad', agent('agt_b'), Array.from({ length: 101 }, (_, i) => `s${i}`))],
      ['a digest that is not SHA-256', () => consents.grant({ userId: 'usr_bad', agent: agent('agt_b'), role: current, scopes: ['loans:read'], textDigest: 'short' }, ctx)],
      ['an agent of another role', () => grant('usr_bad', agent('agt_b', { role: 'trading' }), ['loans:read'])],
    ]
    for (const [what, attempt] of bad) await assert.rejects(attempt(), ValidationFailed, what)
    assert.equal((await storage.consents.list({ now: clock.now(), limit: 1000 })).length, before)
  })

  test('findLive: this agent or role-wide, every scope asked, not withdrawn, not expired', async () => {
    const mine = await grant('usr_find', agent('agt_f1'), ['loans:read'])
    assert.equal((await consents.findLive({ userId: 'usr_find', agentId: 'agt_f1', roleName: 'loans', scopes: ['loans:read'] }))?.id, mine.id)
    assert.equal(await consents.findLive({ userId: 'usr_find', agentId: 'agt_f1', roleName: 'loans', scopes: ['loans:read', 'loans:write'] }), null, 'a wider ask is not covered')
    assert.equal(await consents.findLive({ userId: 'usr_find', agentId: 'agt_f2', roleName: 'loans', scopes: ['loans:read'] }), null, 'another agent is not covered')
    assert.equal(await consents.findLive({ userId: 'usr_other', agentId: 'agt_f1', roleName: 'loans', scopes: ['loans:read'] }), null, 'another person is not covered')
    const wide = await grant('usr_find', agent('agt_f1'), ['loans:read', 'loans:write'], { roleWide: true })
    assert.equal(wide.agentId, null)
    assert.equal((await consents.findLive({ userId: 'usr_find', agentId: 'agt_f2', roleName: 'loans', scopes: ['loans:write'] }))?.id, wide.id, 'role-wide covers every agent of the role')
    assert.equal(await consents.findLive({ userId: 'usr_find', agentId: 'agt_f2', roleName: 'unknown-role', scopes: ['loans:read'] }), null)
    clock.advance(30 * DAY)
    assert.equal(await consents.findLive({ userId: 'usr_find', agentId: 'agt_f1', roleName: 'loans', scopes: ['loans:read'] }), null, 'expired at expires_at')
    assert.equal(consents.status(mine), 'expired')
    clock.set(T0)
  })

  test('findLive asks again when the role adds, rewords or re-bases a purpose, but not when it drops one', async () => {
    const c = await grant('usr_purpose', agent('agt_p'), ['loans:read'])
    const find = () => consents.findLive({ userId: 'usr_purpose', agentId: 'agt_p', roleName: 'loans', scopes: ['loans:read'] })
    try {
      current = role({ version: 2, purposes: [...purposes, { id: 'marketing', description: 'Offers', lawfulBasis: 'consent' }] })
      assert.equal(await find(), null, 'a new purpose')
      current = role({ version: 2, purposes: [{ ...purposes[0]!, description: 'Checks your credit history and sells it' }] })
      assert.equal(await find(), null, 'a reworded purpose')
      current = role({ version: 2, purposes: [{ ...purposes[0]!, lawfulBasis: 'legitimate_interests' }] })
      assert.equal(await find(), null, 'another lawful basis')
      current = role({ version: 2, purposes: [] })
      assert.equal((await find())?.id, c.id, 'fewer purposes are still covered')
    } finally {
      current = role()
    }
  })

  test('withdraw: once, audited once, listeners run before it answers (again on a repeat), someone else\'s consent is not found', async () => {
    const c = await grant('usr_w', agent('agt_w'), ['loans:read'])
    const heard: string[] = []
    consents.onWithdrawn(async (consent, listenerCtx) => {
      await new Promise((r) => setTimeout(r, 5))
      heard.push(`${consent.id}:${listenerCtx.actorType}:${listenerCtx.actorId}`)
    })
    await assert.rejects(consents.withdraw('usr_intruder', c.id, { ...ctx, actorId: 'usr_intruder' }), ConsentNotFound)
    assert.equal((await storage.consents.get(c.id))!.withdrawnAt, null)
    assert.deepEqual(heard, [])
    clock.advance(1000)
    const first = await consents.withdraw('usr_w', c.id, { ...ctx, actorId: 'usr_w' })
    assert.equal(first.changed, true)
    assert.equal(first.consent.withdrawnAt, T0 + 1000)
    assert.deepEqual(heard, [`${c.id}:human:usr_w`], 'the listener ran before withdraw resolved')
    const again = await consents.withdraw('usr_w', c.id, { ...ctx, actorId: 'usr_w' })
    assert.equal(again.changed, false)
    assert.equal(again.consent.withdrawnAt, T0 + 1000)
    assert.equal(heard.length, 2, 'a repeated withdrawal runs the (idempotent) listeners again')
    const events = await storage.audit.query({ action: 'consent.withdrawn', target: c.id, limit: 10 })
    assert.equal(events.length, 1, 'audited once')
    assert.equal(events[0]!.actorType, 'human')
    assert.equal(events[0]!.details.text_digest, DIGEST)
    assert.equal(await consents.findLive({ userId: 'usr_w', agentId: 'agt_w', roleName: 'loans', scopes: ['loans:read'] }), null)
    await assert.rejects(consents.withdraw('usr_w', 'cns_missing', ctx), ConsentNotFound)
    clock.set(T0)
  })

  test('ownerOf names the admin behind the agent\'s initial access token and its contacts', async () => {
    await storage.roles.create(role({ name: 'owned' }))
    await storage.registrations.createInitialAccessToken({ id: 'iat_o', role: 'owned', digest: 'dg-o', usesLeft: 1, usesTotal: 1, expiresAt: T0 + DAY, createdAt: T0, createdBy: 'admin:adm_42' })
    assert.deepEqual(await consents.ownerOf(agent('agt_o', { initialAccessTokenId: 'iat_o', metadata: { contacts: ['ops@example.com', 7] } })), { admin: 'admin:adm_42', contacts: ['ops@example.com'] })
    assert.deepEqual(await consents.ownerOf(agent('agt_o2', { initialAccessTokenId: 'iat_gone' })), { admin: null, contacts: [] })
  })
})
