import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { admin, auditEvents, call } from '../support/client.js'
import { BrowserClient, createPerson, type PageReply } from '../support/browser-client.js'

const CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
const FORM = 'application/x-www-form-urlencoded'

/** What every page answer carries, whatever its status. */
function assertPageHeaders(res: PageReply, what: string) {
  assert.equal(res.headers.get('content-security-policy'), CSP, `${what}: CSP`)
  assert.equal(res.headers.get('x-frame-options'), 'DENY', `${what}: X-Frame-Options`)
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer', `${what}: Referrer-Policy`)
  assert.equal(res.headers.get('cache-control'), 'no-store', `${what}: Cache-Control`)
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`)
  if (res.html !== '') {
    assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/, `${what}: HTML`)
    assert.ok(!/<script|\sstyle=|\son[a-z]+=/i.test(res.html), `${what}: no script, inline style or handler`)
  }
}

async function signedIn(browser: BrowserClient): Promise<boolean> {
  const res = await browser.get('/account')
  return res.status === 200 && res.html.includes('Your account')
}

async function successes(server: TestServer, userId: string) {
  return (await auditEvents(server, { action: 'user.signin', actor: userId })).filter((e) => e.outcome === 'success').length
}

for (const engine of await availableEngines()) {
  describe(`sign-in pages on ${engine}`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine)
    })
    after(() => server.close())

    test('a person signs in through the form, gets a fresh HttpOnly session cookie and the account page; audited as human', async () => {
      const person = await createPerson(server, { display_name: 'Alice Example' })
      const browser = new BrowserClient(server)
      const page = await browser.get('/login')
      assert.equal(page.status, 200)
      assertPageHeaders(page, 'GET /login')
      assert.match(page.html, /<html lang="en">/)
      assert.match(page.html, /<label for="username">Username<\/label>\s*<input id="username" name="username"[^>]* autocomplete="username"/)
      assert.match(page.html, /<label for="password">Password<\/label>\s*<input id="password" name="password" type="password" autocomplete="current-password"/)
      assert.match(page.setCookies.join('\n'), /^mandate-csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/m)
      const res = await browser.request('POST', '/login', { form: { csrf_token: BrowserClient.formToken(page.html), username: person.username, password: person.password } })
      assert.equal(res.status, 303, res.html)
      assert.equal(res.headers.get('location'), `${server.issuer}/account`)
      assertPageHeaders(res, 'POST /login')
      const session = res.setCookies.find((c) => c.startsWith('mandate-session='))
      assert.match(session ?? '', /^mandate-session=mdu_[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200$/)
      assert.ok(!/Secure/.test(session!), 'no Secure flag on an http issuer')
      const account = await browser.get('/account')
      assert.equal(account.status, 200)
      assertPageHeaders(account, 'GET /account')
      assert.match(account.html, /Alice Example/)
      const [event] = await auditEvents(server, { action: 'user.signin', actor: person.id })
      assert.equal(event!.actor_type, 'human')
      assert.equal(event!.outcome, 'success')
      assert.match(event!.target ?? '', /^uss_/)
      assert.equal(event!.ip, '127.0.0.1')
      const stored = JSON.stringify(await auditEvents(server, {}))
      assert.ok(!stored.includes(person.password) && !stored.includes(browser.jar.get('mandate-session')!), 'neither the password nor the cookie is audited')
    })

    test('the stylesheet is served from the server and the pages use nothing else', async () => {
      const css = await call(server, 'GET', '/static/mandate.css')
      assert.equal(css.status, 200)
      assert.match(css.headers.get('content-type') ?? '', /^text\/css/)
      const page = await new BrowserClient(server).get('/login')
      const urls = [...page.html.matchAll(/(?:href|src|action)="([^"]+)"/g)].map((m) => m[1]!)
      for (const url of urls) assert.ok(url.startsWith(server.issuer + '/'), `${url} is on this server`)
    })

    test('a wrong password and an unknown username get the same answer, are audited with the address, and set no session', async () => {
      const person = await createPerson(server)
      const wrong = await new BrowserClient(server).signIn(person.username, 'not the password')
      const unknown = await new BrowserClient(server).signIn(`nobody-${Date.now()}`, 'not the password')
      for (const [what, res] of [['wrong password', wrong], ['unknown username', unknown]] as const) {
        assert.equal(res.status, 403, what)
        assertPageHeaders(res, what)
        assert.match(res.html, /<p class="alert" role="alert" id="signin-error">The username or password is not right\.<\/p>/, what)
        assert.match(res.html, /aria-invalid="true"/, what)
        assert.ok(!res.setCookies.some((c) => c.startsWith('mandate-session=')), `${what}: no session`)
        assert.ok(!res.html.includes('not the password'), `${what}: the password is not shown again`)
      }
      const failures = await auditEvents(server, { action: 'user.signin', outcome: 'failure' })
      const forPerson = failures.find((e) => e.target === person.id)
      assert.equal(forPerson?.reason, 'wrong password')
      assert.equal(forPerson?.ip, '127.0.0.1')
      assert.equal(forPerson?.actor_type, 'anonymous')
      assert.ok(failures.some((e) => e.reason === 'unknown username' && e.target === null))
      assert.ok(!JSON.stringify(failures).includes('not the password'), 'no password in the audit log')
    })

    test('usernames match after NFKC and case folding; the password is NFKC-normalised too', async () => {
      const person = await createPerson(server, { username: `Zoë-${Date.now()}`, password: 'ｆｕｌｌｗｉｄｔｈ pass' })
      const browser = new BrowserClient(server)
      const res = await browser.signIn(person.username.toUpperCase().normalize('NFD'), 'fullwidth pass')
      assert.equal(res.status, 303, res.html)
    })

    test('sign-in rotates the session: a cookie planted before it is not the one after, and the old session ends', async () => {
      const attacker = await createPerson(server)
      const victim = await createPerson(server)
      const browser = new BrowserClient(server)
      await browser.signIn(attacker.username, attacker.password)
      const planted = browser.jar.get('mandate-session')!
      // Signed in already, the browser posts the form again (a stale tab): the session is replaced.
      const token = BrowserClient.formToken((await browser.get('/account')).html)
      const res = await browser.request('POST', '/login', { form: { csrf_token: token, username: victim.username, password: victim.password } })
      assert.equal(res.status, 303)
      assert.notEqual(browser.jar.get('mandate-session'), planted)
      const replayed = await new BrowserClient(server).get('/account', { cookie: `mandate-session=${planted}` })
      assert.equal(replayed.status, 303, 'the planted session no longer works')
      const [ended] = await auditEvents(server, { action: 'user.session_ended', actor: attacker.id })
      assert.equal(ended?.reason, 'replaced')
      // A made-up cookie value is simply not a session.
      const forged = await new BrowserClient(server).get('/account', { cookie: `mandate-session=mdu_${'A'.repeat(43)}` })
      assert.equal(forged.status, 303)
    })

    test('POST /logout ends the session on the server: the old cookie opens nothing afterwards', async () => {
      const person = await createPerson(server)
      const browser = new BrowserClient(server)
      await browser.signIn(person.username, person.password)
      const cookie = browser.jar.get('mandate-session')!
      const out = await browser.signOut()
      assert.equal(out.status, 303)
      assert.equal(out.headers.get('location'), `${server.issuer}/login`)
      assert.ok(out.setCookies.some((c) => /^mandate-session=; .*Max-Age=0/.test(c)), 'the cookie is cleared')
      assert.equal(await signedIn(browser), false)
      const replayed = await new BrowserClient(server).get('/account', { cookie: `mandate-session=${cookie}` })
      assert.equal(replayed.status, 303)
      assert.equal(replayed.headers.get('location'), `${server.issuer}/login?return_to=%2Faccount`)
      assert.ok(replayed.setCookies.some((c) => /^mandate-session=; .*Max-Age=0/.test(c)), 'a dead session\'s cookie is cleared')
      const [event] = await auditEvents(server, { action: 'user.signout', actor: person.id })
      assert.equal(event!.actor_type, 'human')
      assert.equal(event!.reason, 'signed_out')
    })

    test('suspension ends a person\'s sessions at once and refuses their sign-in', async () => {
      const person = await createPerson(server)
      const browser = new BrowserClient(server)
      await browser.signIn(person.username, person.password)
      assert.equal(await signedIn(browser), true)
      assert.equal((await admin(server, 'POST', `/users/${person.id}/suspend`, { reason: 'left the company' })).status, 200)
      assert.equal(await signedIn(browser), false)
      const again = await new BrowserClient(server).signIn(person.username, person.password)
      assert.equal(again.status, 403)
      assert.match(again.html, /This account is suspended/)
      assert.ok(!again.setCookies.some((c) => c.startsWith('mandate-session=')))
      await admin(server, 'POST', `/users/${person.id}/resume`)
      assert.equal((await new BrowserClient(server).signIn(person.username, person.password)).status, 303)
    })

    describe('CSRF: a post without the right token, or from another site, is 403 and changes nothing', () => {
      let person: { id: string; username: string; password: string }
      before(async () => {
        person = await createPerson(server)
      })

      const attempts: Array<[string, (b: BrowserClient, token: string) => Promise<PageReply>]> = [
        ['no token', (b) => b.request('POST', '/login', { form: { username: '', password: '' } })],
        ['an empty token', (b) => b.request('POST', '/login', { form: { csrf_token: '', username: '', password: '' } })],
        ['a made-up token', (b) => b.request('POST', '/login', { form: { csrf_token: 'x'.repeat(43), username: '', password: '' } })],
        ['a 10,000-character token', (b) => b.request('POST', '/login', { form: { csrf_token: 'x'.repeat(10_000), username: '', password: '' } })],
        ['the token without its cookie', (b, token) => b.request('POST', '/login', { form: { csrf_token: token, username: '', password: '' }, headers: { cookie: '' } })],
        ['the token with another browser\'s cookie', (b, token) => b.request('POST', '/login', { form: { csrf_token: token, username: '', password: '' }, headers: { cookie: `mandate-csrf=${'B'.repeat(43)}` } })],
        ['the cookie sent twice (a planted copy)', (b, token) => b.request('POST', '/login', { form: { csrf_token: token, username: '', password: '' }, headers: { cookie: `${b.cookieHeader()!}; mandate-csrf=${'C'.repeat(43)}` } })],
        ['the token twice', (b, token) => b.request('POST', '/login', { form: { csrf_token: [token, token], username: '', password: '' } })],
        ['a cross-site Origin', (b, token) => b.request('POST', '/login', { form: { csrf_token: token, username: '', password: '' }, headers: { origin: 'https://evil.example' } })],
        ['Origin null from a sandboxed frame on another site', (b, token) => b.request('POST', '/login', { form: { csrf_token: token, username: '', password: '' }, headers: { origin: 'null', 'sec-fetch-site': 'cross-site' } })],
        ['Sec-Fetch-Site cross-site', (b, token) => b.request('POST', '/login', { form: { csrf_token: token, username: '', password: '' }, headers: { 'sec-fetch-site': 'cross-site' } })],
        ['Sec-Fetch-Site same-site (a sibling host)', (b, token) => b.request('POST', '/login', { form: { csrf_token: token, username: '', password: '' }, headers: { 'sec-fetch-site': 'same-site' } })],
      ]
      for (const [what, send] of attempts) {
        test(`${what}, with the right password`, async () => {
          const browser = new BrowserClient(server)
          const token = BrowserClient.formToken((await browser.get('/login')).html)
          const before_ = await successes(server, person.id)
          // The right credentials ride along: the refusal must not depend on them being wrong.
          const patched: typeof send = (b, t) => {
            const original = b.request.bind(b)
            return send(Object.assign(Object.create(b) as BrowserClient, {
              request: (m: string, p: string, init: Parameters<BrowserClient['request']>[2] = {}) =>
                original(m, p, { ...init, form: { ...init.form, username: person.username, password: person.password } }),
            }), t)
          }
          const res = await patched(browser, token)
          assert.ok(res.status === 403 || (what === 'the token twice' && res.status === 400), `${what}: ${res.status} ${res.html.slice(0, 200)}`)
          assertPageHeaders(res, what)
          assert.ok(!res.setCookies.some((c) => c.startsWith('mandate-session=')), `${what}: no session`)
          assert.equal(await successes(server, person.id), before_, `${what}: no successful sign-in`)
          assert.equal(await signedIn(browser), false)
        })
      }

      test('what browsers send on the pages\' own posts is accepted: Origin null (Referrer-Policy no-referrer) with Sec-Fetch-Site same-origin', async () => {
        const browser = new BrowserClient(server)
        const token = BrowserClient.formToken((await browser.get('/login')).html)
        const res = await browser.request('POST', '/login', {
          form: { csrf_token: token, username: person.username, password: person.password },
          headers: { origin: 'null', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate' },
        })
        assert.equal(res.status, 303, res.html)
      })

      test('a sign-out post without its token is refused and the session goes on', async () => {
        const browser = new BrowserClient(server)
        await browser.signIn(person.username, person.password)
        const inits: Array<Parameters<BrowserClient['request']>[2]> = [{ form: {} }, { form: { csrf_token: 'wrong' } }, { form: { csrf_token: BrowserClient.formToken((await browser.get('/account')).html) }, headers: { origin: 'https://evil.example' } }]
        for (const init of inits) {
          const res = await browser.request('POST', '/logout', init)
          assert.equal(res.status, 403)
          assert.equal(await signedIn(browser), true)
        }
        const refused = await auditEvents(server, { action: 'user.signout', outcome: 'failure' })
        assert.ok(refused.length >= 3)
        assert.equal(refused[0]!.details.check, 'csrf')
      })

      test('a form token from before sign-in is no good after it (the binding rotates)', async () => {
        const browser = new BrowserClient(server)
        const oldToken = BrowserClient.formToken((await browser.get('/login')).html)
        await browser.signIn(person.username, person.password)
        const res = await browser.request('POST', '/logout', { form: { csrf_token: oldToken } })
        assert.equal(res.status, 403)
        assert.equal(await signedIn(browser), true)
      })
    })

    describe('return_to is only ever a path on this server', () => {
      const hostile = [
        '//evil.example/', '/\\evil.example', '/\\/evil.example', 'https://evil.example/', 'http:/evil.example', 'javascript:alert(1)', '/%0d%0aSet-Cookie:x=y',
        '/ok\r\nLocation: https://evil.example', '/ok\u0000', '/tab\there', '/.//evil.example', '/a#frag', 'evil.example', '/ünïcode', `/${'a'.repeat(5000)}`,
      ]
      for (const raw of hostile) {
        test(`${JSON.stringify(raw.slice(0, 40))} is refused on GET and POST, and nobody is sent anywhere`, async () => {
          const person = await createPerson(server)
          const browser = new BrowserClient(server)
          const get = await browser.get(`/login?return_to=${encodeURIComponent(raw)}`)
          if (raw !== '/%0d%0aSet-Cookie:x=y') {
            assert.equal(get.status, 400, `GET: ${get.status}`)
            assertPageHeaders(get, 'GET with a hostile return_to')
          }
          assert.equal(get.headers.get('location'), null)
          const token = BrowserClient.formToken((await browser.get('/login')).html)
          const post = await browser.request('POST', '/login', { form: { csrf_token: token, username: person.username, password: person.password, return_to: raw } })
          const location = post.headers.get('location')
          if (location !== null) assert.ok(location.startsWith(`${server.issuer}/`) && !location.slice(server.issuer.length).startsWith('//'), `redirected to ${location}`)
          if (raw !== '/%0d%0aSet-Cookie:x=y') {
            assert.equal(post.status, 400)
            assert.equal(await successes(server, person.id), 0, 'a refused post signs nobody in')
          }
          assert.ok(!post.setCookies.some((c) => c.startsWith('x=')))
        })
      }

      test('a path on this server is where sign-in leads, query included', async () => {
        const person = await createPerson(server)
        const browser = new BrowserClient(server)
        const page = await browser.get('/login?return_to=%2Faccount%3Ffrom%3Dtest')
        assert.match(page.html, /<input type="hidden" name="return_to" value="\/account\?from=test">/)
        const res = await browser.request('POST', '/login', { form: { csrf_token: BrowserClient.formToken(page.html), username: person.username, password: person.password, return_to: '/account?from=test' } })
        assert.equal(res.status, 303)
        assert.equal(res.headers.get('location'), `${server.issuer}/account?from=test`)
        // Already signed in: the sign-in page sends the person straight on.
        const again = await browser.get('/login?return_to=%2Faccount')
        assert.equal(again.status, 303)
        assert.equal(again.headers.get('location'), `${server.issuer}/account`)
      })
    })

    describe('malformed, missing, repeated and oversized form input: a clear error, nobody signed in', () => {
      let person: { id: string; username: string; password: string }
      before(async () => {
        person = await createPerson(server)
      })
      const cases: Array<[string, number, (token: string, p: { username: string; password: string }) => { body: string | Buffer; contentType?: string }]> = [
        ['username missing', 400, (t, p) => ({ body: new URLSearchParams({ csrf_token: t, password: p.password }).toString() })],
        ['password missing', 400, (t, p) => ({ body: new URLSearchParams({ csrf_token: t, username: p.username }).toString() })],
        ['username repeated', 400, (t, p) => ({ body: `csrf_token=${t}&username=${encodeURIComponent(p.username)}&username=other&password=${encodeURIComponent(p.password)}` })],
        ['password repeated', 400, (t, p) => ({ body: `csrf_token=${t}&username=${encodeURIComponent(p.username)}&password=x&password=${encodeURIComponent(p.password)}` })],
        ['a JSON body', 400, (t, p) => ({ body: JSON.stringify({ csrf_token: t, ...p }), contentType: 'application/json' })],
        ['a text/plain body', 400, (t, p) => ({ body: `csrf_token=${t}&username=${p.username}&password=${p.password}`, contentType: 'text/plain' })],
        ['invalid UTF-8 in the password', 400, (t, p) => ({ body: Buffer.concat([Buffer.from(`csrf_token=${t}&username=${encodeURIComponent(p.username)}&password=`), Buffer.from([0xc3, 0x28])]) })],
        ['a broken percent-escape', 400, (t, p) => ({ body: `csrf_token=${t}&username=${encodeURIComponent(p.username)}&password=%ZZ` })],
        ['U+0000 in the username', 400, (t, p) => ({ body: `csrf_token=${t}&username=${encodeURIComponent(p.username)}%00&password=${encodeURIComponent(p.password)}` })],
        ['a charset other than UTF-8', 400, (t, p) => ({ body: `csrf_token=${t}&username=${p.username}&password=${p.password}`, contentType: `${FORM}; charset=ISO-8859-1` })],
        ['a 1 MiB body', 413, (t, p) => ({ body: `csrf_token=${t}&username=${p.username}&password=${'p'.repeat(1024 * 1024)}` })],
        ['a 10,000-character username', 403, (t, p) => ({ body: `csrf_token=${t}&username=${'u'.repeat(10_000)}&password=${encodeURIComponent(p.password)}` })],
        ['a 10,000-character password', 403, (t, p) => ({ body: `csrf_token=${t}&username=${encodeURIComponent(p.username)}&password=${encodeURIComponent(p.password)}${'p'.repeat(10_000)}` })],
      ]
      for (const [what, status, build] of cases) {
        test(`${what} → ${status}`, async () => {
          const browser = new BrowserClient(server)
          const token = BrowserClient.formToken((await browser.get('/login')).html)
          const { body, contentType } = build(token, person)
          const res = await browser.request('POST', '/login', { body: body as string, headers: { 'content-type': contentType ?? FORM } })
          assert.equal(res.status, status, `${what}: ${res.html.slice(0, 300)}`)
          assertPageHeaders(res, what)
          assert.ok(res.html.includes('role="alert"'), `${what}: the error is announced`)
          assert.ok(!res.setCookies.some((c) => c.startsWith('mandate-session=')))
          assert.equal(await successes(server, person.id), 0)
        })
      }

      test('GET /login and /account refuse unknown or repeated query parameters as a page', async () => {
        for (const path of ['/login?bogus=1', '/login?return_to=%2Fa&return_to=%2Fb', '/login?return_to=%C3%28', '/account?x=1']) {
          const res = await new BrowserClient(server).get(path)
          assert.equal(res.status, 400, path)
          assertPageHeaders(res, path)
        }
      })

      test('the pages answer only their methods', async () => {
        const res = await call(server, 'PUT', '/login')
        assert.equal(res.status, 405)
        assert.match(res.headers.get('allow') ?? '', /GET/)
      })
    })

    test('hostile names are escaped wherever a page shows them', async () => {
      const hostileName = '"><svg/onload=alert(1)>'
      const person = await createPerson(server, { username: `${hostileName}${Date.now()}`, display_name: '<script>alert("x")</script> & \'quotes\'' })
      const browser = new BrowserClient(server)
      const failed = await browser.signIn(person.username, 'wrong password!')
      assert.equal(failed.status, 403)
      assert.ok(!failed.html.includes('<svg'), 'the username is not markup')
      assert.ok(failed.html.includes('value="&quot;&gt;&lt;svg/onload=alert(1)&gt;'), 'it is shown back, escaped')
      await browser.signIn(person.username, person.password)
      const account = await browser.get('/account')
      assert.equal(account.status, 200)
      assert.ok(!account.html.includes('<script'))
      assert.ok(account.html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;'))
      assert.ok(account.html.includes('&quot;&gt;&lt;svg/onload=alert(1)&gt;'))
    })

    test('an https issuer gets __Host- cookies with Secure', async () => {
      const secure = await startTestServer(engine, { env: { MANDATE_ISSUER: 'https://auth.example.test' } })
      try {
        const browser = new BrowserClient(secure)
        const page = await browser.get('/login')
        assert.match(page.setCookies.join('\n'), /^__Host-mandate-csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure$/m)
        const person = await createPerson(secure)
        const res = await browser.request('POST', '/login', {
          form: { csrf_token: BrowserClient.formToken(page.html), username: person.username, password: person.password },
          headers: { origin: 'https://auth.example.test', 'sec-fetch-site': 'same-origin' },
        })
        assert.equal(res.status, 303, res.html)
        assert.equal(res.headers.get('location'), 'https://auth.example.test/account')
        assert.match(res.setCookies.join('\n'), /^__Host-mandate-session=mdu_[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=43200$/m)
        // A cookie without the prefix is not the session cookie.
        const session = browser.jar.get('__Host-mandate-session')!
        assert.equal((await browser.get('/account', { cookie: `mandate-session=${session}` })).status, 303)
        assert.equal((await browser.get('/account', { cookie: `__Host-mandate-session=${session}` })).status, 200)
      } finally {
        await secure.close()
      }
    })

    test('the audit chain verifies after all of this', async () => {
      const res = await admin(server, 'GET', '/audit/verify')
      assert.equal(res.body.ok, true, res.text)
    })
  })
}
