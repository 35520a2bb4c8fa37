import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents } from '../support/client.js'
import { authorizeParams, authorizePath, codeClient, consentForm, pkce, signedInPerson, type CodeClient } from '../support/authorization.js'

async function count(server: TestServer, action: string, actor: string): Promise<number> {
  return (await auditEvents(server, { action, actor })).length
}

for (const engine of await availableEngines()) {
  describe(`the consent form is answered once on ${engine}`, () => {
    let server: TestServer
    let client: CodeClient
    before(async () => {
      server = await startTestServer(engine)
      client = await codeClient(server)
    })
    after(() => server.close())

    test('posting the same form again (approve, then deny) gets a page saying it was answered, and gives nothing more', async () => {
      const { browser, person } = await signedInPerson(server)
      const f = consentForm(await browser.get(authorizePath(authorizeParams(client, pkce().challenge))))
      const first = await browser.request('POST', '/authorize/consent', { form: { ...f, decision: 'approve' } })
      assert.equal(first.status, 303)
      assert.ok(new URL(first.headers.get('location')!).searchParams.get('code'))
      for (const decision of ['approve', 'deny']) {
        const again = await browser.request('POST', '/authorize/consent', { form: { ...f, decision } })
        assert.equal(again.status, 409, again.html.slice(0, 300))
        assert.equal(again.headers.get('location'), null)
        assert.match(again.html, /already answered/)
      }
      assert.equal(await count(server, 'consent.granted', person.id), 1)
      assert.equal(await count(server, 'authorization.code_issued', person.id), 1)
      const refused = await auditEvents(server, { action: 'authorization.consent', actor: person.id })
      assert.equal(refused.filter((e) => e.outcome === 'failure' && e.details.check === 'answered').length, 2)
    })

    test('a denied form cannot be approved afterwards', async () => {
      const { browser, person } = await signedInPerson(server)
      const f = consentForm(await browser.get(authorizePath(authorizeParams(client, pkce().challenge))))
      const deny = await browser.request('POST', '/authorize/consent', { form: { ...f, decision: 'deny' } })
      assert.equal(new URL(deny.headers.get('location')!).searchParams.get('error'), 'access_denied')
      const approve = await browser.request('POST', '/authorize/consent', { form: { ...f, decision: 'approve' } })
      assert.equal(approve.status, 409)
      assert.equal(await count(server, 'consent.granted', person.id), 0)
      assert.equal(await count(server, 'authorization.code_issued', person.id), 0)
    })

    test('concurrent posts of one form: exactly one consent and one code', async () => {
      const { browser, person } = await signedInPerson(server)
      const f = consentForm(await browser.get(authorizePath(authorizeParams(client, pkce().challenge))))
      const results = await Promise.all(Array.from({ length: 5 }, () => browser.request('POST', '/authorize/consent', { form: { ...f, decision: 'approve' } })))
      assert.deepEqual(results.map((r) => r.status).sort(), [303, 409, 409, 409, 409])
      assert.equal(await count(server, 'consent.granted', person.id), 1)
      assert.equal(await count(server, 'authorization.code_issued', person.id), 1)
    })

    test('each showing of the page is its own form', async () => {
      const { browser } = await signedInPerson(server)
      const path = authorizePath(authorizeParams(client, pkce().challenge, { prompt: 'consent' }))
      const a = consentForm(await browser.get(path))
      const b = consentForm(await browser.get(path))
      assert.equal((await browser.request('POST', '/authorize/consent', { form: { ...a, decision: 'approve' } })).status, 303)
      assert.equal((await browser.request('POST', '/authorize/consent', { form: { ...b, decision: 'approve' } })).status, 303)
    })
  })
}
