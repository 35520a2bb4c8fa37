import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeJwt } from 'jose'
import { availableEngines } from '../support/engines.js'
import { startPeerNode, startTestServer, type TestServer } from '../support/server.js'
import { ManualClock } from '../../src/ports/clock.js'
import { admin, auditEvents, basic, call, introspect, type Reply } from '../support/client.js'
import type { BrowserClient } from '../support/browser-client.js'
import { decide, deviceAgent, poll, startDevice } from '../support/device.js'
import {
  authorizeAndApprove, authorizeParams, authorizePath, codeClient, exchangeCode, pkce, refresh, signedInPerson, tokensForPerson, type CodeClient,
} from '../support/authorization.js'

type Tokens = Record<string, string>

/** A code for the signed-in person, not yet exchanged. */
async function unusedCode(browser: BrowserClient, client: CodeClient) {
  const { verifier, challenge } = pkce()
  const back = await authorizeAndApprove(browser, authorizePath(authorizeParams(client, challenge)))
  const code = back.searchParams.get('code')
  assert.ok(code, back.href)
  return { code, verifier }
}

function tokensFrom(res: Reply): Tokens {
  assert.equal(res.status, 200, res.text)
  return res.body as Tokens
}

const userinfo = (server: TestServer, token: string) => call(server, 'GET', '/userinfo', { headers: { authorization: `Bearer ${token}` } })
const suspend = (server: TestServer, id: string) => admin(server, 'POST', `/users/${id}/suspend`, { reason: 'account compromised' })

for (const engine of await availableEngines()) {
  describe(`suspending a person ends their grants on ${engine}`, () => {
    let server: TestServer
    let client: CodeClient
    let observer: CodeClient
    const active = async (token: string) => (await introspect(server, { clientId: observer.clientId, clientSecret: observer.clientSecret! }, token)).body.active
    before(async () => {
      server = await startTestServer(engine)
      client = await codeClient(server)
      observer = await codeClient(server, { role: { can_introspect: true }, metadata: { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] } })
    })
    after(() => server.close())

    test('every grant ends at once: tokens inactive, refresh invalid_grant, userinfo refused, on the feed, audited; resuming revives nothing', async () => {
      const { browser, person, tokens: first } = await tokensForPerson(server, client)
      const again = await unusedCode(browser, client)
      const second = tokensFrom(await exchangeCode(server, client, again.code, again.verifier))
      const pending = await unusedCode(browser, client)
      const bystander = (await tokensForPerson(server, client)).tokens
      // Before: live, and refresh works.
      assert.equal(await active(String(first.access_token)), true)
      const renewed = tokensFrom(await refresh(server, client, String(first.refresh_token)))
      assert.equal(await active(renewed.access_token!), true)
      assert.equal((await userinfo(server, renewed.access_token!)).status, 200)
      const grants = [String(decodeJwt(renewed.access_token!).sid), String(decodeJwt(second.access_token!).sid)]
      assert.notEqual(grants[0], grants[1])
      const feedBefore = (await call(server, 'GET', '/revocations', { headers: { authorization: basic(observer.clientId, observer.clientSecret!) } })).body.next_cursor as string

      const suspended = await suspend(server, person.id)
      assert.equal(suspended.status, 200, suspended.text)

      // Already over when the suspension answered: no wait for a cache or an expiry.
      const dead = async () => {
        for (const token of [String(first.access_token), renewed.access_token!, second.access_token!]) assert.equal(await active(token), false)
        for (const token of [renewed.refresh_token!, second.refresh_token!]) {
          const res = await refresh(server, client, token)
          assert.equal(res.status, 400, res.text)
          assert.equal(res.body.error, 'invalid_grant')
        }
        const info = await userinfo(server, renewed.access_token!)
        assert.equal(info.status, 401, info.text)
        assert.match(info.headers.get('www-authenticate') ?? '', /error="invalid_token"/)
      }
      await dead()
      assert.equal(await active(String(bystander.access_token)), true, 'another person\'s grant stays')
      const feed = await call(server, 'GET', `/revocations?since=${feedBefore}`, { headers: { authorization: basic(observer.clientId, observer.clientSecret!) } })
      assert.equal(feed.status, 200, feed.text)
      const listed = (feed.body.revocations as Array<{ type: string; value: string }>).filter((r) => r.type === 'session').map((r) => r.value)
      assert.deepEqual(listed.sort(), [...grants].sort())
      const [suspendedEvent] = await auditEvents(server, { action: 'user.suspended', target: person.id })
      for (const grant of grants) {
        const [ended] = await auditEvents(server, { action: 'grant.ended', target: grant })
        assert.equal(ended?.reason, 'user_suspended')
        assert.equal(ended?.actor_type, suspendedEvent?.actor_type, 'audited as the operator who suspended')
        assert.equal(ended?.actor_id, suspendedEvent?.actor_id)
      }
      // An unused code of theirs yields nothing now.
      const late = await exchangeCode(server, client, pending.code, pending.verifier)
      assert.equal(late.status, 400, late.text)
      assert.equal(late.body.error, 'invalid_grant')
      // Suspending again changes nothing and ends nothing twice.
      assert.equal((await suspend(server, person.id)).status, 409)
      for (const grant of grants) assert.equal((await auditEvents(server, { action: 'grant.ended', target: grant })).length, 1)

      const resumed = await admin(server, 'POST', `/users/${person.id}/resume`)
      assert.equal(resumed.status, 200, resumed.text)
      await dead()
    })

    test('a code issued before the suspension and exchanged after the resume yields nothing', async () => {
      const { browser, person } = await signedInPerson(server)
      const pending = await unusedCode(browser, client)
      assert.equal((await suspend(server, person.id)).status, 200)
      assert.equal((await admin(server, 'POST', `/users/${person.id}/resume`)).status, 200)
      const res = await exchangeCode(server, client, pending.code, pending.verifier)
      assert.equal(res.status, 400, res.text)
      assert.equal(res.body.error, 'invalid_grant')
    })

    test('a device approval given before the suspension yields nothing, during it or after the resume', async () => {
      const agent = await deviceAgent(server)
      const { browser, person } = await signedInPerson(server)
      const duringStart = await startDevice(server, agent)
      const afterStart = await startDevice(server, agent)
      await decide(browser, duringStart.user_code, 'approve')
      await decide(browser, afterStart.user_code, 'approve')
      assert.equal((await suspend(server, person.id)).status, 200)
      assert.equal((await poll(server, agent, duringStart.device_code)).body.error, 'access_denied')
      assert.equal((await admin(server, 'POST', `/users/${person.id}/resume`)).status, 200)
      const res = await poll(server, agent, afterStart.device_code)
      assert.equal(res.status, 400, res.text)
      assert.equal(res.body.access_token, undefined)
    })
  })
}

