import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeJwt } from 'jose'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { admin, auditEvents, basic, call, form, introspect, register, createRole, initialAccessToken, type RegisteredAgent } from '../support/client.js'
import { BrowserClient, createPerson } from '../support/browser-client.js'
import { decide, DEVICE_GRANT, deviceAgent, poll, startDevice } from '../support/device.js'
import { ManualClock } from '../../src/ports/clock.js'

for (const engine of await availableEngines()) {
  describe(`the device flow end to end over HTTP on ${engine}`, () => {
    let server: TestServer
    let clock: ManualClock
    let agent: RegisteredAgent & { role: string }
    let resourceServer: RegisteredAgent & { role: string }
    before(async () => {
      clock = new ManualClock(Date.now())
      server = await startTestServer(engine, { clock })
      agent = await deviceAgent(server)
      resourceServer = await deviceAgent(server, { role: { can_introspect: true } })
    })
    after(() => server.close())

    async function personAt(): Promise<{ person: { id: string; username: string; password: string }; browser: BrowserClient }> {
      const person = await createPerson(server)
      const browser = new BrowserClient(server)
      const signedIn = await browser.signIn(person.username, person.password)
      assert.equal(signedIn.status, 303)
      return { person, browser }
    }

    test('sign in, enter the code, approve, poll: the person’s tokens, once; a second exchange is invalid_grant', async () => {
      const { person, browser } = await personAt()
      const started = await startDevice(server, agent, { scope: 'read', resource: 'https://api.example.com/' })
      assert.equal((await poll(server, agent, started.device_code)).body.error, 'authorization_pending')
      const done = await decide(browser, started.user_code, 'approve')
      assert.equal(done.status, 200, done.html)
      clock.advance(started.interval * 1000)
      const tokens = await poll(server, agent, started.device_code)
      assert.equal(tokens.status, 200, tokens.text)
      assert.equal(tokens.headers.get('cache-control'), 'no-store')
      assert.equal(tokens.body.token_type, 'Bearer')
      assert.equal(tokens.body.scope, 'read')
      assert.match(String(tokens.body.refresh_token), /.{40,}/)
      const claims = decodeJwt(tokens.body.access_token as string)
      assert.equal(claims.sub, person.id)
      assert.equal(claims.client_id, agent.clientId)
      assert.equal(claims.actor_type, 'human')
      assert.equal(claims.aud, 'https://api.example.com/')
      const active = await introspect(server, resourceServer, tokens.body.access_token as string)
      assert.equal(active.body.active, true)

      clock.advance(started.interval * 1000)
      const again = await poll(server, agent, started.device_code)
      assert.equal(again.status, 400)
      assert.equal(again.body.error, 'invalid_grant')

      const [issued] = await auditEvents(server, { action: 'token.issued', actor: agent.clientId, limit: '1' })
      assert.equal(issued!.details.grant_type, DEVICE_GRANT)
      assert.match(String(issued!.details.device_authorization), /^dvc_/)

      // The refresh token rotates like any person's (the authorization piece's grant).
      const refreshed = await call(server, 'POST', '/token', {
        headers: { authorization: basic(agent.clientId, agent.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token as string }),
      })
      assert.equal(refreshed.status, 200, refreshed.text)
      assert.notEqual(refreshed.body.refresh_token, tokens.body.refresh_token)
    })

    test('parallel polls of an approved code yield tokens once', async () => {
      const { browser } = await personAt()
      const started = await startDevice(server, agent)
      await decide(browser, started.user_code, 'approve')
      clock.advance(60_000)
      const results = await Promise.all(Array.from({ length: 5 }, () => poll(server, agent, started.device_code)))
      assert.equal(results.filter((r) => r.status === 200).length, 1, JSON.stringify(results.map((r) => r.body.error ?? 'tokens')))
      assert.ok(results.filter((r) => r.status !== 200).every((r) => r.body.error === 'invalid_grant'))
    })

    test('a consent withdrawn between approval and the poll: access_denied, no tokens', async () => {
      const { person, browser } = await personAt()
      const started = await startDevice(server, agent, { scope: 'write' })
      await decide(browser, started.user_code, 'approve')
      const [approved] = await auditEvents(server, { action: 'device.approved', actor: person.id })
      await server.mandate.consents.withdraw(person.id, approved!.details.consent_id as string, { actorType: 'human', actorId: person.id, ip: null, requestId: null })
      const res = await poll(server, agent, started.device_code)
      assert.equal(res.status, 400)
      assert.equal(res.body.error, 'access_denied')
    })

    test('a person suspended between approval and the poll: access_denied', async () => {
      const { person, browser } = await personAt()
      const started = await startDevice(server, agent)
      await decide(browser, started.user_code, 'approve')
      const suspended = await admin(server, 'POST', `/users/${person.id}/suspend`, { reason: 'left' })
      assert.equal(suspended.status, 200, suspended.text)
      assert.equal((await poll(server, agent, started.device_code)).body.error, 'access_denied')
    })

    test('a public client (token_endpoint_auth_method none) names itself with client_id', async () => {
      const role = await createRole(server, { scopes: ['read'] })
      const reg = await register(server, await initialAccessToken(server, role), { token_endpoint_auth_method: 'none', grant_types: [DEVICE_GRANT], client_name: 'TV app' })
      assert.equal(reg.status, 201, reg.text)
      const clientId = reg.body.client_id as string
      const start = await call(server, 'POST', '/device_authorization', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ client_id: clientId }) })
      assert.equal(start.status, 200, start.text)
      const { browser } = await personAt()
      await decide(browser, start.body.user_code as string, 'approve')
      const tokens = await call(server, 'POST', '/token', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form({ grant_type: DEVICE_GRANT, client_id: clientId, device_code: start.body.device_code as string }),
      })
      assert.equal(tokens.status, 200, tokens.text)
      assert.equal(tokens.body.refresh_token, undefined, 'not registered for refresh_token')
    })
  })
}
