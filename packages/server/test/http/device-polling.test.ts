import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents, call, type RegisteredAgent } from '../support/client.js'
import { BrowserClient, createPerson } from '../support/browser-client.js'
import { decide, DEVICE_GRANT, deviceAgent, poll, startDevice } from '../support/device.js'
import { ManualClock } from '../../src/ports/clock.js'

for (const engine of await availableEngines()) {
  describe(`device code polling (RFC 8628 §3.4–3.5) on ${engine}`, () => {
    let server: TestServer
    let clock: ManualClock
    let agent: RegisteredAgent & { role: string }
    let person: { id: string; username: string; password: string }
    before(async () => {
      clock = new ManualClock(Date.now())
      server = await startTestServer(engine, { clock })
      agent = await deviceAgent(server)
      person = await createPerson(server)
    })
    after(() => server.close())

    test('a client polling at exactly the advertised interval is never slowed down, and pending polls are not audited as refusals', async () => {
      const started = await startDevice(server, agent)
      const refusalsBefore = (await auditEvents(server, { action: 'token.refused', actor: agent.clientId })).length
      for (let i = 0; i < 12; i++) {
        const res = await poll(server, agent, started.device_code)
        assert.equal(res.status, 400)
        assert.equal(res.body.error, 'authorization_pending', `poll ${i}`)
        assert.equal(res.headers.get('cache-control'), 'no-store')
        clock.advance(started.interval * 1000)
      }
      assert.equal((await auditEvents(server, { action: 'token.refused', actor: agent.clientId })).length, refusalsBefore)
    })

    test('a poll a little early (clock jitter, within a fifth of the interval) is still pending, not slow_down', async () => {
      const started = await startDevice(server, agent)
      assert.equal((await poll(server, agent, started.device_code)).body.error, 'authorization_pending')
      for (const early of [1, 250, 999]) {
        clock.advance(started.interval * 1000 - early)
        assert.equal((await poll(server, agent, started.device_code)).body.error, 'authorization_pending', `${early} ms early`)
      }
    })

    test('polling faster is slow_down, the interval grows by 5 s each time, and the grown interval is then enough', async () => {
      const started = await startDevice(server, agent)
      assert.equal((await poll(server, agent, started.device_code)).body.error, 'authorization_pending')
      clock.advance(3000)
      const fast = await poll(server, agent, started.device_code)
      assert.equal(fast.status, 400)
      assert.equal(fast.body.error, 'slow_down')
      assert.match(String(fast.body.error_description), /10 seconds/)
      clock.advance(5000)
      const stillFast = await poll(server, agent, started.device_code)
      assert.equal(stillFast.body.error, 'slow_down', 'the old 5 s interval is no longer enough')
      assert.match(String(stillFast.body.error_description), /15 seconds/)
      clock.advance(15_000)
      assert.equal((await poll(server, agent, started.device_code)).body.error, 'authorization_pending')
      clock.advance(15_000)
      assert.equal((await poll(server, agent, started.device_code)).body.error, 'authorization_pending')
      const [refused] = await auditEvents(server, { action: 'token.refused', actor: agent.clientId, limit: '1' })
      assert.match(refused!.reason ?? '', /^slow_down/, 'a client polling too fast is audited')
    })

    test('an expired device code is expired_token, from then on', async () => {
      const started = await startDevice(server, agent)
      clock.advance(started.expires_in * 1000)
      assert.equal((await poll(server, agent, started.device_code)).body.error, 'expired_token')
      clock.advance(60_000)
      assert.equal((await poll(server, agent, started.device_code)).body.error, 'expired_token')
    })

    test('a denied request is access_denied at the next poll and every one after', async () => {
      const started = await startDevice(server, agent)
      const browser = new BrowserClient(server)
      await browser.signIn(person.username, person.password)
      const done = await decide(browser, started.user_code, 'deny')
      assert.equal(done.status, 200, done.html)
      for (let i = 0; i < 2; i++) {
        clock.advance(5000)
        const res = await poll(server, agent, started.device_code)
        assert.equal(res.status, 400)
        assert.equal(res.body.error, 'access_denied')
      }
    })

    test('unknown, foreign, missing, duplicated and oversized device codes', async () => {
      const started = await startDevice(server, agent)
      const other = await deviceAgent(server)
      const cases: Array<[string, Record<string, string | string[]>, string]> = [
        ['unknown', { device_code: 'mdd_' + 'A'.repeat(43) }, 'invalid_grant'],
        ['oversized', { device_code: 'A'.repeat(5000) }, 'invalid_grant'],
        ['duplicated', { device_code: [started.device_code, started.device_code] }, 'invalid_request'],
      ]
      for (const [what, params, error] of cases) {
        const res = await call(server, 'POST', '/token', {
          headers: { authorization: 'Basic ' + Buffer.from(`${agent.clientId}:${agent.clientSecret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams([['grant_type', DEVICE_GRANT], ...Object.entries(params).flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => [k, x] as [string, string]))]).toString(),
        })
        assert.equal(res.status, 400, what)
        assert.equal(res.body.error, error, what)
      }
      const missing = await call(server, 'POST', '/token', {
        headers: { authorization: 'Basic ' + Buffer.from(`${agent.clientId}:${agent.clientSecret}`).toString('base64'), 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=${encodeURIComponent(DEVICE_GRANT)}`,
      })
      assert.equal(missing.body.error, 'invalid_request')
      // RFC 8628 §3.4: the device code belongs to the client it was issued to.
      const foreign = await poll(server, other, started.device_code)
      assert.equal(foreign.body.error, 'invalid_grant')
      assert.equal((await poll(server, agent, started.device_code)).body.error, 'authorization_pending', 'the foreign poll changed nothing')
    })
  })
}
