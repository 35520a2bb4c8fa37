import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents } from '../support/client.js'
import { BrowserClient } from '../support/browser-client.js'
import { REDIRECT, authorizeAndApprove, authorizeParams, authorizePath, codeClient, consentForm, pkce, signedInPerson, type CodeClient } from '../support/authorization.js'

async function codesIssued(server: TestServer): Promise<number> {
  return (await auditEvents(server, { action: 'authorization.code_issued' })).length
}

for (const engine of await availableEngines()) {
  describe(`/authorize by POST and HEAD, and state that cannot be echoed, on ${engine}`, () => {
    let server: TestServer
    let client: CodeClient
    before(async () => {
      server = await startTestServer(engine)
      client = await codeClient(server)
    })
    after(() => server.close())

    test('POST with a form body works as GET (OIDC Core §3.1.2.1): sign-in comes back by GET, then consent and a code', async () => {
      const anonymous = new BrowserClient(server)
      const params = authorizeParams(client, pkce().challenge, { scope: 'openid read write' })
      const toLogin = await anonymous.request('POST', '/authorize', { form: params })
      assert.equal(toLogin.status, 303, toLogin.html.slice(0, 300))
      const returnTo = new URL(toLogin.headers.get('location')!).searchParams.get('return_to')!
      assert.ok(returnTo.startsWith('/authorize?'), returnTo)
      assert.deepEqual(Object.fromEntries(new URLSearchParams(returnTo.slice('/authorize?'.length))), params)
      const { browser } = await signedInPerson(server)
      assert.equal((await browser.get(returnTo)).status, 200, 'the return_to is a working GET')
      const page = await browser.request('POST', '/authorize', { form: params })
      assert.equal(page.status, 200, page.html.slice(0, 300))
      const res = await browser.request('POST', '/authorize/consent', { form: { ...consentForm(page), decision: 'approve' } })
      const back = new URL(res.headers.get('location')!)
      assert.ok(back.searchParams.get('code'))
      assert.equal(back.searchParams.get('state'), 'st-123')
      // With the consent live, a POST goes straight back with a code, by 303.
      const again = await browser.request('POST', '/authorize', { form: { ...params, state: 'two' } })
      assert.equal(again.status, 303)
      assert.equal(new URL(again.headers.get('location')!).searchParams.get('state'), 'two')
    })

    test('POST follows the same rules: a repeated client_id gets a page, a repeated response_type goes back with state', async () => {
      const { browser } = await signedInPerson(server)
      const base = authorizeParams(client, pkce().challenge)
      const page = await browser.request('POST', '/authorize', { form: { ...base, client_id: [client.clientId, client.clientId] } })
      assert.equal(page.status, 400)
      assert.equal(page.headers.get('location'), null)
      const res = await browser.request('POST', '/authorize', { form: { ...base, response_type: ['code', 'code'] } })
      assert.equal(res.status, 303)
      const back = new URL(res.headers.get('location')!)
      assert.equal(back.searchParams.get('error'), 'invalid_request')
      assert.equal(back.searchParams.get('state'), 'st-123')
      const json = await browser.request('POST', '/authorize', { body: '{}', headers: { 'content-type': 'application/json' } })
      assert.equal(json.status, 400)
    })

    test('HEAD answers as GET would, without a body, and never issues a code', async () => {
      const { browser } = await signedInPerson(server)
      await authorizeAndApprove(browser, authorizePath(authorizeParams(client, pkce().challenge)))
      const before = await codesIssued(server)
      const ok = await browser.request('HEAD', authorizePath(authorizeParams(client, pkce().challenge)))
      assert.equal(ok.status, 200)
      assert.equal(ok.html, '')
      const bad = await browser.request('HEAD', authorizePath(authorizeParams(client, pkce().challenge, { client_id: 'agt_unknown' })))
      assert.equal(bad.status, 400)
      assert.equal(bad.headers.get('location'), null)
      const redirected = await browser.request('HEAD', authorizePath(authorizeParams(client, pkce().challenge, { response_type: 'token' })))
      assert.equal(redirected.status, 302)
      assert.equal(new URL(redirected.headers.get('location')!).searchParams.get('error'), 'unsupported_response_type')
      assert.equal(await codesIssued(server), before)
    })

    describe('a state that cannot be echoed exactly gets the error page, never a redirect without it (RFC 6749 §4.1.2.1)', () => {
      const cases: Array<[string, Record<string, string | string[]>]> = [
        ['a state over 1024 characters', { state: 's'.repeat(1025) }],
        ['a long state in a request that is wrong anyway', { state: 's'.repeat(2000), response_type: 'token' }],
        ['a state and a query over the limits', { state: 's'.repeat(1500), unknown_padding: 'p'.repeat(3000) }],
        ['a repeated state', { state: ['a', 'b'] }],
      ]
      for (const [what, extra] of cases) {
        test(what, async () => {
          const { browser } = await signedInPerson(server)
          const res = await browser.get(authorizePath(authorizeParams(client, pkce().challenge, extra)))
          assert.equal(res.status, 400, res.html.slice(0, 200))
          assert.equal(res.headers.get('location'), null)
          assert.match(res.headers.get('content-type') ?? '', /^text\/html/)
        })
      }

      test('a state of 1024 characters is echoed exactly', async () => {
        const { browser } = await signedInPerson(server)
        const state = 's'.repeat(1024)
        const res = await browser.get(authorizePath(authorizeParams(client, pkce().challenge, { state, response_type: 'token' })))
        assert.equal(res.status, 302)
        const back = new URL(res.headers.get('location')!)
        assert.equal(back.origin + back.pathname, REDIRECT)
        assert.equal(back.searchParams.get('state'), state)
      })
    })
  })
}
