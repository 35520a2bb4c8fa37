import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { accessToken, admin, auditEvents, call, form, registeredAgent, type Reply } from '../support/client.js'
import { clientAuth, codeClient, tokensForPerson, type CodeClient } from '../support/authorization.js'
import { ManualClock } from '../../src/ports/clock.js'

const FORM = 'application/x-www-form-urlencoded'

function userinfo(server: TestServer, method: 'GET' | 'POST', init: { authorization?: string; body?: string; query?: string; contentType?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (init.authorization !== undefined) headers.authorization = init.authorization
  if (init.body !== undefined) headers['content-type'] = init.contentType ?? FORM
  return call(server, method, `/userinfo${init.query ?? ''}`, { headers, body: init.body })
}

/** RFC 6750 §3: the status, the error code in the body and in the Bearer challenge, never cached. */
function assertBearerError(res: Reply, status: number, error: string) {
  assert.equal(res.status, status, res.text)
  assert.equal(res.body.error, error, res.text)
  assert.equal(typeof res.body.error_description, 'string')
  assert.equal(res.headers.get('cache-control'), 'no-store')
  const challenge = res.headers.get('www-authenticate') ?? ''
  assert.match(challenge, /^Bearer realm="mandate"/, `challenge: ${challenge}`)
  assert.ok(challenge.includes(`error="${error}"`), `challenge names ${error}: ${challenge}`)
}

/** §3.1: a request with no credential gets a bare challenge, without an error code. */
function assertBareChallenge(res: Reply) {
  assert.equal(res.status, 401, res.text)
  assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="mandate"')
  assert.equal(res.headers.get('cache-control'), 'no-store')
}

/** Through node:http: fetch will not send a header over the server's 16 KB limit the way a client might. */
function rawGet(server: TestServer, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(server.url)
  return new Promise((resolve, reject) => {
    const r = http.request({ host: url.hostname, port: url.port, method: 'GET', path: '/userinfo', headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }))
    })
    r.on('error', reject)
    r.end()
  })
}

