import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents, basic, call, form, registeredAgent, type RegisteredAgent } from '../support/client.js'
import { DEVICE_GRANT, deviceAgent, deviceAuthorization, deviceCodeRows, poll, startDevice } from '../support/device.js'
import { rawSql } from '../support/db-access.js'
import { ManualClock } from '../../src/ports/clock.js'

const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/

for (const engine of await availableEngines()) {
  describe(`POST /device_authorization on ${engine}`, () => {
    let server: TestServer
    let clock: ManualClock
    let agent: RegisteredAgent & { role: string }
    before(async () => {
      clock = new ManualClock(Date.now())
      server = await startTestServer(engine, { clock, env: { MANDATE_RATE_LIMIT_DEVICE_AUTHORIZATION: '0.001:40' } })
      agent = await deviceAgent(server)
    })
    after(() => server.close())

    test('answers a device code, a user code to type, where to type it, its lifetime and the poll interval; never cached', async () => {
      const res = await deviceAuthorization(server, agent, { scope: 'read' })
      assert.equal(res.status, 200, res.text)
      assert.equal(res.headers.get('cache-control'), 'no-store')
      const b = res.body
      assert.match(b.device_code, /^mdd_[A-Za-z0-9_-]{43}$/)
      assert.match(b.user_code, USER_CODE)
      assert.equal(b.verification_uri, `${server.issuer}/device`)
      assert.equal(b.verification_uri_complete, `${server.issuer}/device?user_code=${b.user_code}`)
      assert.equal(b.expires_in, 600)
      assert.equal(b.interval, 5)
      const [started] = await auditEvents(server, { action: 'device.authorization_started', actor: agent.clientId })
      assert.equal(started!.actor_type, 'agent')
      assert.match(started!.target ?? '', /^dvc_/)
      assert.equal(started!.details.scope, 'read')
      const stored = JSON.stringify(await auditEvents(server, {}))
      assert.ok(!stored.includes(b.device_code) && !stored.includes(b.user_code) && !stored.includes(b.user_code.replace('-', '')), 'neither code is audited')
      const [row] = await rawSql(server, 'select code_digest, user_code from device_codes where user_code = $1', [b.user_code.replace('-', '')])
      assert.notEqual(row!.code_digest, b.device_code, 'the device code is stored as a digest')
    })

    test('discovery advertises the endpoint and the grant', async () => {
      const meta = await call(server, 'GET', '/.well-known/oauth-authorization-server')
      assert.equal(meta.body.device_authorization_endpoint, `${server.issuer}/device_authorization`)
      assert.ok((meta.body.grant_types_supported as string[]).includes(DEVICE_GRANT))
    })

    test('scope: omitted means all the agent holds; narrower is kept; wider or malformed is invalid_scope; resource binds the audience', async () => {
      const all = await deviceAuthorization(server, agent)
      assert.equal(all.status, 200)
      const [event] = await auditEvents(server, { action: 'device.authorization_started', actor: agent.clientId, limit: '1' })
      assert.equal(event!.details.scope, 'read write')
      assert.equal(event!.details.aud, null)
      const withResource = await deviceAuthorization(server, agent, { scope: 'write', resource: ['https://api.example.com/', 'https://other.example.com/'] })
      assert.equal(withResource.status, 200)
      const [bound] = await auditEvents(server, { action: 'device.authorization_started', actor: agent.clientId, limit: '1' })
      assert.deepEqual(bound!.details.aud, ['https://api.example.com/', 'https://other.example.com/'])
      const rows = await deviceCodeRows(server)
      for (const [params, error] of [
        [{ scope: 'read admin' }, 'invalid_scope'],
        [{ scope: 'read  write' }, 'invalid_scope'],
        [{ scope: 'a"b' }, 'invalid_scope'],
        [{ resource: 'not a uri' }, 'invalid_target'],
        [{ resource: 'https://api.example.com/#frag' }, 'invalid_target'],
      ] as const) {
        const res = await deviceAuthorization(server, agent, params)
        assert.equal(res.status, 400, JSON.stringify(params))
        assert.equal(res.body.error, error, JSON.stringify(params))
      }
      assert.equal(await deviceCodeRows(server), rows, 'refused requests store nothing')
      const refused = await auditEvents(server, { action: 'device.authorization_refused', actor: agent.clientId })
      assert.ok(refused.length >= 5 && refused.every((e) => e.outcome === 'failure'))
    })

    test('malformed, missing, duplicated and oversized input get RFC errors and store nothing', async () => {
      const rows = await deviceCodeRows(server)
      const auth = { authorization: basic(agent.clientId, agent.clientSecret) }
      const cases: Array<[string, Record<string, string>, string | Uint8Array | undefined, number, string]> = [
        ['duplicated scope', { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, form({ scope: ['read', 'write'] }), 400, 'invalid_request'],
        ['JSON body', { ...auth, 'content-type': 'application/json' }, '{"scope":"read"}', 400, 'invalid_request'],
        ['no body', auth, undefined, 400, 'invalid_request'],
        ['malformed percent-encoding', { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, 'scope=%E0%A4%A', 400, 'invalid_request'],
        ['oversized body', { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, form({ scope: 'r'.repeat(70_000) }), 413, 'invalid_request'],
        ['no client authentication', { 'content-type': 'application/x-www-form-urlencoded' }, form({ scope: 'read' }), 401, 'invalid_client'],
        ['wrong secret', { authorization: basic(agent.clientId, 'wrong'), 'content-type': 'application/x-www-form-urlencoded' }, form({}), 401, 'invalid_client'],
        ['unknown client', { authorization: basic('agt_nobody', 'x'), 'content-type': 'application/x-www-form-urlencoded' }, form({}), 401, 'invalid_client'],
      ]
      for (const [what, headers, body, status, error] of cases) {
        const res = await call(server, 'POST', '/device_authorization', { headers, body })
        assert.equal(res.status, status, `${what}: ${res.text}`)
        assert.equal(res.body.error, error, what)
      }
      const get = await call(server, 'GET', '/device_authorization')
      assert.equal(get.status, 405)
      assert.equal(get.headers.get('allow'), 'POST')
      assert.equal(await deviceCodeRows(server), rows)
    })

    test('an agent not registered for the device grant is unauthorized_client, at both endpoints', async () => {
      const plain = await registeredAgent(server)
      const res = await deviceAuthorization(server, plain)
      assert.equal(res.status, 400)
      assert.equal(res.body.error, 'unauthorized_client')
      const started = await startDevice(server, agent)
      const tokens = await poll(server, plain, started.device_code)
      assert.equal(tokens.body.error, 'unauthorized_client')
    })

    test('requests from one address are limited: 429 with Retry-After past the burst, nothing stored', async () => {
      const other = await deviceAgent(server)
      let limited: Awaited<ReturnType<typeof deviceAuthorization>> | undefined
      for (let i = 0; i < 60 && !limited; i++) {
        const res = await deviceAuthorization(server, other)
        if (res.status === 429) limited = res
        else assert.equal(res.status, 200, res.text)
      }
      assert.ok(limited, 'refused within 60 requests (a burst of 40 per address)')
      assert.equal(limited.body.error, 'rate_limited')
      assert.ok(Number(limited.headers.get('retry-after')) >= 1)
      const rows = await deviceCodeRows(server)
      assert.equal((await deviceAuthorization(server, other)).status, 429)
      assert.equal(await deviceCodeRows(server), rows)
      clock.advance(3_600_000)
    })
  })
}
