import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ManualClock } from '../../src/ports/clock.js'
import { availableEngines } from '../support/engines.js'
import { requireRedis } from '../support/redis.js'
import { uniquePrefix } from '../support/redis-tools.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents } from '../support/client.js'
import { BrowserClient, createPerson, type PageReply } from '../support/browser-client.js'

const MINUTE = 60_000

/** A browser whose requests come from `address` (through a trusted proxy's X-Forwarded-For). */
function from(server: TestServer, address: string) {
  const browser = new BrowserClient(server)
  const request = browser.request.bind(browser)
  browser.request = (method, path, init = {}) => request(method, path, { ...init, headers: { 'x-forwarded-for': address, ...init.headers } })
  return browser
}

async function attempt(server: TestServer, address: string, username: string, password: string): Promise<PageReply> {
  return from(server, address).signIn(username, password)
}

const redisUrl = await requireRedis()
const backends: Array<[string, Record<string, string>]> = [['buckets in the process', {}]]
if (redisUrl !== undefined) backends.push(['buckets in Redis', { MANDATE_REDIS: redisUrl, MANDATE_REDIS_PREFIX: uniquePrefix() }])

for (const [backend, env] of backends) {
  describe(`sign-in floods are throttled per account and per address (${backend})`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer('sqlite', {
        env: { ...env, MANDATE_TRUST_PROXY: '127.0.0.1', MANDATE_RATE_LIMIT_SIGNIN_ACCOUNT: '0.001:3', MANDATE_RATE_LIMIT_SIGNIN_ADDRESS: '0.001:5' },
      })
    })
    after(() => server.close())

    test('per account: after its burst, even the right password from a fresh address gets 429 with Retry-After, unchecked; other people still sign in', async () => {
      const victim = await createPerson(server)
      const bystander = await createPerson(server)
      for (let i = 0; i < 3; i++) assert.equal((await attempt(server, `198.51.100.${i + 1}`, victim.username, 'guess')).status, 403)
      const throttled = await attempt(server, '198.51.100.50', victim.username, victim.password)
      assert.equal(throttled.status, 429)
      assert.ok(Number(throttled.headers.get('retry-after')) >= 1)
      assert.match(throttled.html, /role="alert"[^>]*>Too many sign-in attempts\. Wait \d+ (seconds|minutes) and try again\./)
      assert.ok(!throttled.setCookies.some((c) => c.startsWith('mandate-session=')))
      assert.equal(throttled.headers.get('content-security-policy')?.includes("frame-ancestors 'none'"), true)
      // An unknown username is throttled exactly the same, so a 429 tells nobody that an account exists.
      const ghost = `ghost-${Date.now()}`
      for (let i = 0; i < 3; i++) assert.equal((await attempt(server, `198.51.100.${i + 10}`, ghost, 'guess')).status, 403)
      const ghostThrottled = await attempt(server, '198.51.100.51', ghost, 'guess')
      assert.equal(ghostThrottled.status, 429)
      assert.equal(ghostThrottled.html.replace(/\d+ (seconds|minutes)/, 'N').replace(/value="[^"]*"/g, ''), throttled.html.replace(/\d+ (seconds|minutes)/, 'N').replace(/value="[^"]*"/g, ''))
      assert.equal((await attempt(server, '198.51.100.50', bystander.username, bystander.password)).status, 303, 'another account signs in from the same address')
      // Only the 3 checked failures are audited one by one; the throttled attempt is tallied.
      const failures = (await auditEvents(server, { action: 'user.signin', outcome: 'failure' })).filter((e) => e.target === victim.id)
      assert.equal(failures.length, 3)
      assert.deepEqual(failures.map((e) => e.ip).sort(), ['198.51.100.1', '198.51.100.2', '198.51.100.3'])
      assert.equal((await auditEvents(server, { action: 'user.signin', actor: victim.id })).length, 0, 'the right password did not sign in')
      await server.mandate.rateLimits.flush()
      const [tally] = await auditEvents(server, { action: 'rate_limit.exceeded', target: victim.id })
      assert.equal(tally?.details.limit, 'signin_account')
      assert.equal(tally?.details.count, 1)
      assert.deepEqual(tally?.details.endpoints, { 'POST /login': 1 })
    })

    test('per address: failures on many accounts from one address are cut off; the same accounts sign in from elsewhere', async () => {
      const people = await Promise.all(Array.from({ length: 7 }, () => createPerson(server)))
      for (const p of people.slice(0, 5)) assert.equal((await attempt(server, '203.0.113.7', p.username, 'wrong')).status, 403)
      const cut = await attempt(server, '203.0.113.7', people[5]!.username, people[5]!.password)
      assert.equal(cut.status, 429, 'the right password is not even checked')
      assert.equal((await attempt(server, '203.0.113.8', people[5]!.username, people[5]!.password)).status, 303)
      assert.equal((await attempt(server, '203.0.113.8', people[0]!.username, people[0]!.password)).status, 303)
      await server.mandate.rateLimits.flush()
      const [tally] = await auditEvents(server, { action: 'rate_limit.exceeded', target: '203.0.113.7' })
      assert.equal(tally?.details.limit, 'signin_address')
    })

    test('successful sign-ins do not use up their address: many colleagues behind one address all get in', async () => {
      const colleagues = await Promise.all(Array.from({ length: 8 }, () => createPerson(server)))
      for (const c of colleagues) assert.equal((await attempt(server, '192.0.2.99', c.username, c.password)).status, 303)
    })

    test('concurrent guesses cannot slip past the bucket: 20 at once for one account check at most its burst', async () => {
      const target = await createPerson(server)
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(server, `198.51.100.${100 + i}`, target.username, `guess-${i}`)))
      assert.equal(results.filter((r) => r.status === 403).length, 3)
      assert.equal(results.filter((r) => r.status === 429).length, 17)
      const failures = (await auditEvents(server, { action: 'user.signin', outcome: 'failure' })).filter((e) => e.target === target.id)
      assert.equal(failures.length, 3, 'only the attempts let through were checked and audited')
    })
  })
}