for (const engine of await availableEngines()) {
  describe(`GET|POST /userinfo refusals on ${engine}`, () => {
    let server: TestServer
    let agentToken: string
    before(async () => {
      server = await startTestServer(engine)
      // An agent's own token (client_credentials), even one whose role calls a scope "openid".
      const agent = await registeredAgent(server, { role: { scopes: ['openid', 'read'] } })
      agentToken = await accessToken(server, agent, { scope: 'openid read' })
    })
    after(() => server.close())

    test('no credential: 401 with a bare Bearer challenge, on GET and on POST', async () => {
      assertBareChallenge(await userinfo(server, 'GET'))
      assertBareChallenge(await userinfo(server, 'POST'))
      assertBareChallenge(await userinfo(server, 'POST', { body: form({ other: 'x' }) }))
      // HEAD is GET without the body (RFC 9110 §9.3.2): the same refusal.
      const head = await call(server, 'HEAD', '/userinfo')
      assert.equal(head.status, 401)
      assert.equal(head.headers.get('www-authenticate'), 'Bearer realm="mandate"')
    })

    test('another scheme (Basic) is no bearer credential: 401 with a bare challenge', async () => {
      assertBareChallenge(await userinfo(server, 'GET', { authorization: 'Basic YTpi' }))
    })

    test('a malformed Bearer header is invalid_request (400)', async () => {
      for (const authorization of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer a,b', 'Bearer ä', 'Bearer =abc']) {
        assertBearerError(await userinfo(server, 'GET', { authorization }), 400, 'invalid_request')
      }
    })

    test('a token this server did not sign, or too long to be one, is invalid_token (401)', async () => {
      assertBearerError(await userinfo(server, 'GET', { authorization: 'Bearer abc.def.ghi' }), 401, 'invalid_token')
      assertBearerError(await userinfo(server, 'GET', { authorization: 'Bearer opaque' }), 401, 'invalid_token')
      assertBearerError(await userinfo(server, 'GET', { authorization: `Bearer ${'a'.repeat(9000)}` }), 401, 'invalid_token')
      // A valid token with one character changed in its signature.
      const tampered = agentToken.slice(0, -2) + (agentToken.endsWith('AA') ? 'BB' : 'AA')
      assertBearerError(await userinfo(server, 'GET', { authorization: `Bearer ${tampered}` }), 401, 'invalid_token')
    })

    test('a header over the server limit (20 KB) gets 431 with a JSON error', async () => {
      const res = await rawGet(server, { authorization: `Bearer ${'a'.repeat(20_000)}` })
      assert.equal(res.status, 431)
      assert.equal(res.body.error, 'invalid_request')
    })

    test("an agent's own token is insufficient_scope (403): it names no person, whatever its role calls its scopes", async () => {
      assertBearerError(await userinfo(server, 'GET', { authorization: `Bearer ${agentToken}` }), 403, 'insufficient_scope')
      // The form body (RFC 6750 §2.2) is read on POST: the same token there gets the same answer.
      assertBearerError(await userinfo(server, 'POST', { body: form({ access_token: agentToken }) }), 403, 'insufficient_scope')
    })

    test('the token in the query is refused (invalid_request), with or without a header', async () => {
      assertBearerError(await userinfo(server, 'GET', { query: `?access_token=${agentToken}` }), 400, 'invalid_request')
      assertBearerError(await userinfo(server, 'GET', { query: `?access_token=${agentToken}`, authorization: `Bearer ${agentToken}` }), 400, 'invalid_request')
      assertBearerError(await userinfo(server, 'GET', { query: '?%ZZ' }), 400, 'invalid_request')
    })

    test('POST with the token in the header and the body is invalid_request, even when both are the same', async () => {
      const res = await userinfo(server, 'POST', { authorization: `Bearer ${agentToken}`, body: form({ access_token: agentToken }) })
      assertBearerError(res, 400, 'invalid_request')
    })

    test('POST with access_token twice in the body, or a malformed form, is invalid_request', async () => {
      const twice = await userinfo(server, 'POST', { body: form({ access_token: [agentToken, agentToken] }) })
      assert.equal(twice.status, 400, twice.text)
      assert.equal(twice.body.error, 'invalid_request')
      const malformed = await userinfo(server, 'POST', { body: 'access_token=%ZZ' })
      assert.equal(malformed.status, 400, malformed.text)
      assert.equal(malformed.body.error, 'invalid_request')
    })

    test('a token in a JSON body is not a token (§2.2 is form bodies only): bare challenge', async () => {
      assertBareChallenge(await userinfo(server, 'POST', { body: JSON.stringify({ access_token: agentToken }), contentType: 'application/json' }))
    })

    test('two Authorization headers are refused', async () => {
      const url = new URL(server.url)
      const status = await new Promise<number>((resolve, reject) => {
        const r = http.request({ host: url.hostname, port: url.port, method: 'GET', path: '/userinfo', agent: false, headers: ['authorization', `Bearer ${agentToken}`, 'authorization', 'Bearer x'] }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        r.on('error', reject)
        r.end()
      })
      assert.equal(status, 400)
    })

    test('refusals are audited (userinfo.refused, anonymous, with the address), without the token', async () => {
      const token = `${agentToken.slice(0, -4)}XXXX`
      assertBearerError(await userinfo(server, 'GET', { authorization: `Bearer ${token}` }), 401, 'invalid_token')
      const events = await auditEvents(server, { action: 'userinfo.refused' })
      const event = events.find((e) => e.reason?.startsWith('invalid_token'))
      assert.ok(event, JSON.stringify(events))
      assert.equal(event.actor_type, 'anonymous')
      assert.equal(event.outcome, 'failure')
      assert.ok(event.ip)
      assert.ok(!JSON.stringify(events).includes(token.slice(-40)), 'the token is not in the audit log')
    })

    test('other methods are 405 with Allow naming GET and POST', async () => {
      const res = await call(server, 'PUT', '/userinfo', { headers: { authorization: `Bearer ${agentToken}` } })
      assert.equal(res.status, 405)
      assert.match(res.headers.get('allow') ?? '', /GET.*POST/)
    })
  })
}

for (const engine of await availableEngines()) {
  describe(`GET|POST /userinfo for people's tokens on ${engine}`, () => {
    let server: TestServer
    let clock: ManualClock
    let client: CodeClient
    before(async () => {
      clock = new ManualClock(Date.now())
      server = await startTestServer(engine, { clock })
      client = await codeClient(server, { scopes: ['openid', 'profile', 'read'] })
    })
    after(() => server.close())

    /** A person who signed in and approved; their access and refresh tokens for `scope`. */
    async function personTokens(scope: string, extra: Record<string, string> = {}) {
      const { person, tokens } = await tokensForPerson(server, client, { scope, ...extra })
      return { person, access: tokens.access_token as string, refresh: tokens.refresh_token as string | undefined }
    }
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

    test('openid alone: just sub, as JSON, never cached, for GET, POST with the header, and POST with the form body', async () => {
      const { person, access } = await personTokens('openid read')
      for (const res of [
        await userinfo(server, 'GET', bearer(access)),
        await userinfo(server, 'POST', bearer(access)),
        await userinfo(server, 'POST', { body: form({ access_token: access }) }),
      ]) {
        assert.equal(res.status, 200, res.text)
        assert.deepEqual(res.body, { sub: person.id })
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
        assert.equal(res.headers.get('cache-control'), 'no-store')
        assert.equal(res.headers.get('www-authenticate'), null)
      }
    })

    test('profile adds name (the display name) and preferred_username', async () => {
      const { person, access } = await personTokens('openid profile')
      const res = await userinfo(server, 'GET', bearer(access))
      assert.equal(res.status, 200, res.text)
      // createPerson leaves the display name to default to the username.
      assert.deepEqual(res.body, { sub: person.id, name: person.username, preferred_username: person.username })
    })

    test("a person's token without openid is insufficient_scope (403)", async () => {
      const { access } = await personTokens('read profile')
      assertBearerError(await userinfo(server, 'GET', bearer(access)), 403, 'insufficient_scope')
    })

    test('a token bound to another resource (RFC 8707) is invalid_token here: its aud is not this server', async () => {
      const { access } = await personTokens('openid', { resource: 'https://api.example.com/' })
      assertBearerError(await userinfo(server, 'GET', bearer(access)), 401, 'invalid_token')
    })

    test('a revoked access token is invalid_token at once', async () => {
      const { access } = await personTokens('openid')
      assert.equal((await userinfo(server, 'GET', bearer(access))).status, 200)
      const revoked = await call(server, 'POST', '/revoke', clientAuth(client, { token: access }))
      assert.equal(revoked.status, 200, revoked.text)
      assertBearerError(await userinfo(server, 'GET', bearer(access)), 401, 'invalid_token')
    })

    test('when the grant ends (its refresh token revoked), its access tokens are invalid_token at once', async () => {
      const { access, refresh } = await personTokens('openid')
      assert.ok(refresh, 'a refresh token was issued')
      assert.equal((await call(server, 'POST', '/revoke', clientAuth(client, { token: refresh }))).status, 200)
      assertBearerError(await userinfo(server, 'GET', bearer(access)), 401, 'invalid_token')
    })

    test('when the person withdraws their consent, tokens issued under it are invalid_token', async () => {
      const { person, access } = await personTokens('openid')
      const [consent] = await server.mandate.consents.listForUser(person.id, { limit: 10 })
      assert.ok(consent, 'the approval recorded a consent')
      await server.mandate.consents.withdraw(person.id, consent.id, { actorType: 'human', actorId: person.id, ip: '127.0.0.1', requestId: null })
      assertBearerError(await userinfo(server, 'GET', bearer(access)), 401, 'invalid_token')
    })

    test('a suspended person, or a suspended agent, makes the token invalid_token', async () => {
      const first = await personTokens('openid')
      assert.equal((await admin(server, 'POST', `/users/${first.person.id}/suspend`, { reason: 'left the company' })).status, 200)
      assertBearerError(await userinfo(server, 'GET', bearer(first.access)), 401, 'invalid_token')

      const second = await personTokens('openid')
      assert.equal((await admin(server, 'POST', `/agents/${client.clientId}/suspend`, { reason: 'misbehaving' })).status, 200)
      assertBearerError(await userinfo(server, 'GET', bearer(second.access)), 401, 'invalid_token')
      assert.equal((await admin(server, 'POST', `/agents/${client.clientId}/resume`)).status, 200)
      // Resuming the agent does not revive tokens from before the suspension.
      assertBearerError(await userinfo(server, 'GET', bearer(second.access)), 401, 'invalid_token')
    })

    // Last: it moves the server's clock.
    test('an expired token is invalid_token; exp is exclusive', async () => {
      // A second after the agent's suspension above, whose tokens_not_before counts whole seconds.
      clock.advance(2000)
      const { access } = await personTokens('openid')
      const exp = (JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp
      clock.set(exp * 1000 - 1)
      assert.equal((await userinfo(server, 'GET', bearer(access))).status, 200)
      clock.set(exp * 1000)
      assertBearerError(await userinfo(server, 'GET', bearer(access)), 401, 'invalid_token')
    })
  })
}
