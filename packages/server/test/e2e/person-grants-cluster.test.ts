import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startPeerNode, startTestServer, type TestServer } from '../support/server.js'
import { introspect, registeredAgent, type RegisteredAgent } from '../support/client.js'
import { codeClient, exchangeCode, tokensForPerson, type CodeClient } from '../support/authorization.js'

/** Polls until `check` holds; returns how long it took. Fails after `timeoutMs`. */
async function within(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now()
  for (;;) {
    if (await check()) return Date.now() - start
    if (Date.now() - start > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

if ((await availableEngines()).includes('postgres')) {
  describe("a person's grant ended on one node is dead on the other", () => {
    let a: TestServer
    let b: TestServer
    let observer: RegisteredAgent
    let client: CodeClient
    before(async () => {
      a = await startTestServer('postgres')
      b = await startPeerNode(a)
      observer = await registeredAgent(a, { role: { scopes: ['introspect'], can_introspect: true } })
      client = await codeClient(a)
    })
    after(async () => {
      await b.close()
      await a.close()
    })

    test('a replayed code on node A: node B refuses the access token at once (well inside its 1 s cache), its cache warm', async () => {
      const { tokens, code, verifier } = await tokensForPerson(a, client)
      const token = String(tokens.access_token)
      assert.equal((await introspect(b, observer, token)).body.active, true) // b now holds the grant in its cache
      assert.equal((await exchangeCode(a, client, code, verifier)).body.error, 'invalid_grant')
      // Well inside the 1 s cache lifetime: b heard of the end (LISTEN/NOTIFY), it did not wait for its cache to expire.
      await within(400, 'b refusing the token', async () => (await introspect(b, observer, token)).body.active === false)
    })
  })
}
