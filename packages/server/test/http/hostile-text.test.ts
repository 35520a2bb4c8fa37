import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { admin, auditEvents, basic, call, registeredAgent, tokenRequest, type RegisteredAgent } from '../support/client.js'

/**
 * Text no database keeps exactly (U+0000, which PostgreSQL refuses, and unpaired surrogates,
 * which UTF-8 cannot hold) is refused at the edge on both engines, never a 500.
 */
for (const engine of await availableEngines()) {
  describe(`U+0000 and unpaired surrogates on ${engine}`, () => {
    let server: TestServer
    let agent: RegisteredAgent
    before(async () => {
      server = await startTestServer(engine)
      agent = await registeredAgent(server)
    })
    after(() => server.close())

    const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
    const JSON_CT = { 'content-type': 'application/json' }

    test('are refused wherever they can arrive, with a 4xx and an RFC error', async () => {
      const adminAuth = { authorization: `Bearer ${server.adminToken}` }
      const cases: [string, () => Promise<{ status: number; body: Record<string, unknown> }>][] = [
        ['client_id in a form', () => call(server, 'POST', '/token', { headers: FORM, body: 'grant_type=client_credentials&client_id=%00&client_secret=y' })],
        ['client id in Basic', () => call(server, 'POST', '/token', { headers: { ...FORM, authorization: basic('\u0000', 'y') }, body: 'grant_type=client_credentials' })],
        ['token to introspect', () => call(server, 'POST', '/introspect', { headers: { ...FORM, authorization: basic(agent.clientId, agent.clientSecret) }, body: 'token=a%00b' })],
        ['registration path', () => call(server, 'GET', '/register/%00', { headers: { authorization: 'Bearer x' } })],
        ['admin agent path', () => call(server, 'GET', '/admin/agents/%00', { headers: adminAuth })],
        ['audit query', () => call(server, 'GET', '/admin/audit?actor=%00', { headers: adminAuth })],
        ['suspend reason with U+0000', () => call(server, 'POST', `/admin/agents/${agent.clientId}/suspend`, { headers: { ...adminAuth, ...JSON_CT }, body: '{"reason":"a\\u0000b"}' })],
        ['suspend reason with a lone surrogate', () => call(server, 'POST', `/admin/agents/${agent.clientId}/suspend`, { headers: { ...adminAuth, ...JSON_CT }, body: '{"reason":"\\ud800"}' })],
        ['role name key with U+0000', () => call(server, 'POST', '/admin/roles', { headers: { ...adminAuth, ...JSON_CT }, body: '{"name":"r","scopes":["a"],"x\\u0000":1}' })],
        ['client metadata', () => call(server, 'POST', '/register', { headers: { authorization: 'Bearer x', ...JSON_CT }, body: '{"client_name":"\\udc00"}' })],
      ]
      for (const [what, send] of cases) {
        const res = await send()
        assert.ok(res.status >= 400 && res.status < 500, `${what}: got ${res.status}`)
        assert.equal(typeof res.body.error, 'string', what)
      }
      // Nothing was suspended, the server still serves, and the audit chain still verifies.
      assert.equal((await admin(server, 'GET', `/agents/${agent.clientId}`)).body.status, 'active')
      assert.equal((await tokenRequest(server, agent)).status, 200)
      assert.equal((await admin(server, 'GET', '/audit/verify')).body.ok, true)
      const refused = await auditEvents(server, { action: 'token.refused' })
      assert.ok(refused.length >= 2, 'refusals with hostile client ids are still audited')
    })
  })
}