for (const engine of await availableEngines()) {
  describe(`people's sessions time out on ${engine} (the server's clock is the test's)`, () => {
    let server: TestServer
    let clock: ManualClock
    before(async () => {
      clock = new ManualClock(Date.UTC(2026, 11, 7, 9, 0, 0))
      server = await startTestServer(engine, { clock, env: { MANDATE_USER_SESSION_IDLE_SECONDS: '600', MANDATE_USER_SESSION_MAX_SECONDS: '3600' } })
    })
    after(() => server.close())

    const signedIn = async (b: BrowserClient) => (await b.get('/account')).status === 200

    test('idle: activity keeps a session alive; 10 minutes without a request end it, audited as a timeout at its expiry', async () => {
      const person = await createPerson(server)
      const browser = new BrowserClient(server)
      assert.equal((await browser.signIn(person.username, person.password)).status, 303)
      for (let i = 0; i < 4; i++) {
        clock.advance(9 * MINUTE)
        assert.equal(await signedIn(browser), true, `active after ${(i + 1) * 9} minutes`)
      }
      clock.advance(9 * MINUTE + 59_000)
      assert.equal(await signedIn(browser), true, 'a second short of the idle timeout')
      clock.advance(15 * MINUTE)
      const gone = await browser.get('/account')
      assert.equal(gone.status, 303)
      assert.ok(gone.setCookies.some((c) => /^mandate-session=; .*Max-Age=0/.test(c)))
      const [ended] = await auditEvents(server, { action: 'user.session_ended' })
      assert.equal(ended?.reason, 'idle_timeout')
      assert.equal(ended?.actor_type, 'system')
      assert.equal(ended?.details.user, person.id)
      assert.equal(ended?.details.ended_at, clock.now() - 5 * MINUTE, 'ended when it expired, not when it was noticed')
    })

    test('absolute: however active, a session ends an hour after sign-in', async () => {
      const person = await createPerson(server)
      const browser = new BrowserClient(server)
      await browser.signIn(person.username, person.password)
      const start = clock.now()
      while (clock.now() - start < 60 * MINUTE - 5 * MINUTE) {
        clock.advance(5 * MINUTE)
        assert.equal(await signedIn(browser), true, `active after ${(clock.now() - start) / MINUTE} minutes`)
      }
      clock.advance(5 * MINUTE)
      assert.equal(await signedIn(browser), false)
      const ended = (await auditEvents(server, { action: 'user.session_ended' })).find((e) => e.details.user === person.id)
      assert.equal(ended?.reason, 'absolute_timeout')
      assert.equal(ended?.details.ended_at, start + 60 * MINUTE)
      // Signing in again starts a new session.
      assert.equal((await browser.signIn(person.username, person.password)).status, 303)
      assert.equal(await signedIn(browser), true)
    })

    test('the account page says when the session ends', async () => {
      const person = await createPerson(server)
      const browser = new BrowserClient(server)
      await browser.signIn(person.username, person.password)
      const page = await browser.get('/account')
      assert.match(page.html, /after 10 minutes without activity, and at the latest at <time datetime="([^"]+)">/)
      assert.match(page.html, new RegExp(new Date(clock.now() + 60 * MINUTE).toISOString().replace(/[.]/g, '\\.')))
    })
  })
}
