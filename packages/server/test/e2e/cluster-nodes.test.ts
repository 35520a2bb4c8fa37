import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { decodeProtectedHeader } from 'jose'
import { availableEngines } from '../support/engines.js'
import { requireRedis } from '../support/redis.js'
import { startPeerNode, startTestServer, type TestServer } from '../support/server.js'
import { accessToken, admin, basic, call, form, initialAccessToken, introspect, register, registeredAgent, tokenRequest, type RegisteredAgent } from '../support/client.js'
import { complete, startedSession } from '../support/sessions.js'

/** Polls until `check` holds; returns how long it took. Fails after `timeoutMs`. */
async function within(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now()
  for (;;) {
    if (await check()) return Date.now() - start
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const active = async (node: TestServer, observer: RegisteredAgent, token: string) => (await introspect(node, observer, token)).body.active === true

const redisUrl = await requireRedis()
const setups: Array<{ name: string; env: Record<string, string> }> = [{ name: 'PostgreSQL LISTEN/NOTIFY', env: {} }]
if (redisUrl) setups.push({ name: 'Redis pub/sub', env: { MANDATE_REDIS: redisUrl, MANDATE_REDIS_PREFIX: `mandate-test-${randomBytes(4).toString('hex')}:` } })

if ((await availableEngines()).includes('postgres')) {
  for (const setup of setups) {
    describe(`two nodes on one PostgreSQL, changes over ${setup.name}`, () => {
      let a: TestServer
      let b: TestServer
      let observer: RegisteredAgent
      before(async () => {
        a = await startTestServer('postgres', { env: setup.env })
        b = await startPeerNode(a, { env: setup.env })
        observer = await registeredAgent(a, { role: { scopes: ['introspect'], can_introspect: true } })
      })
      after(async () => {
        await b.close()
        await a.close()
      })

      test('a token issued by one node introspects on the other', async () => {
        const agent = await registeredAgent(a)
        const token = await accessToken(a, agent)
        assert.equal(await active(b, observer, token), true)
        const fromB = await accessToken(b, agent)
        assert.equal(await active(a, observer, fromB), true)
      })

      test('a suspension on one node takes effect on the other within a second, its cache warm or not', async () => {
        const agent = await registeredAgent(a)
        const token = await accessToken(a, agent)
        assert.equal(await active(b, observer, token), true) // b now holds the agent in its cache
        assert.equal((await admin(a, 'POST', `/agents/${agent.clientId}/suspend`, { reason: 'cluster drill' })).status, 200)
        const ms = await within(1000, 'b refusing the token', async () => !(await active(b, observer, token)))
        assert.ok(ms < 1000)
        assert.equal((await tokenRequest(b, agent)).status, 401)
      })

      test('a session completed on one node ends its tokens on the other within a second', async () => {
        const agent = await registeredAgent(a)
        const s = await startedSession(a, agent)
        assert.equal(await active(b, observer, s.access_token), true)
        assert.equal((await complete(a, agent, s.session_id)).status, 200)
        await within(1000, 'b refusing the session token', async () => !(await active(b, observer, s.access_token)))
      })

      test('a revocation on one node holds on the other within a second, and at once on its own', async () => {
        const agent = await registeredAgent(a)
        const token = await accessToken(a, agent)
        // Introspected first on both, so both hold it as verified: the revocation must still win.
        assert.equal(await active(b, observer, token), true)
        assert.equal(await active(a, observer, token), true)
        const res = await call(a, 'POST', '/revoke', { headers: { authorization: basic(agent.clientId, agent.clientSecret), 'content-type': 'application/x-www-form-urlencoded' }, body: form({ token }) })
        assert.equal(res.status, 200)
        assert.equal(await active(a, observer, token), false)
        await within(1000, 'b treating the token as revoked', async () => !(await active(b, observer, token)))
      })

      test('a role narrowed on one node caps tokens on the other within a second', async () => {
        const agent = await registeredAgent(a, { role: { scopes: ['read', 'write'] } })
        assert.equal((await tokenRequest(b, agent, { scope: 'write' })).status, 200)
        assert.equal((await admin(a, 'PUT', `/roles/${agent.role}`, { scopes: ['read'] })).status, 200)
        await within(1000, 'b refusing the dropped scope', async () => (await tokenRequest(b, agent, { scope: 'write' })).status === 400)
      })

      test('a key rotated on one node signs on the other within a second, not at its next 10 s refresh', async () => {
        const agent = await registeredAgent(a)
        const rotated = await admin(a, 'POST', '/keys/rotate', { force: true })
        assert.equal(rotated.status, 200, rotated.text)
        await within(1000, 'b signing with the new key', async () => decodeProtectedHeader(await accessToken(b, agent)).kid === rotated.body.kid)
      })

      test('max_agents and single-use initial access tokens hold across nodes under concurrency', async () => {
        const agent = await registeredAgent(a, { role: { max_agents: 6 } }) // one slot taken by this agent
        const iat = await initialAccessToken(a, agent.role, { uses: 40 })
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => register(i % 2 ? a : b, iat, { client_name: `racer ${i}` })))
        assert.equal(results.filter((r) => r.status === 201).length, 5)
        const once = await initialAccessToken(a, (await registeredAgent(a)).role, { uses: 1 })
        const racers = await Promise.all(Array.from({ length: 10 }, (_, i) => register(i % 2 ? a : b, once)))
        assert.equal(racers.filter((r) => r.status === 201).length, 1)
      })

      test('exactly one node runs the background work', async () => {
        const c = await startPeerNode(a, { env: setup.env })
        try {
          await within(5000, 'one leader among three nodes', async () => [a, b, c].filter((n) => n.mandate.isLeader()).length === 1)
          await new Promise((r) => setTimeout(r, 500))
          assert.equal([a, b, c].filter((n) => n.mandate.isLeader()).length, 1, 'and never two')
        } finally {
          await c.close()
        }
        // Failover when the leader dies is in cluster-kill.test.ts (processes, SIGKILL).
      })
    })
  }
}
