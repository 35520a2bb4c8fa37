import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { accessToken, admin, introspect, registeredAgent } from '../support/client.js'

for (const engine of await availableEngines()) {
  describe(`restart on the same ${engine} database`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine)
    })
    after(() => server.close())

    test('agents, signing keys and the audit chain survive a restart', async () => {
      const agent = await registeredAgent(server, { role: { can_introspect: true } })
      const before = await accessToken(server, agent)
      const kid = JSON.parse(Buffer.from(before.split('.')[0]!, 'base64url').toString()).kid as string

      server = await server.restart()

      // The token issued before the restart still verifies and introspects active.
      const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`))
      const { protectedHeader } = await jwtVerify(before, jwks, { issuer: server.issuer, typ: 'at+jwt' })
      assert.equal(protectedHeader.kid, kid)
      assert.equal((await introspect(server, agent, before)).body.active, true)
      // The agent keeps working, signed by the same key.
      const after = await accessToken(server, agent)
      assert.equal(JSON.parse(Buffer.from(after.split('.')[0]!, 'base64url').toString()).kid, kid)

      const verify = await admin(server, 'GET', '/audit/verify')
      assert.equal(verify.body.ok, true)
      assert.equal(verify.body.streams, 2, 'each process appends to its own stream')
    })
  })
}
