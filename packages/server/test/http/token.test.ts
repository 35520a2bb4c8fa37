import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeJwt } from 'jose'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { accessToken, admin, auditEvents, basic, call, form, registeredAgent, tokenRequest, type RegisteredAgent, type Reply } from '../support/client.js'

const FORM = 'application/x-www-form-urlencoded'

function postToken(server: TestServer, init: { headers?: Record<string, string>; body?: string | Uint8Array }) {
  return call(server, 'POST', '/token', init)
}

/** A token request with Basic credentials and a raw body, for requests the form() helper cannot build. */
function rawTokenRequest(server: TestServer, agent: RegisteredAgent, body: string, contentType = FORM) {
  return postToken(server, { headers: { authorization: basic(agent.clientId, agent.clientSecret), 'content-type': contentType }, body })
}

/** RFC 6749 §5.2: a JSON error body with this code, never cached. */
function assertOAuthError(res: Reply, status: number, code: string) {
  assert.equal(res.status, status, res.text)
  assert.equal(res.body.error, code, res.text)
  assert.equal(typeof res.body.error_description, 'string')
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  assert.equal(res.headers.get('cache-control'), 'no-store')
}

for (const engine of await availableEngines()) {
  describe(`POST /token on ${engine}`, () => {
    let server: TestServer
    let agent: RegisteredAgent & { role: string }
    before(async () => {
      server = await startTestServer(engine)
      agent = await registeredAgent(server, { role: { scopes: ['loans:read', 'loans:write', 'reports:read'] } })
    })
    after(() => server.close())

    describe('successful requests', () => {
      test('a token response is JSON with access_token, token_type Bearer, expires_in and scope, and is never cached', async () => {
        const res = await tokenRequest(server, agent)
        assert.equal(res.status, 200, res.text)
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
        assert.equal(res.headers.get('cache-control'), 'no-store') // RFC 6749 §5.1
        assert.equal(res.headers.get('pragma'), 'no-cache')
        assert.equal(res.body.token_type, 'Bearer')
        assert.equal(res.body.expires_in, 300)
        assert.equal(typeof res.body.access_token, 'string')
        assert.equal(res.body.refresh_token, undefined)
      })

      test('omitting scope grants all of the agent\'s scopes', async () => {
        const res = await tokenRequest(server, agent)
        assert.equal(res.body.scope, 'loans:read loans:write reports:read')
        assert.equal(decodeJwt(res.body.access_token as string).scope, 'loans:read loans:write reports:read')
      })

      test('an empty scope parameter counts as omitted (RFC 6749 §3.1)', async () => {
        const res = await rawTokenRequest(server, agent, 'grant_type=client_credentials&scope=')
        assert.equal(res.status, 200, res.text)
        assert.equal(res.body.scope, 'loans:read loans:write reports:read')
      })

      test('omitting scope grants only the scopes the agent registered with, not the whole role', async () => {
        const narrow = await registeredAgent(server, { role: { scopes: ['a', 'b', 'c'] }, metadata: { scope: 'b' } })
        assert.equal((await tokenRequest(server, narrow)).body.scope, 'b')
        assertOAuthError(await tokenRequest(server, narrow, { scope: 'a' }), 400, 'invalid_scope')
      })

      test('a requested subset of scopes is granted exactly, duplicates collapsed', async () => {
        const res = await tokenRequest(server, agent, { scope: 'reports:read loans:read reports:read' })
        assert.equal(res.status, 200, res.text)
        assert.equal(res.body.scope, 'reports:read loans:read')
      })

      test('Content-Type with ;charset=UTF-8 (and other spellings) is accepted', async () => {
        for (const ct of [`${FORM};charset=UTF-8`, `${FORM}; charset=utf-8`, 'Application/X-WWW-Form-URLEncoded']) {
          const res = await rawTokenRequest(server, agent, 'grant_type=client_credentials', ct)
          assert.equal(res.status, 200, `${ct}: ${res.text}`)
        }
      })

      test('unknown parameters are ignored, even when repeated (RFC 6749 §3.2)', async () => {
        const res = await rawTokenRequest(server, agent, 'grant_type=client_credentials&foo=bar&foo=baz&audience=x')
        assert.equal(res.status, 200, res.text)
      })

      test('client_id in the body alongside a matching Basic header is accepted', async () => {
        const res = await rawTokenRequest(server, agent, form({ grant_type: 'client_credentials', client_id: agent.clientId }))
        assert.equal(res.status, 200, res.text)
      })

      test('expires_in and exp follow the role token_ttl_seconds', async () => {
        const short = await registeredAgent(server, { role: { token_ttl_seconds: 60 } })
        const sentAt = Date.now()
        const res = await tokenRequest(server, short)
        assert.equal(res.body.expires_in, 60)
        const claims = decodeJwt(res.body.access_token as string)
        // Whole seconds, rounded up: never sooner than expires_in says (see token-lifetime.test.ts).
        assert.ok(claims.exp! * 1000 >= sentAt + 60_000)
        assert.ok(claims.exp === claims.iat! + 60 || claims.exp === claims.iat! + 61)
      })
    })

    describe('request errors (RFC 6749 §5.2)', () => {
      const cases: Array<{ name: string; body: string | undefined; contentType?: string; code: string }> = [
        { name: 'missing grant_type', body: 'scope=loans:read', code: 'invalid_request' },
        { name: 'grant_type repeated', body: 'grant_type=client_credentials&grant_type=client_credentials', code: 'invalid_request' },
        { name: 'scope repeated', body: 'grant_type=client_credentials&scope=loans:read&scope=loans:write', code: 'invalid_request' },
        { name: 'a JSON body', body: JSON.stringify({ grant_type: 'client_credentials' }), contentType: 'application/json', code: 'invalid_request' },
        { name: 'a text/plain body', body: 'grant_type=client_credentials', contentType: 'text/plain', code: 'invalid_request' },
        { name: 'a multipart body', body: '--x\r\nContent-Disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--x--\r\n', contentType: 'multipart/form-data; boundary=x', code: 'invalid_request' },
        { name: 'an empty form body', body: '', code: 'invalid_request' },
        { name: 'a form declared in a charset other than UTF-8', body: 'grant_type=client_credentials', contentType: `${FORM}; charset=ISO-8859-1`, code: 'invalid_request' },
        { name: 'invalid UTF-8 percent-encoded in a value', body: 'grant_type=client_credentials&scope=%C3%28', code: 'invalid_request' },
        { name: 'an unknown grant_type', body: 'grant_type=urn:example:magic', code: 'unsupported_grant_type' },
        { name: 'a grant_type this server does not offer', body: 'grant_type=password&username=a&password=b', code: 'unsupported_grant_type' },
        { name: 'a scope outside the agent\'s scopes', body: 'grant_type=client_credentials&scope=loans:read%20admin', code: 'invalid_scope' },
        { name: 'a scope with a double space', body: 'grant_type=client_credentials&scope=loans:read%20%20loans:write', code: 'invalid_scope' },
        { name: 'a scope with a forbidden character', body: 'grant_type=client_credentials&scope=loans%22read', code: 'invalid_scope' },
        { name: 'a relative resource', body: 'grant_type=client_credentials&resource=api/loans', code: 'invalid_target' },
        { name: 'a resource with a fragment', body: 'grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com%2F%23frag', code: 'invalid_target' },
        { name: 'a resource with an empty fragment', body: 'grant_type=client_credentials&resource=https%3A%2F%2Fapi.example.com%2F%23', code: 'invalid_target' },
        { name: 'eleven resources', body: Array.from({ length: 11 }, (_, i) => `resource=https%3A%2F%2Fr${i}.example.com%2F`).concat('grant_type=client_credentials').join('&'), code: 'invalid_target' },
      ]
      for (const c of cases) {
        test(`${c.name} → 400 ${c.code}`, async () => {
          const res = await postToken(server, {
            headers: { authorization: basic(agent.clientId, agent.clientSecret), 'content-type': c.contentType ?? FORM },
            body: c.body,
          })
          assertOAuthError(res, 400, c.code)
        })
      }

      test('no body and no content type → 400 invalid_request', async () => {
        assertOAuthError(await postToken(server, { headers: { authorization: basic(agent.clientId, agent.clientSecret) } }), 400, 'invalid_request')
      })
    })

    describe('client authentication', () => {
      test('a wrong secret with Basic → 401 invalid_client with WWW-Authenticate: Basic', async () => {
        const res = await tokenRequest(server, { clientId: agent.clientId, clientSecret: 'mds_not-the-secret' })
        assertOAuthError(res, 401, 'invalid_client')
        assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="[^"]+"$/)
      })

      test('an unknown client → 401 invalid_client, indistinguishable from a wrong secret', async () => {
        const unknown = await tokenRequest(server, { clientId: 'agt_does-not-exist', clientSecret: agent.clientSecret })
        const wrong = await tokenRequest(server, { clientId: agent.clientId, clientSecret: 'mds_not-the-secret' })
        assertOAuthError(unknown, 401, 'invalid_client')
        assert.equal(unknown.body.error_description, wrong.body.error_description)
        assert.equal(unknown.headers.get('www-authenticate'), wrong.headers.get('www-authenticate'))
      })

      test('a wrong secret with client_secret_post → 400 invalid_client without a challenge (RFC 6749 §5.2)', async () => {
        const post = await registeredAgent(server, { metadata: { token_endpoint_auth_method: 'client_secret_post' } })
        const res = await postToken(server, { headers: { 'content-type': FORM }, body: form({ grant_type: 'client_credentials', client_id: post.clientId, client_secret: 'mds_nope' }) })
        assertOAuthError(res, 400, 'invalid_client')
        assert.equal(res.headers.get('www-authenticate'), null)
      })

      test('a client registered for client_secret_basic that uses client_secret_post → 400 invalid_client naming the method', async () => {
        const res = await postToken(server, {
          headers: { 'content-type': FORM },
          body: form({ grant_type: 'client_credentials', client_id: agent.clientId, client_secret: agent.clientSecret }),
        })
        assertOAuthError(res, 400, 'invalid_client')
        assert.match(res.body.error_description as string, /client_secret_basic/)
      })

      test('no client credentials at all → 401 invalid_client with a Basic challenge', async () => {
        const res = await postToken(server, { headers: { 'content-type': FORM }, body: form({ grant_type: 'client_credentials' }) })
        assertOAuthError(res, 401, 'invalid_client')
        assert.match(res.headers.get('www-authenticate') ?? '', /^Basic /)
      })

      test('a client registered for client_secret_post that uses Basic → 401 invalid_client with a Basic challenge', async () => {
        const post = await registeredAgent(server, { metadata: { token_endpoint_auth_method: 'client_secret_post' } })
        const res = await tokenRequest(server, post)
        assertOAuthError(res, 401, 'invalid_client')
        assert.match(res.headers.get('www-authenticate') ?? '', /^Basic /)
      })

      test('Basic and client_secret together → 400 invalid_request (RFC 6749 §2.3: one method only)', async () => {
        const res = await rawTokenRequest(server, agent, form({ grant_type: 'client_credentials', client_secret: agent.clientSecret }))
        assertOAuthError(res, 400, 'invalid_request')
      })

      test('a body client_id that differs from the Basic one → 400 invalid_request', async () => {
        const res = await rawTokenRequest(server, agent, form({ grant_type: 'client_credentials', client_id: 'agt_someone-else' }))
        assertOAuthError(res, 400, 'invalid_request')
      })

      test('no client credentials at all → 401 invalid_client, with a Basic challenge as every 401 needs (RFC 9110 §15.5.2)', async () => {
        const none = await postToken(server, { headers: { 'content-type': FORM }, body: 'grant_type=client_credentials' })
        assertOAuthError(none, 401, 'invalid_client')
        assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm="[^"]+"$/)
        const idOnly = await postToken(server, { headers: { 'content-type': FORM }, body: form({ grant_type: 'client_credentials', client_id: agent.clientId }) })
        assertOAuthError(idOnly, 401, 'invalid_client')
      })

      test('a Bearer credential is not client authentication → 401 invalid_client', async () => {
        const token = await accessToken(server, agent)
        const res = await postToken(server, { headers: { authorization: `Bearer ${token}`, 'content-type': FORM }, body: 'grant_type=client_credentials' })
        assertOAuthError(res, 401, 'invalid_client')
      })

      test('a suspended agent → 401 invalid_client; resumed, it gets tokens again', async () => {
        const a = await registeredAgent(server)
        assert.equal((await admin(server, 'POST', `/agents/${a.clientId}/suspend`, { reason: 'drill' })).status, 200)
        assertOAuthError(await tokenRequest(server, a), 401, 'invalid_client')
        assert.equal((await admin(server, 'POST', `/agents/${a.clientId}/resume`)).status, 200)
        assert.equal((await tokenRequest(server, a)).status, 200)
      })
    })

    describe('role changes', () => {
      test('narrowing a role with PUT /admin/roles/:name caps the tokens of agents already registered', async () => {
        const a = await registeredAgent(server, { role: { scopes: ['x:read', 'x:write', 'x:admin'] } })
        assert.equal((await tokenRequest(server, a)).body.scope, 'x:read x:write x:admin')

        const put = await admin(server, 'PUT', `/roles/${a.role}`, { scopes: ['x:read', 'x:write'] })
        assert.equal(put.status, 200, put.text)

        const after = await tokenRequest(server, a)
        assert.equal(after.status, 200, after.text)
        assert.equal(after.body.scope, 'x:read x:write')
        assert.equal(decodeJwt(after.body.access_token as string).scope, 'x:read x:write')
        assertOAuthError(await tokenRequest(server, a, { scope: 'x:admin' }), 400, 'invalid_scope')
        assert.equal((await tokenRequest(server, a, { scope: 'x:read' })).body.scope, 'x:read')
      })

      test('widening a role again does not hand existing agents scopes beyond what they registered with', async () => {
        const a = await registeredAgent(server, { role: { scopes: ['y:read', 'y:write'] }, metadata: { scope: 'y:read' } })
        assert.equal((await admin(server, 'PUT', `/roles/${a.role}`, { scopes: ['y:read', 'y:write', 'y:admin'] })).status, 200)
        assert.equal((await tokenRequest(server, a)).body.scope, 'y:read')
        assertOAuthError(await tokenRequest(server, a, { scope: 'y:write' }), 400, 'invalid_scope')
      })

      test('a role narrowed below every scope of an agent yields invalid_scope, not an empty-scope token', async () => {
        const a = await registeredAgent(server, { role: { scopes: ['z:read', 'z:write'] }, metadata: { scope: 'z:write' } })
        assert.equal((await admin(server, 'PUT', `/roles/${a.role}`, { scopes: ['z:read'] })).status, 200)
        assertOAuthError(await tokenRequest(server, a), 400, 'invalid_scope')
      })

      test('a changed token_ttl_seconds applies to the next token', async () => {
        const a = await registeredAgent(server, { role: { token_ttl_seconds: 600 } })
        assert.equal((await tokenRequest(server, a)).body.expires_in, 600)
        assert.equal((await admin(server, 'PUT', `/roles/${a.role}`, { scopes: ['read', 'write'], token_ttl_seconds: 90 })).status, 200)
        assert.equal((await tokenRequest(server, a)).body.expires_in, 90)
      })
    })

    describe('audit', () => {
      test('an issued token is audited as token.issued with its jti, scope and audience', async () => {
        const a = await registeredAgent(server)
        const token = await accessToken(server, a, { scope: 'read', resource: 'https://api.example.com/' })
        const jti = decodeJwt(token).jti
        const event = (await auditEvents(server, { action: 'token.issued' })).find((e) => e.target === jti)
        assert.ok(event, 'token.issued event with the jti as target')
        assert.equal(event.actor_type, 'agent')
        assert.equal(event.actor_id, a.clientId)
        assert.equal(event.outcome, 'success')
        assert.equal(event.role, a.role)
        assert.equal(event.details.scope, 'read')
        assert.equal(event.details.aud, 'https://api.example.com/')
      })

      test('each refused request is audited as token.refused with the error as the reason', async () => {
        const a = await registeredAgent(server)
        await tokenRequest(server, a, { scope: 'nope' })
        await tokenRequest(server, a, { grant_type: 'urn:example:nope' })
        await tokenRequest(server, a, { resource: 'not-absolute' })
        await tokenRequest(server, { clientId: a.clientId, clientSecret: 'mds_wrong' })
        const refused = await auditEvents(server, { action: 'token.refused' })
        const mine = refused.filter((e) => e.actor_id === a.clientId || e.target === a.clientId)
        const reasons = mine.map((e) => e.reason ?? '')
        assert.equal(mine.length, 4, JSON.stringify(reasons))
        for (const prefix of ['invalid_scope:', 'unsupported_grant_type:', 'invalid_target:', 'invalid_client:']) {
          assert.equal(reasons.filter((r) => r.startsWith(prefix)).length, 1, `one ${prefix} in ${JSON.stringify(reasons)}`)
        }
        for (const e of mine) assert.equal(e.outcome, 'failure')
        // An authenticated agent's refusal names it as the actor; a failed authentication names the client it tried.
        const wrongSecret = mine.find((e) => e.reason!.startsWith('invalid_client'))!
        assert.equal(wrongSecret.actor_type, 'anonymous')
        assert.equal(wrongSecret.actor_id, null)
        assert.equal(wrongSecret.target, a.clientId)
        const scopeRefusal = mine.find((e) => e.reason!.startsWith('invalid_scope'))!
        assert.equal(scopeRefusal.actor_type, 'agent')
        assert.equal(scopeRefusal.actor_id, a.clientId)
        assert.equal(scopeRefusal.role, a.role)
      })

      test('a malformed request (repeated parameter, invalid UTF-8, not a form) is audited as token.refused', async () => {
        const before = (await auditEvents(server, { action: 'token.refused' })).length
        await rawTokenRequest(server, agent, 'grant_type=client_credentials&scope=loans:read&scope=loans:write')
        await rawTokenRequest(server, agent, 'grant_type=client_credentials&scope=%C3%28')
        await rawTokenRequest(server, agent, '{"grant_type":"client_credentials"}', 'application/json')
        const after = await auditEvents(server, { action: 'token.refused' })
        assert.equal(after.length, before + 3)
        for (const e of after.slice(0, 3)) assert.match(e.reason ?? '', /^invalid_request: /)
      })

      test('a request refused before authentication is audited too', async () => {
        const before = (await auditEvents(server, { action: 'token.refused' })).length
        await postToken(server, { headers: { 'content-type': FORM }, body: 'scope=read' })
        const after = await auditEvents(server, { action: 'token.refused' })
        assert.equal(after.length, before + 1)
        assert.match(after[0]!.reason ?? '', /^invalid_request: /)
      })

      test('the audit chain verifies after issuing and refusing tokens', async () => {
        const res = await admin(server, 'GET', '/audit/verify')
        assert.equal(res.status, 200, res.text)
        assert.equal(res.body.ok, true, res.text)
      })
    })
  })
}
