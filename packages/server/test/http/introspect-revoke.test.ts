import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose'
import { ManualClock } from '../../src/ports/clock.js'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { accessToken, admin, basic, call, form, introspect, registeredAgent, type RegisteredAgent, type Reply } from '../support/client.js'

type Caller = Pick<RegisteredAgent, 'clientId' | 'clientSecret'>
const FORM = 'application/x-www-form-urlencoded'

function post(server: TestServer, path: '/introspect' | '/revoke', caller: Caller | undefined, params: Record<string, string>) {
  const headers: Record<string, string> = { 'content-type': FORM }
  if (caller) headers.authorization = basic(caller.clientId, caller.clientSecret)
  return call(server, 'POST', path, { headers, body: form(params) })
}

function revoke(server: TestServer, caller: Caller, token: string, extra: Record<string, string> = {}) {
  return post(server, '/revoke', caller, { token, ...extra })
}

function assertOAuthError(res: Reply, status: number, code: string) {
  assert.equal(res.status, status, res.text)
  assert.equal(res.body.error, code, res.text)
  assert.equal(typeof res.body.error_description, 'string')
  assert.equal(res.headers.get('cache-control'), 'no-store')
}

async function isActive(server: TestServer, caller: Caller, token: string): Promise<boolean> {
  const res = await introspect(server, caller, token)
  assert.equal(res.status, 200, res.text)
  return res.body.active as boolean
}