if ((await availableEngines()).includes('postgres')) {
  describe('suspending a person on one node refuses their tokens on another at once', () => {
    let a: TestServer
    let b: TestServer
    // B's clock stands still: its caches never expire, so only the change notice can end the grant there.
    const bClock = new ManualClock(Date.now())
    before(async () => {
      a = await startTestServer('postgres')
      b = await startPeerNode(a, { clock: bClock })
    })
    after(async () => {
      await b.close()
      await a.close()
    })

    test('introspection and /userinfo on the other node refuse the token right after the suspension', async () => {
      const client = await codeClient(a)
      const observer = await codeClient(a, { role: { can_introspect: true }, metadata: { grant_types: ['client_credentials'], response_types: [], redirect_uris: [] } })
      const { person, tokens } = await tokensForPerson(a, client)
      const token = String(tokens.access_token)
      bClock.set(Date.now())
      const activeOnB = async () => (await introspect(b, { clientId: observer.clientId, clientSecret: observer.clientSecret! }, token)).body.active === true
      assert.equal(await activeOnB(), true, 'B has the grant cached as live')
      assert.equal((await userinfo(b, token)).status, 200)
      assert.equal((await suspend(a, person.id)).status, 200)
      const start = Date.now()
      while (await activeOnB()) {
        if (Date.now() - start > 2000) assert.fail('B still takes the token 2 s after the suspension')
        await new Promise((r) => setTimeout(r, 20))
      }
      assert.equal((await userinfo(b, token)).status, 401)
    })
  })
}
