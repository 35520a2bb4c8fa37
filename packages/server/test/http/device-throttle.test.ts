import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines, type EngineName } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents } from '../support/client.js'
import { BrowserClient, createPerson } from '../support/browser-client.js'
import { deviceAgent, enterCode, startDevice } from '../support/device.js'
import { rawSql } from '../support/db-access.js'
import { requireRedis } from '../support/redis.js'
import { uniquePrefix } from '../support/redis-tools.js'

const redisUrl = await requireRedis()
const runs: Array<[EngineName, Record<string, string>]> = (await availableEngines()).map((engine) => [engine, {}])
// The same buckets shared through Redis (its Lua script gives tokens back as the memory buckets do).
if (redisUrl !== undefined) runs.push(['sqlite', { MANDATE_REDIS: redisUrl, MANDATE_REDIS_PREFIX: uniquePrefix() }])

/** RFC 8628 §5.1: user codes are guessable at scale, so typing them is throttled per person and per address. */
for (const [engine, env] of runs) {
  describe(`user codes typed too often on ${engine}${env.MANDATE_REDIS ? ' with buckets in Redis' : ''}`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine, { env: { ...env, MANDATE_RATE_LIMIT_USER_CODE_PERSON: '0.001:3', MANDATE_RATE_LIMIT_USER_CODE_ADDRESS: '0.001:5' } })
    })
    after(() => server.close())

    async function signedIn() {
      const person = await createPerson(server)
      const browser = new BrowserClient(server)
      await browser.signIn(person.username, person.password)
      return { person, browser }
    }

    test('per person: past the burst of misses even the right code waits (429, Retry-After) and nothing is decided; right codes never count', async () => {
      const agent = await deviceAgent(server)
      const started = await startDevice(server, agent)
      const a = await signedIn()
      for (let i = 0; i < 3; i++) assert.equal((await enterCode(a.browser, 'BCDF-BCDF')).status, 400)
      const held = await enterCode(a.browser, started.user_code)
      assert.equal(held.status, 429)
      assert.ok(Number(held.headers.get('retry-after')) >= 1)
      assert.match(held.html, /Too many codes that did not match/)
      const [row] = await rawSql(server, 'select status from device_codes where user_code = $1', [started.user_code.replace('-', '')])
      assert.equal(row!.status, 'pending')

      // Another person at the same address: codes typed right are given back, so five of them cost nothing.
      const b = await signedIn()
      for (let i = 0; i < 5; i++) assert.equal((await enterCode(b.browser, started.user_code)).status, 200, `right code ${i}`)
      // The address has 2 misses left (A's 3 spent it; A's refused attempt gave its token back).
      assert.equal((await enterCode(b.browser, 'BCDF-BCDF')).status, 400)
      assert.equal((await enterCode(b.browser, 'BCDF-BCDF')).status, 400)
      const byAddress = await enterCode(b.browser, 'BCDF-BCDF')
      assert.equal(byAddress.status, 429, 'the address is out of misses')
      const c = await signedIn()
      assert.equal((await enterCode(c.browser, started.user_code)).status, 429, 'for everyone at that address')

      await server.mandate.rateLimits.flush()
      const tallied = await auditEvents(server, { action: 'rate_limit.exceeded' })
      const limits = new Set(tallied.map((e) => e.details.limit))
      assert.ok(limits.has('user_code_person') && limits.has('user_code_address'), JSON.stringify([...limits]))
      const personTally = tallied.find((e) => e.details.limit === 'user_code_person')!
      assert.equal(personTally.target, a.person.id)
      assert.ok(!JSON.stringify(tallied).includes(started.user_code.replace('-', '')), 'no code in the tally')
    })
  })
}
