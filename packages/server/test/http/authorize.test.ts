import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents, manageRegistration, registeredAgent } from '../support/client.js'
import { BrowserClient } from '../support/browser-client.js'
import {
  REDIRECT, authorizeAndApprove, authorizeParams, authorizePath, codeClient, consentForm, localPath, pkce, signedInPerson, type CodeClient,
} from '../support/authorization.js'

const CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

async function codesIssued(server: TestServer): Promise<number> {
  return (await auditEvents(server, { action: 'authorization.code_issued' })).length
}

for (const engine of await availableEngines()) {
  describe(`GET /authorize on ${engine}`, () => {
    let server: TestServer
    let client: CodeClient
    before(async () => {
      server = await startTestServer(engine)
      client = await codeClient(server, { metadata: { redirect_uris: [REDIRECT, 'http://127.0.0.1:8123/cb', 'http://localhost:9000/cb'] } })
    })
    after(() => server.close())

    test('not signed in: the sign-in page, with return_to back to the same request', async () => {
      const browser = new BrowserClient(server)
      const path = authorizePath(authorizeParams(client, pkce().challenge))
      const res = await browser.get(path)
      assert.equal(res.status, 303)
      const location = new URL(res.headers.get('location')!)
      assert.equal(location.pathname, '/login')
      assert.equal(location.searchParams.get('return_to'), path)
    })

    test('signed in without consent: the consent page names the agent, with a CSP that lets its answer reach the client; approving sends a code, state and iss', async () => {
      const { browser, person } = await signedInPerson(server)
      const before = await codesIssued(server)
      const page = await browser.get(authorizePath(authorizeParams(client, pkce().challenge)))
      assert.equal(page.status, 200, page.html.slice(0, 300))
      assert.match(page.html, /Loan Reader/)
      assert.equal(page.headers.get('content-security-policy'), CSP.replace("form-action 'self'", "form-action 'self' https://app.example.com"))
      assert.ok(!/<script/i.test(page.html))
      const res = await browser.request('POST', '/authorize/consent', { form: { ...consentForm(page), decision: 'approve' } })
      assert.equal(res.status, 303)
      const back = new URL(res.headers.get('location')!)
      assert.equal(back.origin + back.pathname, REDIRECT)
      assert.match(back.searchParams.get('code') ?? '', /^mdc_[A-Za-z0-9_-]{43}$/)
      assert.equal(back.searchParams.get('state'), 'st-123')
      assert.equal(back.searchParams.get('iss'), server.issuer) // RFC 9207
      assert.equal(await codesIssued(server), before + 1)
      const [granted] = await auditEvents(server, { action: 'consent.granted', actor: person.id })
      assert.equal(granted?.actor_type, 'human')
      const [issued] = await auditEvents(server, { action: 'authorization.code_issued', actor: person.id })
      assert.equal(issued?.actor_type, 'human')
      // With a live consent the next request skips the page.
      const again = await browser.get(authorizePath(authorizeParams(client, pkce().challenge, { state: 'two' })))
      assert.equal(again.status, 302)
      assert.equal(new URL(again.headers.get('location')!).searchParams.get('state'), 'two')
    })

    test('deny: access_denied with state and iss; no consent and no code', async () => {
      const { browser, person } = await signedInPerson(server)
      const before = await codesIssued(server)
      const page = await browser.get(authorizePath(authorizeParams(client, pkce().challenge)))
      const res = await browser.request('POST', '/authorize/consent', { form: { ...consentForm(page), decision: 'deny' } })
      assert.equal(res.status, 303)
      const back = new URL(res.headers.get('location')!)
      assert.equal(back.searchParams.get('error'), 'access_denied')
      assert.equal(back.searchParams.get('state'), 'st-123')
      assert.equal(back.searchParams.get('iss'), server.issuer)
      assert.equal(back.searchParams.get('code'), null)
      assert.equal(await codesIssued(server), before)
      assert.equal((await auditEvents(server, { action: 'consent.granted', actor: person.id })).length, 0)
    })

    test('the consent form without its CSRF token, with another token, or altered: refused, nothing recorded', async () => {
      const { browser, person } = await signedInPerson(server)
      const page = await browser.get(authorizePath(authorizeParams(client, pkce().challenge)))
      const f = consentForm(page)
      const before = await codesIssued(server)
      const noToken = await browser.request('POST', '/authorize/consent', { form: { request: f.request, decision: 'approve' } })
      assert.equal(noToken.status, 403)
      const wrongToken = await browser.request('POST', '/authorize/consent', { form: { request: f.request, decision: 'approve', csrf_token: 'x'.repeat(43) } })
      assert.equal(wrongToken.status, 403)
      const crossSite = await browser.request('POST', '/authorize/consent', { form: { ...f, decision: 'approve' }, headers: { 'sec-fetch-site': 'cross-site' } })
      assert.equal(crossSite.status, 403)
      const altered = await browser.request('POST', '/authorize/consent', { form: { ...f, request: f.request.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')), decision: 'approve' } })
      assert.equal(altered.status, 400)
      const noDecision = await browser.request('POST', '/authorize/consent', { form: { ...f } })
      assert.equal(noDecision.status, 400)
      const repeated = await browser.request('POST', '/authorize/consent', { form: { ...f, decision: ['approve', 'approve'] } })
      assert.equal(repeated.status, 400)
      // Another person's browser cannot use this person's form.
      const other = await signedInPerson(server)
      const otherPage = await other.browser.get('/account')
      const stolen = await other.browser.request('POST', '/authorize/consent', { form: { request: f.request, decision: 'approve', csrf_token: BrowserClient.formToken(otherPage.html) } })
      assert.equal(stolen.status, 400)
      assert.equal(await codesIssued(server), before)
      assert.equal((await auditEvents(server, { action: 'consent.granted', actor: person.id })).length, 0)
      const refused = await auditEvents(server, { action: 'authorization.consent' })
      assert.ok(refused.length >= 3 && refused.every((e) => e.outcome === 'failure'))
    })

    test('a redirect URI dropped from the registration while the consent page was open gets no answer', async () => {
      const own = await codeClient(server, { metadata: { redirect_uris: [REDIRECT, 'https://app.example.com/old'] } })
      const { browser, person } = await signedInPerson(server)
      const page = await browser.get(authorizePath(authorizeParams(own, pkce().challenge, { redirect_uri: 'https://app.example.com/old' })))
      assert.equal(page.status, 200)
      const update = await manageRegistration(server, own.clientId, own.registrationAccessToken, 'PUT', {
        client_id: own.clientId, client_name: 'Loan Reader', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: [REDIRECT],
      })
      assert.equal(update.status, 200, update.text)
      const before = await codesIssued(server)
      const res = await browser.request('POST', '/authorize/consent', { form: { ...consentForm(page), decision: 'approve' } })
      assert.equal(res.status, 400)
      assert.equal(res.headers.get('location'), null)
      assert.equal(await codesIssued(server), before)
      assert.equal((await auditEvents(server, { action: 'consent.granted', actor: person.id })).length, 0)
    })

    describe('a bad client or redirect URI gets a page, never a redirect (RFC 6749 §4.1.2.1)', () => {
      const cases: Array<[string, (c: CodeClient, challenge: string) => Record<string, string | string[]>]> = [
        ['no client_id', (c, ch) => { const p = authorizeParams(c, ch); delete p.client_id; return p }],
        ['an unknown client_id', (c, ch) => authorizeParams(c, ch, { client_id: 'agt_unknown' })],
        ['a repeated client_id', (c, ch) => authorizeParams(c, ch, { client_id: [c.clientId, c.clientId] })],
        ['an oversized client_id', (c, ch) => authorizeParams(c, ch, { client_id: 'a'.repeat(500) })],
        ['a redirect_uri differing by path', (c, ch) => authorizeParams(c, ch, { redirect_uri: 'https://app.example.com/callback2' })],
        ['a redirect_uri differing by host', (c, ch) => authorizeParams(c, ch, { redirect_uri: 'https://evil.example.com/callback' })],
        ['a redirect_uri with a trailing slash', (c, ch) => authorizeParams(c, ch, { redirect_uri: 'https://app.example.com/callback/' })],
        ['a redirect_uri differing by case', (c, ch) => authorizeParams(c, ch, { redirect_uri: 'https://APP.example.com/callback' })],
        ['a redirect_uri with an added query', (c, ch) => authorizeParams(c, ch, { redirect_uri: `${REDIRECT}?x=1` })],
        ['a redirect_uri on another port of localhost (exact match for names)', (c, ch) => authorizeParams(c, ch, { redirect_uri: 'http://localhost:9001/cb' })],
        ['a loopback redirect on another path', (c, ch) => authorizeParams(c, ch, { redirect_uri: 'http://127.0.0.1:5555/other' })],
        ['a repeated redirect_uri', (c, ch) => authorizeParams(c, ch, { redirect_uri: [REDIRECT, REDIRECT] })],
        ['a missing redirect_uri with several registered', (c, ch) => { const p = authorizeParams(c, ch); delete p.redirect_uri; return p }],
      ]
      for (const [what, params] of cases) {
        test(what, async () => {
          const { browser } = await signedInPerson(server)
          const before = await codesIssued(server)
          const res = await browser.get(authorizePath(params(client, pkce().challenge)))
          assert.equal(res.status, 400, res.html.slice(0, 200))
          assert.equal(res.headers.get('location'), null)
          assert.match(res.headers.get('content-type') ?? '', /^text\/html/)
          assert.equal(res.headers.get('content-security-policy'), CSP)
          assert.equal(await codesIssued(server), before)
        })
      }
    })

    test('a loopback IP redirect may use any port (RFC 8252 §7.3); the code goes to the port asked for', async () => {
      const { browser } = await signedInPerson(server)
      const back = await authorizeAndApprove(browser, authorizePath(authorizeParams(client, pkce().challenge, { redirect_uri: 'http://127.0.0.1:49152/cb' })))
      assert.equal(back.origin + back.pathname, 'http://127.0.0.1:49152/cb')
      assert.ok(back.searchParams.get('code'))
    })

    describe('errors after the client is known go back to it, with state and iss, and issue nothing', () => {
      const cases: Array<[string, Record<string, string | string[]>, string]> = [
        ['no response_type', { response_type: '' }, 'invalid_request'],
        ['response_type token (implicit)', { response_type: 'token' }, 'unsupported_response_type'],
        ['response_type code id_token (hybrid)', { response_type: 'code id_token' }, 'unsupported_response_type'],
        ['a repeated response_type', { response_type: ['code', 'code'] }, 'invalid_request'],
        ['no code_challenge', { code_challenge: '' }, 'invalid_request'],
        ['no code_challenge_method (would mean plain)', { code_challenge_method: '' }, 'invalid_request'],
        ['code_challenge_method plain', { code_challenge_method: 'plain' }, 'invalid_request'],
        ['a code_challenge of 42 characters', { code_challenge: 'a'.repeat(42) }, 'invalid_request'],
        ['a code_challenge with + / =', { code_challenge: `${'a'.repeat(40)}+/=` }, 'invalid_request'],
        ['a scope beyond the agent', { scope: 'openid admin' }, 'invalid_scope'],
        ['a malformed scope', { scope: 'read  write' }, 'invalid_scope'],
        ['a relative resource', { resource: '/api' }, 'invalid_target'],
        ['a resource with a fragment', { resource: 'https://api.example.com/#x' }, 'invalid_target'],
        ['an unknown prompt', { prompt: 'select_account' }, 'invalid_request'],
        ['prompt none with login', { prompt: 'none login' }, 'invalid_request'],
        ['a repeated scope', { scope: ['read', 'read'] }, 'invalid_request'],
        ['an oversized nonce', { nonce: 'n'.repeat(513) }, 'invalid_request'],
        ['response_mode fragment', { response_mode: 'fragment' }, 'invalid_request'],
        ['an oversized request', { unknown_padding: 'p'.repeat(4000) }, 'invalid_request'],
        ['a request object', { request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported'],
        ['a request_uri', { request_uri: 'urn:ietf:params:oauth:request_uri:abc' }, 'request_uri_not_supported'],
      ]
      for (const [what, extra, error] of cases) {
        test(`${what} → ${error}`, async () => {
          const { browser } = await signedInPerson(server)
          const before = await codesIssued(server)
          const res = await browser.get(authorizePath(authorizeParams(client, pkce().challenge, extra)))
          assert.equal(res.status, 302, res.html.slice(0, 300))
          const back = new URL(res.headers.get('location')!)
          assert.equal(back.origin + back.pathname, REDIRECT)
          assert.equal(back.searchParams.get('error'), error)
          assert.equal(back.searchParams.get('iss'), server.issuer)
          assert.equal(back.searchParams.get('state'), 'st-123')
          assert.equal(back.searchParams.get('code'), null)
          assert.equal(await codesIssued(server), before)
        })
      }
    })

    test('unknown parameters are ignored (RFC 6749 §3.1)', async () => {
      const { browser } = await signedInPerson(server)
      const page = await browser.get(authorizePath(authorizeParams(client, pkce().challenge, { ui_locales: 'en', foo: ['1', '2'] })))
      assert.equal(page.status, 200)
    })

    test('a client that is not registered for the code flow gets a page', async () => {
      const agent = await registeredAgent(server, { role: { scopes: ['read'] } })
      const { browser } = await signedInPerson(server)
      const res = await browser.get(authorizePath(authorizeParams({ ...client, clientId: agent.clientId }, pkce().challenge)))
      assert.equal(res.status, 400)
      assert.equal(res.headers.get('location'), null)
    })

    describe('prompt (OIDC Core §3.1.2.1)', () => {
      test('none without a sign-in: login_required; signed in without consent: consent_required; no page either way', async () => {
        const anonymous = new BrowserClient(server)
        const res = await anonymous.get(authorizePath(authorizeParams(client, pkce().challenge, { prompt: 'none' })))
        assert.equal(res.status, 302)
        assert.equal(new URL(res.headers.get('location')!).searchParams.get('error'), 'login_required')
        const { browser } = await signedInPerson(server)
        const res2 = await browser.get(authorizePath(authorizeParams(client, pkce().challenge, { prompt: 'none' })))
        assert.equal(res2.status, 302)
        const back = new URL(res2.headers.get('location')!)
        assert.equal(back.searchParams.get('error'), 'consent_required')
        assert.equal(back.searchParams.get('iss'), server.issuer)
      })

      test('none with a live consent: a code without any page', async () => {
        const { browser } = await signedInPerson(server)
        await authorizeAndApprove(browser, authorizePath(authorizeParams(client, pkce().challenge)))
        const res = await browser.get(authorizePath(authorizeParams(client, pkce().challenge, { prompt: 'none' })))
        assert.equal(res.status, 302)
        assert.ok(new URL(res.headers.get('location')!).searchParams.get('code'))
      })

      test('consent shows the page again even with a live consent', async () => {
        const { browser } = await signedInPerson(server)
        await authorizeAndApprove(browser, authorizePath(authorizeParams(client, pkce().challenge)))
        const page = await browser.get(authorizePath(authorizeParams(client, pkce().challenge, { prompt: 'consent' })))
        assert.equal(page.status, 200)
        assert.ok(consentForm(page).request)
      })

      test('login ends the current sign-in and asks for a new one, then continues without the prompt', async () => {
        const { browser, person } = await signedInPerson(server)
        const path = authorizePath(authorizeParams(client, pkce().challenge, { prompt: 'login' }))
        const res = await browser.get(path)
        assert.equal(res.status, 303)
        const login = new URL(res.headers.get('location')!)
        assert.equal(login.pathname, '/login')
        const returnTo = login.searchParams.get('return_to')!
        assert.ok(!returnTo.includes('prompt'), returnTo)
        assert.equal((await browser.get('/account')).status, 303, 'the old sign-in has ended')
        const signIn = await browser.signIn(person.username, person.password, { return_to: returnTo })
        assert.equal(signIn.status, 303)
        const page = await browser.get(localPath(server, signIn.headers.get('location')))
        assert.equal(page.status, 200)
        assert.ok(consentForm(page).request)
      })
    })
  })
}
