import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { freshStorage } from '../support/storage.js'
import type { Storage } from '../../src/adapters/storage/sql/index.js'
import type { Agent } from '../../src/ports/agent-repo.js'
import type { Role } from '../../src/ports/role-repo.js'
import type { InitialAccessToken } from '../../src/ports/registration-store.js'

const NOW = Date.UTC(2026, 11, 1)
let n = 0

function role(name: string, maxAgents: number | null): Role {
  return { name, scopes: ['read'], tokenTtlSeconds: 300, maxAgents, lifecycle: 'persistent', agentTtlSeconds: null, canIntrospect: false, maxSessionSeconds: 604_800, healthCheckHosts: [], rateLimit: { perSecond: 50, burst: 100 }, purposes: [], version: 1, liveAgents: 0, createdAt: NOW, updatedAt: NOW }
}

function agentFor(r: Role, iat: InitialAccessToken): Agent {
  const id = `agt_contract_${++n}`
  return {
    id, role: r.name, roleVersion: r.version, status: 'active', statusReason: null, secretDigest: `s-${id}`, secretExpiresAt: null,
    registrationTokenDigest: `r-${id}`, authMethod: 'client_secret_basic', scopes: ['read'], grantTypes: ['client_credentials'], metadata: {},
    initialAccessTokenId: iat.id, tokensNotBefore: null, createdAt: NOW, updatedAt: NOW,
  }
}

for (const engine of await availableEngines()) {
  describe(`RegistrationStore contract on ${engine}`, () => {
    let storage: Storage
    let close: () => Promise<void>
    before(async () => {
      ;({ storage, close } = await freshStorage(engine))
    })
    after(() => close())

    async function setUp(maxAgents: number | null, uses: number) {
      const name = `role-${++n}`
      assert.equal(await storage.roles.create(role(name, maxAgents)), true)
      const digest = `iat-digest-${n}`
      await storage.registrations.createInitialAccessToken({ id: `iat_${n}`, role: name, digest, usesLeft: uses, usesTotal: uses, expiresAt: NOW + 60_000, createdAt: NOW, createdBy: 'test' })
      return { name, digest }
    }

    test('concurrent registrations never exceed max_agents nor the token\'s uses', async () => {
      const { name, digest } = await setUp(5, 12)
      const results = await Promise.all(Array.from({ length: 20 }, () => storage.registrations.register(digest, NOW, agentFor)))
      const statuses = results.map((r) => r.status)
      assert.equal(statuses.filter((s) => s === 'ok').length, 5)
      assert.equal(statuses.filter((s) => s === 'role_full').length, 15, 'a full role does not use up the token')
      assert.equal((await storage.roles.get(name))!.liveAgents, 5)
      const [left] = await storage.registrations.listInitialAccessTokens(name, NOW)
      assert.equal(left!.usesLeft, 7)
    })

    test('a token is consumed atomically: N uses admit exactly N registrations', async () => {
      const { name, digest } = await setUp(null, 3)
      const results = await Promise.all(Array.from({ length: 10 }, () => storage.registrations.register(digest, NOW, agentFor)))
      assert.equal(results.filter((r) => r.status === 'ok').length, 3)
      assert.equal(results.filter((r) => r.status === 'invalid_token').length, 7)
      assert.deepEqual(await storage.registrations.listInitialAccessTokens(name, NOW), [])
    })

    test('a build that throws writes nothing: the use and the slot are given back', async () => {
      const { name, digest } = await setUp(1, 1)
      await assert.rejects(storage.registrations.register(digest, NOW, () => {
        throw new Error('metadata refused')
      }), /metadata refused/)
      assert.equal((await storage.roles.get(name))!.liveAgents, 0)
      assert.equal((await storage.registrations.register(digest, NOW, agentFor)).status, 'ok')
    })

    test('an expired or revoked token registers nobody', async () => {
      const { name, digest } = await setUp(null, 5)
      assert.equal((await storage.registrations.register(digest, NOW + 60_000, agentFor)).status, 'invalid_token')
      const [t] = await storage.registrations.listInitialAccessTokens(name, NOW)
      assert.equal(await storage.registrations.revokeInitialAccessToken(name, t!.id), true)
      assert.equal((await storage.registrations.register(digest, NOW, agentFor)).status, 'invalid_token')
      assert.equal(await storage.registrations.revokeInitialAccessToken(name, t!.id), false)
    })

    test('retiring frees the slot; concurrent retirements of one agent free it once', async () => {
      const { name, digest } = await setUp(1, 5)
      const first = await storage.registrations.register(digest, NOW, agentFor)
      assert.equal(first.status, 'ok')
      const id = first.status === 'ok' ? first.agent.id : ''
      const retired = await Promise.all([1, 2, 3].map(() => storage.agents.setStatus(id, ['active', 'suspended'], 'retired', 'test', NOW, NOW + 300_000)))
      assert.equal(retired.filter(Boolean).length, 1)
      assert.equal((await storage.roles.get(name))!.liveAgents, 0)
      assert.equal((await storage.registrations.register(digest, NOW, agentFor)).status, 'ok')
    })
  })
}
