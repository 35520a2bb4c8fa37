import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents } from '../support/client.js'
import { rawSql } from '../support/db-access.js'
import { authorizeAndApprove, authorizeParams, authorizePath, codeClient, exchangeCode, pkce, signedInPerson, type CodeClient } from '../support/authorization.js'

for (const engine of await availableEngines()) {
  describe(`a code whose consent was withdrawn before the exchange on ${engine}`, () => {
    let server: TestServer
    let client: CodeClient
    before(async () => {
      server = await startTestServer(engine)
      client = await codeClient(server)
    })
    after(() => server.close())

    test('is invalid_grant saying the consent was withdrawn, audited as a refusal, not as a replay', async () => {
      const { browser, person } = await signedInPerson(server)
      const { verifier, challenge } = pkce()
      const back = await authorizeAndApprove(browser, authorizePath(authorizeParams(client, challenge)))
      const code = back.searchParams.get('code')!
      const [consent] = await rawSql(server, 'select id from consents where user_id = $1', [person.id])
      await server.mandate.consents.withdraw(person.id, String(consent!.id), { actorType: 'human', actorId: person.id, ip: null, requestId: null })
      const res = await exchangeCode(server, client, code, verifier)
      assert.equal(res.status, 400)
      assert.equal(res.body.error, 'invalid_grant')
      assert.match(String(res.body.error_description), /consent .*withdrawn/)
      assert.doesNotMatch(String(res.body.error_description), /already used/)
      const [issued] = await auditEvents(server, { action: 'authorization.code_issued', actor: person.id })
      assert.equal((await auditEvents(server, { action: 'authorization.code_replayed', target: String(issued!.target) })).length, 0)
      const refused = await auditEvents(server, { action: 'token.refused', actor: client.clientId })
      assert.ok(refused.some((e) => e.details.detail === 'consent withdrawn'), JSON.stringify(refused.map((e) => e.details)))
    })
  })
}
