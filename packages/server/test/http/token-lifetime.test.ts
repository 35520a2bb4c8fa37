import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeJwt } from 'jose'
import { ManualClock } from '../../src/ports/clock.js'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { accessToken, admin, basic, call, introspect, registeredAgent, tokenRequest, type RegisteredAgent } from '../support/client.js'
import { complete, refresh, startedSession } from '../support/sessions.js'

/** A whole second, as Unix ms. */
const SECOND = Date.UTC(2026, 11, 4, 22, 0, 0)
/** The server's longest token lifetime (config maxTokenTtlSeconds). */
const MAX_TOKEN_TTL_SECONDS = 86_400

/**
 * RFC 6749 §5.1: expires_in is "the lifetime in seconds of the access token" from when the
 * response was generated, so the JWT's exp (whole seconds) must not come sooner. A token issued
 * late in a second used to get exp = floor(now) + ttl: a one-second token issued at .999 was
 * dead a millisecond later, while the client was told it had a second.
 */
for (const engine of await availableEngines()) {
  describe(`access token lifetime on ${engine}`, () => {
    let server: TestServer
    let clock: ManualClock
    let resourceServer: RegisteredAgent
    const active = async (token: string) => (await introspect(server, resourceServer, token)).body.active as boolean

    before(async () => {
      clock = new ManualClock(SECOND)
      server = await startTestServer(engine, { clock })
      resourceServer = await registeredAgent(server, { role: { scopes: ['introspect'], can_introspect: true } })
    })
    after(() => server.close())

    test('a one-second token issued late in a second lives a whole second, as expires_in says', async () => {
      const agent = await registeredAgent(server, { role: { token_ttl_seconds: 1 } })
      clock.set(SECOND + 10_999)
      const res = await tokenRequest(server, agent)
      assert.equal(res.status, 200, res.text)
      assert.equal(res.body.expires_in, 1)
      const token = res.body.access_token as string
      const { iat, exp } = decodeJwt(token)
      assert.equal(iat, (SECOND + 10_000) / 1000, 'iat is the second it was issued in')
      assert.ok(exp! * 1000 >= clock.now() + 1000, `exp ${exp} is a second after issuance at the earliest`)

      clock.advance(999)
      assert.equal(await active(token), true, 'still active just before expires_in runs out')
      clock.advance(1001)
      assert.equal(await active(token), false, 'expired once exp has passed')
    })

    test('a token issued on a whole second gets exactly its TTL', async () => {
      const agent = await registeredAgent(server, { role: { token_ttl_seconds: 60 } })
      clock.set(SECOND + 20_000)
      const res = await tokenRequest(server, agent)
      assert.equal(res.body.expires_in, 60)
      const { iat, exp } = decodeJwt(res.body.access_token as string)
      assert.equal(exp, iat! + 60)
    })

    test("a session's tokens, from POST /sessions and from renewals, live as long as expires_in says", async () => {
      const agent = await registeredAgent(server, { role: { token_ttl_seconds: 1 } })
      clock.set(SECOND + 30_900)
      const s = await startedSession(server, agent, { heartbeat_interval_seconds: 60 })
      assert.equal(s.expires_in, 1)
      assert.ok(decodeJwt(s.access_token).exp! * 1000 >= clock.now() + 1000)
      clock.advance(950)
      assert.equal(await active(s.access_token), true)

      const renewed = await refresh(server, agent, s.refresh_token)
      assert.equal(renewed.status, 200, renewed.text)
      assert.equal(renewed.body.expires_in, 1)
      const next = renewed.body.access_token as string
      assert.ok(decodeJwt(next).exp! * 1000 >= clock.now() + 1000)
      clock.advance(990)
      assert.equal(await active(next), true)
      assert.equal((await complete(server, agent, s.session_id)).status, 200)
    })

    test("a token capped by its session's end says what it really has left", async () => {
      const agent = await registeredAgent(server, { role: { token_ttl_seconds: 300 } })
      clock.set(SECOND + 40_500)
      const s = await startedSession(server, agent, { duration: 100 })
      // The session ends at …40.5 + 100 s; the token may not outlive it, so exp is rounded down there.
      const { exp } = decodeJwt(s.access_token)
      assert.equal(exp, s.max_expires_at)
      assert.ok(exp! * 1000 <= clock.now() + 100_000)
      assert.equal(s.expires_in, 99, 'the 99.5 s left, in whole seconds, not 100')
    })

    test('revocations stay in the feed for as long as any token they revoke is valid', async () => {
      // The longest-lived tokens there are, issued late in a second, then their agent suspended and
      // a session ended at that same moment.
      const agent = await registeredAgent(server, { role: { token_ttl_seconds: MAX_TOKEN_TTL_SECONDS } })
      clock.set(SECOND + 50_700)
      const token = await accessToken(server, agent)
      const s = await startedSession(server, agent, { heartbeat_interval_seconds: 3600 })
      const exp = Math.max(decodeJwt(token).exp!, decodeJwt(s.access_token).exp!)
      assert.equal((await complete(server, agent, s.session_id)).status, 200)
      assert.equal((await admin(server, 'POST', `/agents/${agent.clientId}/suspend`, { reason: 'drill' })).status, 200)

      // A verifier starting a millisecond before the tokens expire still learns of both.
      clock.set(exp * 1000 - 1)
      const res = await call(server, 'GET', '/revocations?limit=1000', { headers: { authorization: basic(resourceServer.clientId, resourceServer.clientSecret) } })
      assert.equal(res.status, 200, res.text)
      const live = res.body.revocations as { type: string; value: string; until: number }[]
      const forAgent = live.find((r) => r.type === 'agent' && r.value === agent.clientId)
      const forSession = live.find((r) => r.type === 'session' && r.value === s.session_id)
      assert.ok(forAgent, 'the suspension is still in force')
      assert.ok(forSession, 'the session end is still in force')
      assert.ok(forAgent.until >= exp && forSession.until >= exp)
    })
  })
}
