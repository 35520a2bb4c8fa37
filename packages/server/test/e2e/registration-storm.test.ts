import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { admin, createRole, initialAccessToken, register, tokenRequest, type Reply } from '../support/client.js'

/** How many requests the storm keeps in flight at once. */
const IN_FLIGHT = Number(process.env.MANDATE_STORM_IN_FLIGHT ?? 250)

/** Runs `work` for 0..n-1 with at most `limit` calls in flight; results in index order. */
async function pooled<T>(n: number, limit: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(n)
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      results[i] = await work(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker))
  return results
}

function tally(replies: Reply[]): string {
  const counts = new Map<string, number>()
  for (const r of replies) {
    const key = `${r.status}${r.status >= 400 ? ` ${String(r.body?.error)}` : ''}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].map(([k, v]) => `${k} x${v}`).join(', ')
}

for (const engine of await availableEngines()) {
  describe(`registration storm on ${engine}`, () => {
    let server: TestServer
    before(async () => {
      // 1,200 registrations from one address in a few seconds: far past the per-address limit, which has its own tests.
      server = await startTestServer(engine, { env: { MANDATE_RATE_LIMIT_REGISTER: '10000:10000' } })
    })
    after(() => server.close())

    test('1,000 agents register concurrently and each gets a token', async (t) => {
      const role = await createRole(server, { name: `storm-${engine}`, scopes: ['storm:run'], max_agents: 1000 })
      const iat = await initialAccessToken(server, role, { uses: 1000 })

      const t0 = performance.now()
      const registrations = await pooled(1000, IN_FLIGHT, () => register(server, iat, { client_name: 'storm agent' }))
      const t1 = performance.now()
      assert.equal(registrations.filter((r) => r.status === 201).length, 1000, tally(registrations))

      const ids = registrations.map((r) => r.body.client_id as string)
      assert.equal(new Set(ids).size, 1000, 'client ids are unique')
      assert.ok(ids.every((id) => /^agt_/.test(id)))
      assert.equal(new Set(registrations.map((r) => r.body.client_secret)).size, 1000, 'client secrets are unique')

      const t2 = performance.now()
      const tokens = await pooled(1000, IN_FLIGHT, (i) =>
        tokenRequest(server, { clientId: ids[i]!, clientSecret: registrations[i]!.body.client_secret as string }),
      )
      const t3 = performance.now()
      assert.equal(tokens.filter((r) => r.status === 200).length, 1000, tally(tokens))
      assert.equal(new Set(tokens.map((r) => r.body.access_token)).size, 1000)
      assert.ok(tokens.every((r) => r.body.scope === 'storm:run'))

      const got = await admin(server, 'GET', `/roles/${role}`)
      assert.equal(got.body.live_agents, 1000)
      // The token is used up: the 1,001st registration is refused.
      assert.equal((await register(server, iat)).status, 401)
      assert.equal((await admin(server, 'GET', `/roles/${role}`)).body.live_agents, 1000)

      const msg = `${engine}: 1000 registrations in ${(t1 - t0).toFixed(0)} ms, 1000 tokens in ${(t3 - t2).toFixed(0)} ms (${IN_FLIGHT} in flight)`
      t.diagnostic(msg)
      process.stderr.write(`storm timing — ${msg}\n`)
    })

    test("200 concurrent registrations never push a role past its max_agents of 50", async () => {
      const role = await createRole(server, { name: `capped-${engine}`, max_agents: 50 })
      const iats = await Promise.all(Array.from({ length: 4 }, () => initialAccessToken(server, role, { uses: 50 })))
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => register(server, iats[i % iats.length]!)))
      assert.equal(results.filter((r) => r.status === 201).length, 50, tally(results))
      assert.equal(results.filter((r) => r.status === 403 && r.body.error === 'access_denied').length, 150, tally(results))
      assert.equal((await admin(server, 'GET', `/roles/${role}`)).body.live_agents, 50)
      const listed = await admin(server, 'GET', `/agents?role=${role}&limit=500`)
      assert.equal((listed.body.agents as unknown[]).length, 50)
      // Refusals for a full role used none of the tokens' uses: 150 uses remain across the four,
      // so 50 more attempts per token register exactly 150 agents once the cap is lifted.
      assert.equal((await admin(server, 'PUT', `/roles/${role}`, { scopes: ['read', 'write'], max_agents: 200 })).status, 200)
      const more = await Promise.all(Array.from({ length: 200 }, (_, i) => register(server, iats[i % iats.length]!)))
      assert.equal(more.filter((r) => r.status === 201).length, 150, tally(more))
      assert.equal((await admin(server, 'GET', `/roles/${role}`)).body.live_agents, 200)
    })
  })
}
