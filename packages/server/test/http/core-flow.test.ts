import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { accessToken, admin, introspect, registeredAgent, tokenRequest } from '../support/client.js'

for (const engine of await availableEngines()) {
  describe(`core flow on ${engine}`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine)
    })
    after(() => server.close())

    test('an agent registers under a role and gets a token that introspects active', async () => {
      const agent = await registeredAgent(server, { role: { scopes: ['loans:read', 'loans:write'] }, metadata: { scope: 'loans:read' } })
      assert.match(agent.clientId, /^agt_/)
      const token = await accessToken(server, agent)
      const res = await introspect(server, agent, token)
      assert.equal(res.status, 200)
      assert.equal(res.body.active, true)
      assert.equal(res.body.scope, 'loans:read')
      assert.equal(res.body.actor_type, 'agent')
    })

    test('a suspended agent gets no new tokens and its live tokens introspect inactive', async () => {
      const agent = await registeredAgent(server)
      const token = await accessToken(server, agent)
      const suspended = await admin(server, 'POST', `/agents/${agent.clientId}/suspend`, { reason: 'compromise drill' })
      assert.equal(suspended.status, 200)
      const observer = await registeredAgent(server, { role: { can_introspect: true } })
      assert.equal((await introspect(server, observer, token)).body.active, false)
      assert.equal((await tokenRequest(server, agent)).status, 401)
    })
  })
}
