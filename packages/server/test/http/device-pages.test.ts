import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents, type RegisteredAgent } from '../support/client.js'
import { BrowserClient, createPerson, type PageReply } from '../support/browser-client.js'
import { consentFields, decide, deviceAgent, enterCode, startDevice } from '../support/device.js'
import { rawSql } from '../support/db-access.js'
import { ManualClock } from '../../src/ports/clock.js'

const CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

function assertPage(res: PageReply, what: string) {
  assert.equal(res.headers.get('content-security-policy'), CSP, `${what}: CSP`)
  assert.equal(res.headers.get('x-frame-options'), 'DENY', `${what}: X-Frame-Options`)
  assert.equal(res.headers.get('cache-control'), 'no-store', `${what}: Cache-Control`)
  if (res.html !== '') {
    assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/, `${what}: HTML`)
    assert.ok(!/<script|\sstyle=|\son[a-z]+=/i.test(res.html), `${what}: no script, inline style or handler`)
  }
}

async function statusOf(server: TestServer, userCode: string): Promise<string | undefined> {
  const [row] = await rawSql(server, 'select status from device_codes where user_code = $1 order by created_at desc', [userCode.replace('-', '')])
  return row?.status as string | undefined
}

for (const engine of await availableEngines()) {
  describe(`the user-code page (RFC 8628 §3.3) on ${engine}`, () => {
    let server: TestServer
    let clock: ManualClock
    let agent: RegisteredAgent & { role: string }
    let person: { id: string; username: string; password: string }
    let browser: BrowserClient
    before(async () => {
      clock = new ManualClock(Date.now())
      server = await startTestServer(engine, { clock, env: { MANDATE_RATE_LIMIT_USER_CODE_PERSON: '0.001:1000', MANDATE_RATE_LIMIT_USER_CODE_ADDRESS: '0.001:1000' } })
      agent = await deviceAgent(server, { metadata: { client_name: 'Kiosk <7> & co' } })
      person = await createPerson(server)
      browser = new BrowserClient(server)
      const signedIn = await browser.signIn(person.username, person.password)
      assert.equal(signedIn.status, 303)
    })
    after(() => server.close())

    test('behind sign-in: the link with the code leads to sign-in and back, with the code pre-filled but not submitted', async () => {
      const started = await startDevice(server, agent)
      const stranger = new BrowserClient(server)
      const link = new URL(started.verification_uri_complete)
      const first = await stranger.get(link.pathname + link.search.toLowerCase())
      assert.equal(first.status, 303)
      assertPage(first, 'GET /device signed out')
      const location = new URL(first.headers.get('location')!)
      assert.equal(location.pathname, '/login')
      assert.equal(location.searchParams.get('return_to'), `/device?user_code=${started.user_code}`, 'normalised into the return path')
      const signIn = await stranger.signIn(person.username, person.password, { return_to: location.searchParams.get('return_to')! })
      assert.equal(signIn.headers.get('location'), `${server.issuer}/device?user_code=${started.user_code}`)
      const page = await stranger.get(`/device?user_code=${started.user_code}`)
      assert.equal(page.status, 200)
      assertPage(page, 'GET /device')
      assert.match(page.html, new RegExp(`<input id="user_code" name="user_code"[^>]* value="${started.user_code}"`))
      assert.match(page.html, /Check that this code is the one your device shows/)
      assert.equal(await statusOf(server, started.user_code), 'pending', 'opening the link decides nothing')
    })

    test('a typed code (any case, spaces, dashes) shows the consent page naming the agent, its scopes and purposes', async () => {
      const started = await startDevice(server, agent, { scope: 'read' })
      const typed = ` ${started.user_code.toLowerCase().replace('-', ' - ')} `
      const consent = await enterCode(browser, typed)
      assert.equal(consent.status, 200, consent.html)
      assertPage(consent, 'POST /device')
      assert.match(consent.html, /Kiosk &lt;7&gt; &amp; co/, 'the agent is named, escaped')
      assert.ok(consent.html.includes(agent.clientId))
      assert.match(consent.html, /“read”/)
      assert.ok(!/“write”/.test(consent.html), 'only the scope asked for')
      assert.match(consent.html, /Answer your support tickets/)
      assert.match(consent.html, new RegExp(`action="${server.issuer}/device/decision"`))
      const fields = consentFields(consent.html)
      assert.equal(fields.user_code, started.user_code)
      assert.match(fields.text_digest ?? '', /^[A-Za-z0-9_-]{43}$/)
      assert.equal(await statusOf(server, started.user_code), 'pending')
    })

    test('approving records the consent as the person and approves the request once; a second submission finds it gone', async () => {
      const started = await startDevice(server, agent)
      const consent = await enterCode(browser, started.user_code)
      const fields = consentFields(consent.html)
      const done = await browser.request('POST', '/device/decision', { form: { ...fields, decision: 'approve' } })
      assert.equal(done.status, 200, done.html)
      assertPage(done, 'POST /device/decision')
      assert.match(done.html, /Device connected/)
      assert.equal(await statusOf(server, started.user_code), 'approved')
      const again = await browser.request('POST', '/device/decision', { form: { ...fields, decision: 'deny' } })
      assert.equal(again.status, 400)
      assert.match(again.html, /can no longer be used/)
      assert.equal(await statusOf(server, started.user_code), 'approved', 'the second decision changed nothing')
      const [approved] = await auditEvents(server, { action: 'device.approved', actor: person.id })
      assert.equal(approved!.actor_type, 'human')
      assert.match(approved!.target ?? '', /^dvc_/)
      assert.match(String(approved!.details.consent_id), /^cns_/)
      const granted = await auditEvents(server, { action: 'consent.granted', actor: person.id })
      assert.equal(granted.length, 1)
      assert.equal(granted[0]!.target, approved!.details.consent_id)
      assert.equal(granted[0]!.details.text_digest, fields.text_digest, 'the consent keeps the digest of the words shown')
    })

    test('a second device for the same agent and scopes reuses the live consent', async () => {
      const before = (await auditEvents(server, { action: 'consent.granted', actor: person.id })).length
      const started = await startDevice(server, agent)
      const done = await decide(browser, started.user_code, 'approve')
      assert.equal(done.status, 200, done.html)
      assert.equal((await auditEvents(server, { action: 'consent.granted', actor: person.id })).length, before)
      const [approved] = await auditEvents(server, { action: 'device.approved', actor: person.id, limit: '1' })
      assert.equal(approved!.target !== null, true)
    })

    test('denying marks the request denied, audited as the person, and records no consent', async () => {
      const granted = (await auditEvents(server, { action: 'consent.granted' })).length
      const started = await startDevice(server, agent, { scope: 'write' })
      const done = await decide(browser, started.user_code, 'deny')
      assert.equal(done.status, 200)
      assert.match(done.html, /Request denied/)
      assert.equal(await statusOf(server, started.user_code), 'denied')
      const [denied] = await auditEvents(server, { action: 'device.denied', actor: person.id })
      assert.equal(denied!.actor_type, 'human')
      assert.equal((await auditEvents(server, { action: 'consent.granted' })).length, granted)
    })

    test('words that changed since they were shown are shown again, and nothing is decided', async () => {
      const started = await startDevice(server, agent)
      const consent = await enterCode(browser, started.user_code)
      const res = await browser.request('POST', '/device/decision', { form: { ...consentFields(consent.html), text_digest: 'x'.repeat(43), decision: 'approve' } })
      assert.equal(res.status, 409)
      assert.match(res.html, /has changed/)
      assert.equal(await statusOf(server, started.user_code), 'pending')
    })

    test('unknown, expired, malformed, oversized and missing codes: the form again with an error, nothing decided, misses audited', async () => {
      const started = await startDevice(server, agent)
      const missesBefore = (await auditEvents(server, { action: 'device.user_code_refused', actor: person.id })).length
      for (const typed of ['BCDF-GHJK', 'AEIO-UAEI', '12345678', 'BCDF-GHJ', 'B'.repeat(40), started.user_code + 'B']) {
        const res = await enterCode(browser, typed)
        assert.equal(res.status, 400, typed)
        assertPage(res, `POST /device ${typed}`)
        assert.match(res.html, /role="alert"[^>]*>That code does not match a waiting device/)
      }
      const page = await browser.get('/device')
      const empty = await browser.request('POST', '/device', { form: { csrf_token: BrowserClient.formToken(page.html) } })
      assert.equal(empty.status, 400)
      assert.match(empty.html, /Enter the code your device shows/)
      assert.equal((await auditEvents(server, { action: 'device.user_code_refused', actor: person.id })).length, missesBefore + 6)
      clock.advance(started.expires_in * 1000)
      const expired = await enterCode(browser, started.user_code)
      assert.equal(expired.status, 400)
      assert.equal(await statusOf(server, started.user_code), 'pending')
    })

    test('posts without the CSRF token, from another site, duplicated or with a bad decision change nothing', async () => {
      const started = await startDevice(server, agent)
      const consent = await enterCode(browser, started.user_code)
      const fields = consentFields(consent.html)
      const noToken = await browser.request('POST', '/device/decision', { form: { user_code: started.user_code, text_digest: fields.text_digest!, decision: 'approve' } })
      assert.equal(noToken.status, 403)
      assertPage(noToken, 'decision without token')
      const crossSite = await browser.request('POST', '/device/decision', { form: { ...fields, decision: 'approve' }, headers: { 'sec-fetch-site': 'cross-site' } })
      assert.equal(crossSite.status, 403)
      const noTokenLookup = await browser.request('POST', '/device', { form: { user_code: started.user_code } })
      assert.equal(noTokenLookup.status, 403)
      const refused = await auditEvents(server, { action: 'device.form_refused' })
      assert.ok(refused.length >= 3)
      for (const [what, form] of [
        ['bad decision', { ...fields, decision: 'maybe' }],
        ['no decision', { ...fields }],
        ['duplicated decision', { ...fields, decision: ['approve', 'deny'] }],
        ['duplicated user code', { ...fields, user_code: [started.user_code, started.user_code], decision: 'approve' }],
        ['no user code', { csrf_token: fields.csrf_token!, text_digest: fields.text_digest!, decision: 'approve' }],
      ] as const) {
        const res = await browser.request('POST', '/device/decision', { form: form as Record<string, string | string[]> })
        assert.equal(res.status, 400, `${what}: ${res.html.slice(0, 200)}`)
        assertPage(res, what)
      }
      const page = await browser.get('/device')
      const duplicated = await browser.request('POST', '/device', { form: { csrf_token: BrowserClient.formToken(page.html), user_code: [started.user_code, started.user_code] } })
      assert.equal(duplicated.status, 400)
      assert.equal(await statusOf(server, started.user_code), 'pending')
    })

    test('GET /device with an unknown or repeated query parameter is a 400 page; a malformed code in the link is an error on the form', async () => {
      for (const query of ['?code=BCDF', '?user_code=BCDF-GHJK&user_code=BCDF-GHJK', '?user_code=%E0%A4%A']) {
        const res = await browser.get(`/device${query}`)
        assert.equal(res.status, 400, query)
        assertPage(res, `GET /device${query}`)
      }
      const malformed = await browser.get('/device?user_code=not-a-code!')
      assert.equal(malformed.status, 200)
      assert.match(malformed.html, /role="alert"[^>]*>The link does not hold a valid code/)
    })

    test('a signed-out post goes to sign-in and decides nothing', async () => {
      const started = await startDevice(server, agent)
      const stranger = new BrowserClient(server)
      const page = await stranger.get('/login')
      const res = await stranger.request('POST', '/device', { form: { csrf_token: BrowserClient.formToken(page.html), user_code: started.user_code } })
      assert.equal(res.status, 303)
      assert.equal(res.headers.get('location'), `${server.issuer}/login?return_to=%2Fdevice`)
      assert.equal(await statusOf(server, started.user_code), 'pending')
    })
  })
}
