import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { parseExposition } from '../support/prometheus.js'
import { METRICS_TOKEN, startTestServer, type TestServer } from '../support/server.js'
import { admin, auditEvents, basic, call, form, initialAccessToken, introspect, register, registeredAgent, tokenRequest, type Reply } from '../support/client.js'
import { sessionCall, startedSession } from '../support/sessions.js'

/*
 * Rate limits on a real server with in-process buckets: per agent (sized by its role) on the
 * agent endpoints, per address on /register and on failed client authentication.
 */

const FORM = 'application/x-www-form-urlencoded'

/** What every refusal for rate carries: 429, an RFC 6749 §5.2-style body, Retry-After and the RateLimit fields. */
function assertRateLimited(res: Reply, policy: string) {
  assert.equal(res.status, 429, res.text)
  assert.equal(res.body.error, 'rate_limited')
  assert.equal(typeof res.body.error_description, 'string')
  assert.equal(res.headers.get('cache-control'), 'no-store')
  const retryAfter = res.headers.get('retry-after')
  assert.match(retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After is whole seconds, at least 1')
  assert.match(res.headers.get('ratelimit-policy') ?? '', new RegExp(`^"${policy}";q=\\d+;w=\\d+$`))
  const m = /^"([a-z-]+)";r=(\d+);t=(\d+)$/.exec(res.headers.get('ratelimit') ?? '')
  assert.ok(m, `RateLimit: ${res.headers.get('ratelimit')}`)
  assert.equal(m[1], policy)
  assert.equal(m[2], '0')
  // draft-ietf-httpapi-ratelimit-headers §6: Retry-After does not point before the end of the window t.
  assert.ok(Number(m[3]) <= Number(retryAfter), `t=${m[3]} Retry-After=${retryAfter}`)
}

/** `"name";r=N;t=T` → N */
function remaining(res: Reply): number {
  const m = /;r=(\d+);/.exec(res.headers.get('ratelimit') ?? '')
  assert.ok(m, `no RateLimit field: ${res.status} ${res.text}`)
  return Number(m[1])
}

const fromAddress = (ip: string) => ({ 'x-forwarded-for': ip })

for (const engine of await availableEngines()) {
  describe(`rate limits on ${engine}`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine, {
        // Addresses come from X-Forwarded-For (the test is the proxy), so one test can be many clients.
        // Registration is not what this server tests (its tests register many agents from one address).
        env: { MANDATE_TRUST_PROXY: 'loopback', MANDATE_RATE_LIMIT_REGISTER: '1000:1000', MANDATE_RATE_LIMIT_AUTH_FAILURES: '0.01:5', MANDATE_METRICS_TOKEN: METRICS_TOKEN },
      })
    })
    after(() => server.close())

    test('an agent gets its burst, then 429 with Retry-After and RateLimit fields; each success says what is left', async () => {
      const agent = await registeredAgent(server, { role: { rate_limit: { per_second: 0.05, burst: 3 } } })
      const ok = [await tokenRequest(server, agent), await tokenRequest(server, agent), await tokenRequest(server, agent)]
      assert.deepEqual(ok.map((r) => r.status), [200, 200, 200])
      assert.deepEqual(ok.map(remaining), [2, 1, 0])
      // q = the burst, w = seconds an empty bucket takes to refill (3 / 0.05).
      assert.equal(ok[0]!.headers.get('ratelimit-policy'), '"agent";q=3;w=60')
      const refused = await tokenRequest(server, agent)
      assertRateLimited(refused, 'agent')
      assert.ok(Number(refused.headers.get('retry-after')) >= 19 && Number(refused.headers.get('retry-after')) <= 20, `one token every 20 s: ${refused.headers.get('retry-after')}`)
      assert.match(refused.body.error_description as string, /0\.05 per second with bursts of 3/)
    })

    test('one bucket per agent covers /token, /introspect, /revoke and /sessions alike', async () => {
      const agent = await registeredAgent(server, { role: { rate_limit: { per_second: 0.01, burst: 5 } } })
      const token = (await tokenRequest(server, agent)).body.access_token as string
      const session = await startedSession(server, agent)
      const calls: Array<() => Promise<Reply>> = [
        () => introspect(server, agent, token),
        () => call(server, 'POST', '/revoke', { headers: { authorization: basic(agent.clientId, agent.clientSecret), 'content-type': FORM }, body: form({ token: 'unknown' }) }),
        () => sessionCall(server, agent, 'POST', `/sessions/${session.session_id}/heartbeat`, { progress: 0.1 }),
      ]
      for (const c of calls) assert.equal((await c()).status, 200)
      // Five spent: token, session start, introspect, revoke, heartbeat.
      for (const c of [...calls, () => tokenRequest(server, agent), () => sessionCall(server, agent, 'GET', `/sessions/${session.session_id}`)]) {
        assertRateLimited(await c(), 'agent')
      }
    })

    test('one noisy agent exhausting its bucket never slows another agent of the same role', async () => {
      const role = (await registeredAgent(server, { role: { rate_limit: { per_second: 1, burst: 10 } } })).role
      const iat = await initialAccessToken(server, role, { uses: 2 })
      const [noisy, quiet] = await Promise.all([register(server, iat), register(server, iat)])
      const creds = (r: Reply) => ({ clientId: r.body.client_id as string, clientSecret: r.body.client_secret as string })
      const flood = Promise.all(Array.from({ length: 300 }, () => tokenRequest(server, creds(noisy!))))
      const steady = (async () => {
        const out: Reply[] = []
        for (let i = 0; i < 10; i++) out.push(await tokenRequest(server, creds(quiet!)))
        return out
      })()
      const [noisyReplies, quietReplies] = await Promise.all([flood, steady])
      const noisyOk = noisyReplies.filter((r) => r.status === 200).length
      assert.ok(noisyOk >= 10 && noisyOk <= 15, `the noisy agent got its burst (and what refilled meanwhile): ${noisyOk}`)
      assert.equal(noisyReplies.filter((r) => r.status === 429).length, 300 - noisyOk)
      assert.deepEqual(quietReplies.map((r) => r.status), Array(10).fill(200), 'every request of the quiet agent succeeded')
    })

    test('a role\'s new rate_limit applies at once', async () => {
      const agent = await registeredAgent(server, { role: { rate_limit: { per_second: 0.01, burst: 1 } } })
      assert.equal((await tokenRequest(server, agent)).status, 200)
      assertRateLimited(await tokenRequest(server, agent), 'agent')
      const put = await admin(server, 'PUT', `/roles/${agent.role}`, { scopes: ['read', 'write'], rate_limit: { per_second: 1000, burst: 1000 } })
      assert.equal(put.status, 200, put.text)
      assert.equal((await tokenRequest(server, agent)).status, 200)
    })

    test('/register is limited per address: one flooding address does not stop registrations from another', async () => {
      const server = await startTestServer(engine, { env: { MANDATE_TRUST_PROXY: 'loopback', MANDATE_RATE_LIMIT_REGISTER: '0.01:5' } })
      try {
        const role = 'register-limits'
        assert.equal((await admin(server, 'POST', '/roles', { name: role, scopes: ['read'] })).status, 201)
        const iat = await initialAccessToken(server, role, { uses: 10 })
        const flooder = fromAddress('203.0.113.10')
        // Five requests in the burst (all with a bad token: refused 401 and audited one by one), then 429.
        const bad = () => call(server, 'POST', '/register', { headers: { ...flooder, authorization: 'Bearer mdt_iat_wrong', 'content-type': 'application/json' }, body: '{}' })
        for (let i = 0; i < 5; i++) assert.equal((await bad()).status, 401)
        const refused = await bad()
        assertRateLimited(refused, 'register')
        // Even with a good token, this address waits.
        assertRateLimited(await call(server, 'POST', '/register', { headers: { ...flooder, authorization: `Bearer ${iat}`, 'content-type': 'application/json' }, body: '{}' }), 'register')
        const other = await call(server, 'POST', '/register', { headers: { ...fromAddress('198.51.100.20'), authorization: `Bearer ${iat}`, 'content-type': 'application/json' }, body: '{}' })
        assert.equal(other.status, 201, other.text)
        assert.equal(other.headers.get('ratelimit'), '"register";r=4;t=100')
        // An IPv6 flooder is one client for its whole /64.
        for (let i = 0; i < 5; i++) await call(server, 'POST', '/register', { headers: { ...fromAddress(`2001:db8:7:7::${i + 1}`), authorization: 'Bearer x' }, body: '{}' })
        assertRateLimited(await call(server, 'POST', '/register', { headers: { ...fromAddress('2001:db8:7:7::ffff'), authorization: 'Bearer x' } }), 'register')
        // Audited per address, in aggregate.
        await server.mandate.rateLimits.flush()
        const byAddress = await auditEvents(server, { action: 'rate_limit.exceeded' })
        assert.deepEqual(byAddress.map((e) => [e.target, e.actor_type, e.details.limit, e.details.count]).sort(), [['2001:db8:7:7::/64', 'anonymous', 'register', 1], ['203.0.113.10', 'anonymous', 'register', 2]])
        assert.deepEqual(byAddress.find((e) => e.target === '203.0.113.10')?.details.endpoints, { 'POST /register': 2 })
      } finally {
        await server.close()
      }
    })

    test('failed client authentication is limited per address, and never locks out the right secret', async () => {
      const victim = await registeredAgent(server)
      const attacker = fromAddress('203.0.113.66')
      const wrong = (headers: Record<string, string>) => call(server, 'POST', '/token', {
        headers: { ...headers, authorization: basic(victim.clientId, 'not-the-secret'), 'content-type': FORM }, body: form({ grant_type: 'client_credentials' }),
      })
      const right = (headers: Record<string, string>) => call(server, 'POST', '/token', {
        headers: { ...headers, authorization: basic(victim.clientId, victim.clientSecret), 'content-type': FORM }, body: form({ grant_type: 'client_credentials' }),
      })
      for (let i = 0; i < 5; i++) {
        const res = await wrong(attacker)
        assert.equal(res.status, 401)
        assert.equal(res.body.error, 'invalid_client')
      }
      const floods = await Promise.all(Array.from({ length: 50 }, () => wrong(attacker)))
      for (const res of floods) assertRateLimited(res, 'auth-failures')
      // The agent itself, from the flooding address and from another, with its secret: served.
      const same = await right(attacker)
      assert.equal(same.status, 200, same.text)
      assert.equal(same.headers.get('ratelimit-policy'), '"agent";q=100;w=2', 'the default role limit: 50/s, burst 100')
      assert.ok(remaining(same) >= 98, 'the victim\'s own bucket was not spent by the failures')
      assert.equal((await right(fromAddress('198.51.100.30'))).status, 200)
      // Another address's failures are its own: 401, not 429.
      assert.equal((await wrong(fromAddress('198.51.100.31'))).status, 401)
      // The same holds where agents authenticate in JSON (sessions) and at introspection.
      assertRateLimited(await call(server, 'POST', '/introspect', { headers: { ...attacker, authorization: basic(victim.clientId, 'nope'), 'content-type': FORM }, body: form({ token: 'x' }) }), 'auth-failures')
      assertRateLimited(await call(server, 'POST', '/sessions', { headers: { ...attacker, 'content-type': 'application/json' }, body: JSON.stringify({ client_id: victim.clientId, client_secret: 'nope', task: 't', duration: 'task-completion' }) }), 'auth-failures')
      assert.equal((await call(server, 'POST', '/sessions', { headers: { ...attacker, authorization: basic(victim.clientId, victim.clientSecret), 'content-type': 'application/json' }, body: JSON.stringify({ task: 't', duration: 'task-completion' }) })).status, 201)
    })

    test('refusals are audited in aggregate: one rate_limit.exceeded event per agent or address with the count, none per request', async () => {
      const agent = await registeredAgent(server, { role: { rate_limit: { per_second: 0.01, burst: 2 } } })
      const replies = await Promise.all(Array.from({ length: 40 }, () => tokenRequest(server, agent)))
      const refused = replies.filter((r) => r.status === 429).length
      assert.equal(refused, 38)
      await Promise.all(Array.from({ length: 5 }, () => introspect(server, agent, 'x')))
      await server.mandate.rateLimits.flush()
      const events = await auditEvents(server, { action: 'rate_limit.exceeded', actor: agent.clientId })
      assert.equal(events.length, 1, JSON.stringify(events))
      const e = events[0]!
      assert.equal(e.actor_type, 'agent')
      assert.equal(e.target, agent.clientId)
      assert.equal(e.role, agent.role)
      assert.equal(e.outcome, 'failure')
      assert.equal(e.details.count, 43)
      assert.equal(e.details.limit, 'agent')
      assert.deepEqual(e.details.endpoints, { 'POST /token': 38, 'POST /introspect': 5 })
      assert.equal(e.details.per_second, 0.01)
      assert.equal(e.details.burst, 2)
      assert.match(e.reason ?? '', /^43 requests refused by the agent limit/)
      // The refused token requests left no token.refused rows; the two served left token.issued.
      assert.equal((await auditEvents(server, { action: 'token.refused', actor: agent.clientId })).length, 0)
      assert.equal((await auditEvents(server, { action: 'token.issued', actor: agent.clientId })).length, 2)
      // Counted for operators too, by kind of limit.
      const m = parseExposition((await call(server, 'GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text)
      assert.ok(m.value('mandate_rate_limited_total', { kind: 'agent' }) >= 43)
      assert.ok(m.value('mandate_rate_limited_total', { kind: 'auth_failures' }) >= 52)
      // Nothing more to write until more is refused.
      await server.mandate.rateLimits.flush()
      assert.equal((await auditEvents(server, { action: 'rate_limit.exceeded', actor: agent.clientId })).length, 1)

      // Address limits are audited against the address, with no actor.
      const byAddress = await auditEvents(server, { action: 'rate_limit.exceeded', target: '203.0.113.66' })
      assert.equal(byAddress.length, 1)
      assert.equal(byAddress[0]!.actor_type, 'anonymous')
      assert.equal(byAddress[0]!.details.limit, 'auth_failures')
      assert.equal(byAddress[0]!.details.count, 52)
      assert.deepEqual(byAddress[0]!.details.endpoints, { 'POST /token': 50, 'POST /introspect': 1, 'POST /sessions': 1 })
    })

    test('routes outside the limits carry no RateLimit fields: discovery, JWKS, admin', async () => {
      for (const path of ['/.well-known/oauth-authorization-server', '/jwks']) {
        const res = await call(server, 'GET', path)
        assert.equal(res.status, 200)
        assert.equal(res.headers.get('ratelimit'), null, path)
      }
      assert.equal((await admin(server, 'GET', '/roles')).headers.get('ratelimit'), null)
    })

    test('refusals still tallied at shutdown are audited before the server stops (SIGTERM loses no count)', async () => {
      const agent = await registeredAgent(server, { role: { rate_limit: { per_second: 0.01, burst: 1 } } })
      await Promise.all(Array.from({ length: 8 }, () => tokenRequest(server, agent)))
      server = await server.restart()
      const events = await auditEvents(server, { action: 'rate_limit.exceeded', actor: agent.clientId })
      assert.equal(events.length, 1)
      assert.equal(events[0]!.details.count, 7)
      const verify = await admin(server, 'GET', '/audit/verify')
      assert.equal(verify.body.ok, true, verify.text)
    })
  })
}