for (const engine of await availableEngines()) {
  describe(`introspection and revocation on ${engine}`, () => {
    let server: TestServer
    let clock: ManualClock
    // An agent of a role with can_introspect, as a resource server would be.
    let resourceServer: RegisteredAgent
    before(async () => {
      clock = new ManualClock(Date.now())
      server = await startTestServer(engine, { clock })
      resourceServer = await registeredAgent(server, { role: { scopes: ['introspect'], can_introspect: true } })
    })
    after(() => server.close())

    describe('POST /introspect (RFC 7662)', () => {
      test('an agent introspects its own token: active with scope, client_id, sub, exp, iat, aud, iss, jti', async () => {
        const agent = await registeredAgent(server, { role: { scopes: ['loans:read', 'loans:write'] } })
        const token = await accessToken(server, agent, { scope: 'loans:read', resource: 'https://api.example.com/' })
        const claims = decodeJwt(token)
        const res = await introspect(server, agent, token)
        assert.equal(res.status, 200, res.text)
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
        assert.equal(res.headers.get('cache-control'), 'no-store')
        assert.deepEqual(res.body, {
          active: true,
          token_type: 'Bearer',
          scope: 'loans:read',
          client_id: agent.clientId,
          sub: agent.clientId,
          aud: 'https://api.example.com/',
          iss: server.issuer,
          exp: claims.exp,
          iat: claims.iat,
          jti: claims.jti,
          actor_type: 'agent',
          role: agent.role,
        })
      })

      test('another agent\'s token introspects as {active:false} for an ordinary agent', async () => {
        const owner = await registeredAgent(server)
        const other = await registeredAgent(server)
        const token = await accessToken(server, owner)
        const res = await introspect(server, other, token)
        assert.equal(res.status, 200)
        assert.deepEqual(res.body, { active: false })
      })

      test('a role with can_introspect sees any agent\'s token as active', async () => {
        const owner = await registeredAgent(server)
        const token = await accessToken(server, owner)
        const res = await introspect(server, resourceServer, token)
        assert.equal(res.body.active, true)
        assert.equal(res.body.client_id, owner.clientId)
      })

      test('granting can_introspect to a role with PUT /admin/roles takes effect for its agents', async () => {
        const owner = await registeredAgent(server)
        const watcher = await registeredAgent(server, { role: { scopes: ['w'] } })
        const token = await accessToken(server, owner)
        assert.equal(await isActive(server, watcher, token), false)
        assert.equal((await admin(server, 'PUT', `/roles/${watcher.role}`, { scopes: ['w'], can_introspect: true })).status, 200)
        assert.equal(await isActive(server, watcher, token), true)
      })

      const garbage: Array<[string, string]> = [
        ['an opaque string', 'not-a-token'],
        ['three dots of nothing', '..'],
        ['a JWT-shaped string of junk', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'],
        ['a 10 KB string', 'a'.repeat(10_000)],
        ['a string with non-ASCII characters', 'tökén-ünïcode'],
      ]
      for (const [name, token] of garbage) {
        test(`garbage (${name}) introspects as {active:false}`, async () => {
          const res = await introspect(server, resourceServer, token)
          assert.equal(res.status, 200, res.text)
          assert.deepEqual(res.body, { active: false })
        })
      }

      test('a token with a tampered payload introspects as {active:false}', async () => {
        const agent = await registeredAgent(server)
        const [h, p, s] = (await accessToken(server, agent, { scope: 'read' })).split('.') as [string, string, string]
        const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
        const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'read write' })).toString('base64url')}.${s}`
        assert.deepEqual((await introspect(server, resourceServer, forged)).body, { active: false })
      })

      test('a token signed by a key this server does not hold, even claiming its kid and issuer, is {active:false}', async () => {
        const agent = await registeredAgent(server)
        const real = await accessToken(server, agent)
        const { privateKey } = await generateKeyPair('ES256')
        const forged = await new SignJWT(decodeJwt(real)).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: decodeProtectedHeader(real).kid! }).sign(privateKey)
        assert.deepEqual((await introspect(server, resourceServer, forged)).body, { active: false })
      })

      test('an expired token introspects as {active:false}; one second before exp it is still active', async () => {
        const agent = await registeredAgent(server, { role: { token_ttl_seconds: 60 } })
        const token = await accessToken(server, agent)
        const exp = decodeJwt(token).exp! * 1000
        const start = clock.now()
        try {
          clock.set(exp - 1000)
          assert.equal(await isActive(server, resourceServer, token), true)
          clock.set(exp) // RFC 7519 §4.1.4: expired on or after exp
          assert.equal(await isActive(server, agent, token), false)
          clock.advance(3_600_000)
          assert.equal(await isActive(server, resourceServer, token), false)
        } finally {
          clock.set(start)
        }
      })

      test('a revoked token introspects as {active:false}, for its agent and for a resource server', async () => {
        const agent = await registeredAgent(server)
        const token = await accessToken(server, agent)
        assert.equal((await revoke(server, agent, token)).status, 200)
        assert.deepEqual((await introspect(server, agent, token)).body, { active: false })
        assert.deepEqual((await introspect(server, resourceServer, token)).body, { active: false })
      })

      test('a token of an agent that deregistered (RFC 7592 DELETE) introspects as {active:false}', async () => {
        const agent = await registeredAgent(server)
        const token = await accessToken(server, agent)
        assert.equal(await isActive(server, resourceServer, token), true)
        const del = await call(server, 'DELETE', new URL(agent.registrationClientUri).pathname, { headers: { authorization: `Bearer ${agent.registrationAccessToken}` } })
        assert.equal(del.status, 204, del.text)
        assert.deepEqual((await introspect(server, resourceServer, token)).body, { active: false })
      })

      test('a suspended agent\'s token introspects inactive, and stays inactive once the agent is resumed', async () => {
        const agent = await registeredAgent(server)
        const token = await accessToken(server, agent)
        assert.equal((await admin(server, 'POST', `/agents/${agent.clientId}/suspend`, { reason: 'drill' })).status, 200)
        assert.equal(await isActive(server, resourceServer, token), false)
        assert.equal((await admin(server, 'POST', `/agents/${agent.clientId}/resume`)).status, 200)
        assert.equal(await isActive(server, resourceServer, token), false)
      })

      test('token_type_hint is only a hint: any value still finds the access token (RFC 7662 §2.1)', async () => {
        const agent = await registeredAgent(server)
        const token = await accessToken(server, agent)
        for (const hint of ['access_token', 'refresh_token', 'made_up']) {
          const res = await post(server, '/introspect', agent, { token, token_type_hint: hint })
          assert.equal(res.body.active, true, `hint ${hint}`)
        }
      })

      test('a missing token parameter → 400 invalid_request', async () => {
        assertOAuthError(await post(server, '/introspect', resourceServer, {}), 400, 'invalid_request')
        assertOAuthError(await post(server, '/introspect', resourceServer, { token: '' }), 400, 'invalid_request')
      })

      test('a repeated token parameter → 400 invalid_request', async () => {
        const res = await call(server, 'POST', '/introspect', {
          headers: { authorization: basic(resourceServer.clientId, resourceServer.clientSecret), 'content-type': FORM },
          body: 'token=a&token=b',
        })
        assertOAuthError(res, 400, 'invalid_request')
      })

      test('an unauthenticated caller → 401 invalid_client and learns nothing about the token', async () => {
        const agent = await registeredAgent(server)
        const token = await accessToken(server, agent)
        const none = await post(server, '/introspect', undefined, { token })
        assertOAuthError(none, 401, 'invalid_client')
        assert.equal(none.body.active, undefined)
        const wrong = await post(server, '/introspect', { clientId: agent.clientId, clientSecret: 'mds_wrong' }, { token })
        assertOAuthError(wrong, 401, 'invalid_client')
        assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /)
        // Its own access token is not a client credential here.
        const bearer = await call(server, 'POST', '/introspect', { headers: { authorization: `Bearer ${token}`, 'content-type': FORM }, body: form({ token }) })
        assertOAuthError(bearer, 401, 'invalid_client')
      })

      test('a non-form body → 400 invalid_request', async () => {
        const res = await call(server, 'POST', '/introspect', {
          headers: { authorization: basic(resourceServer.clientId, resourceServer.clientSecret), 'content-type': 'application/json' },
          body: JSON.stringify({ token: 'x' }),
        })
        assertOAuthError(res, 400, 'invalid_request')
      })
    })

    describe('POST /revoke (RFC 7009)', () => {
      test('revoking its own token → 200 with an empty body, and the token introspects inactive', async () => {
        const agent = await registeredAgent(server)
        const token = await accessToken(server, agent)
        const res = await revoke(server, agent, token)
        assert.equal(res.status, 200)
        assert.equal(res.text, '')
        assert.equal(res.headers.get('cache-control'), 'no-store')
        assert.equal(await isActive(server, agent, token), false)
      })

      test('revoking one token leaves the agent\'s other tokens active', async () => {
        const agent = await registeredAgent(server)
        const a = await accessToken(server, agent)
        const b = await accessToken(server, agent)
        assert.equal((await revoke(server, agent, a)).status, 200)
        assert.equal(await isActive(server, agent, a), false)
        assert.equal(await isActive(server, agent, b), true)
      })

      test('revoking another agent\'s token → 200, and that token stays active', async () => {
        const owner = await registeredAgent(server)
        const attacker = await registeredAgent(server)
        const token = await accessToken(server, owner)
        assert.equal((await revoke(server, attacker, token)).status, 200)
        assert.equal(await isActive(server, owner, token), true)
        assert.equal(await isActive(server, resourceServer, token), true)
      })

      test('even a can_introspect role cannot revoke another agent\'s token', async () => {
        const owner = await registeredAgent(server)
        const token = await accessToken(server, owner)
        assert.equal((await revoke(server, resourceServer, token)).status, 200)
        assert.equal(await isActive(server, owner, token), true)
      })

      test('an unknown, garbage or already revoked token → 200 (RFC 7009 §2.2)', async () => {
        const agent = await registeredAgent(server)
        const token = await accessToken(server, agent)
        for (const t of ['unknown-token', 'a.b.c', 'x'.repeat(10_000), token, token]) {
          const res = await revoke(server, agent, t)
          assert.equal(res.status, 200, res.text)
        }
        assert.equal(await isActive(server, agent, token), false)
      })

      test('an expired token → 200', async () => {
        const agent = await registeredAgent(server, { role: { token_ttl_seconds: 30 } })
        const token = await accessToken(server, agent)
        const start = clock.now()
        try {
          clock.advance(31_000)
          assert.equal((await revoke(server, agent, token)).status, 200)
        } finally {
          clock.set(start)
        }
      })

      test('any token_type_hint, even an unknown one, still revokes the access token (RFC 7009 §2.1)', async () => {
        const agent = await registeredAgent(server)
        for (const hint of ['refresh_token', 'made_up']) {
          const token = await accessToken(server, agent)
          assert.equal((await revoke(server, agent, token, { token_type_hint: hint })).status, 200)
          assert.equal(await isActive(server, agent, token), false, `hint ${hint}`)
        }
      })

      test('a revocation is audited as token.revoked with the jti; a foreign token leaves no event', async () => {
        const owner = await registeredAgent(server)
        const other = await registeredAgent(server)
        const token = await accessToken(server, owner)
        const jti = decodeJwt(token).jti
        await revoke(server, other, token)
        const events = async () => ((await admin(server, 'GET', '/audit?action=token.revoked&limit=1000')).body.events as Array<{ target: string; actor_id: string }>).filter((e) => e.target === jti)
        assert.equal((await events()).length, 0)
        await revoke(server, owner, token)
        const after = await events()
        assert.equal(after.length, 1)
        assert.equal(after[0]!.actor_id, owner.clientId)
      })

      test('a missing token parameter → 400 invalid_request', async () => {
        const agent = await registeredAgent(server)
        assertOAuthError(await post(server, '/revoke', agent, {}), 400, 'invalid_request')
        assertOAuthError(await post(server, '/revoke', agent, { token_type_hint: 'access_token' }), 400, 'invalid_request')
      })

      test('an unauthenticated caller → 401 invalid_client and the token stays active', async () => {
        const agent = await registeredAgent(server)
        const token = await accessToken(server, agent)
        assertOAuthError(await post(server, '/revoke', undefined, { token }), 401, 'invalid_client')
        const wrong = await post(server, '/revoke', { clientId: agent.clientId, clientSecret: 'mds_wrong' }, { token })
        assertOAuthError(wrong, 401, 'invalid_client')
        assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /)
        assert.equal(await isActive(server, agent, token), true)
      })

      test('client_secret_post works for revocation by an agent registered for it', async () => {
        const agent = await registeredAgent(server, { metadata: { token_endpoint_auth_method: 'client_secret_post' } })
        const tokenRes = await call(server, 'POST', '/token', { headers: { 'content-type': FORM }, body: form({ grant_type: 'client_credentials', client_id: agent.clientId, client_secret: agent.clientSecret }) })
        const token = tokenRes.body.access_token as string
        const res = await call(server, 'POST', '/revoke', { headers: { 'content-type': FORM }, body: form({ token, client_id: agent.clientId, client_secret: agent.clientSecret }) })
        assert.equal(res.status, 200, res.text)
        assert.equal(await isActive(server, resourceServer, token), false)
      })
    })
  })
}
