import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ManualClock } from '../../src/ports/clock.js'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import {
  accessToken, admin, auditEvents, call, createRole, initialAccessToken, introspect, manageRegistration, register, registeredAgent, tokenRequest, type Reply,
} from '../support/client.js'

/** RFC 6750 §3: a Bearer challenge carrying error="invalid_token". */
function assertInvalidToken(res: Reply, what: string): void {
  assert.equal(res.status, 401, `${what}: ${res.text}`)
  assert.equal(res.body.error, 'invalid_token', what)
  const challenge = res.headers.get('www-authenticate') ?? ''
  assert.match(challenge, /^Bearer\b/, what)
  assert.match(challenge, /error="invalid_token"/, what)
}

for (const engine of await availableEngines()) {
  describe(`registration (RFC 7591 / 7592) on ${engine}`, () => {
    let server: TestServer
    let resourceServer: { clientId: string; clientSecret: string }
    before(async () => {
      server = await startTestServer(engine)
      resourceServer = await registeredAgent(server, { role: { scopes: ['introspect'], can_introspect: true } })
    })
    after(() => server.close())

    test('an agent with an initial access token registers and gets its credentials once', async () => {
      const role = await createRole(server, { scopes: ['loans:read', 'loans:write'] })
      const iat = await initialAccessToken(server, role)
      const t0 = Math.floor(Date.now() / 1000)
      const res = await register(server, iat, { client_name: 'loan bot', scope: 'loans:read' })
      assert.equal(res.status, 201, res.text)
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
      assert.match(res.headers.get('cache-control') ?? '', /no-store/)
      const b = res.body
      assert.match(b.client_id as string, /^agt_[A-Za-z0-9_-]{16,}$/)
      assert.equal(typeof b.client_secret, 'string')
      assert.ok((b.client_secret as string).length >= 32, 'client_secret must be high-entropy')
      assert.equal(typeof b.client_id_issued_at, 'number')
      assert.ok(Math.abs((b.client_id_issued_at as number) - t0) <= 5)
      assert.equal(b.client_secret_expires_at, 0, 'persistent roles: the secret does not expire (RFC 7591 §3.2.1)')
      assert.equal(typeof b.registration_access_token, 'string')
      assert.notEqual(b.registration_access_token, b.client_secret)
      assert.equal(b.registration_client_uri, `${server.issuer}/register/${b.client_id as string}`)
      assert.equal(b.scope, 'loans:read')
      assert.equal(b.client_name, 'loan bot')
      assert.equal(b.token_endpoint_auth_method, 'client_secret_basic')
      assert.deepEqual(b.grant_types, ['client_credentials', 'refresh_token'])

      const agent = { clientId: b.client_id as string, clientSecret: b.client_secret as string }
      const token = await tokenRequest(server, agent)
      assert.equal(token.status, 200)
      assert.equal(token.body.scope, 'loans:read')

      const stored = await admin(server, 'GET', `/agents/${agent.clientId}`)
      assert.equal(stored.status, 200)
      assert.ok(!stored.text.includes(agent.clientSecret), 'the secret is not kept in the clear')
      assert.ok(!stored.text.includes(b.registration_access_token as string))
      assert.equal((await admin(server, 'GET', `/roles/${role}`)).body.live_agents, 1)
    })

    test('without a scope an agent gets every scope of its role', async () => {
      const role = await createRole(server, { scopes: ['a', 'b', 'c'] })
      const res = await register(server, await initialAccessToken(server, role))
      assert.equal(res.status, 201)
      assert.deepEqual((res.body.scope as string).split(' ').sort(), ['a', 'b', 'c'])
    })

    test('each registration gets a distinct client_id, secret and registration token', async () => {
      const role = await createRole(server)
      const iat = await initialAccessToken(server, role, { uses: 3 })
      const bodies = [await register(server, iat), await register(server, iat), await register(server, iat)].map((r) => r.body)
      for (const field of ['client_id', 'client_secret', 'registration_access_token']) {
        assert.equal(new Set(bodies.map((b) => b[field])).size, 3, field)
      }
    })

    test('a scope outside the role is refused with invalid_client_metadata naming the scope', async () => {
      const role = await createRole(server, { scopes: ['loans:read'] })
      const iat = await initialAccessToken(server, role)
      const res = await register(server, iat, { scope: 'loans:read payments:write' })
      assert.equal(res.status, 400)
      assert.equal(res.body.error, 'invalid_client_metadata')
      assert.match(res.body.error_description as string, /payments:write/)
      assert.doesNotMatch(res.body.error_description as string, /loans:read /)
      assert.equal((await admin(server, 'GET', `/roles/${role}`)).body.live_agents, 0)
    })

    test('malformed scope and metadata values are refused with invalid_client_metadata', async () => {
      const role = await createRole(server)
      const iat = await initialAccessToken(server, role)
      for (const metadata of [
        { scope: ['read'] },
        { scope: 'read  write' },
        { scope: 'read "write"' },
        { scope: 'x'.repeat(10_000) },
        { token_endpoint_auth_method: 'none' },
        { token_endpoint_auth_method: 'private_key_jwt' },
        { grant_types: ['authorization_code'] },
        { grant_types: 'client_credentials' },
        { grant_types: [] },
        { response_types: ['code'] },
        { client_name: 12 },
        { client_uri: 'javascript:alert(1)' },
        { contacts: 'ops@example.com' },
      ]) {
        const res = await register(server, iat, metadata)
        assert.equal(res.status, 400, `${JSON.stringify(metadata).slice(0, 80)}: ${res.text}`)
        assert.equal(res.body.error, 'invalid_client_metadata', JSON.stringify(metadata).slice(0, 80))
      }
      assert.equal((await register(server, iat)).status, 201, 'none of the refusals used up the token')
    })

    for (const uri of [
      'javascript:alert(1)',
      'JavaScript:alert(document.cookie)',
      'data:text/html,<script>alert(1)</script>',
      'https://app.example.com/cb#fragment',
      'https://app.example.com/cb#',
      'http://app.example.com/cb',
      'http://localhost.evil.example/cb',
      'http://10.0.0.1/cb',
      '/relative/cb',
      'https://user:pass@app.example.com/cb',
      ' https://app.example.com/cb',
      'https://app.example.com/c b',
      'https://app.example.com/cb\n',
      // No host: the URL parser would read these as host "cb", and so would a browser given the Location.
      'https:///cb',
      'https:cb',
      'https:\\\\app.example.com/cb',
      'http:///127.0.0.1/cb',
      // A wildcard host is stored literally, never matched as a pattern: refused.
      'https://*.example.com/cb',
      'https://app_1.example.com/cb',
    ]) {
      test(`redirect_uri ${JSON.stringify(uri)} is refused with invalid_redirect_uri`, async () => {
        const role = await createRole(server)
        const iat = await initialAccessToken(server, role)
        const res = await register(server, iat, { redirect_uris: ['https://ok.example.com/cb', uri] })
        assert.equal(res.status, 400, res.text)
        assert.equal(res.body.error, 'invalid_redirect_uri')
        assert.equal((await admin(server, 'GET', `/roles/${role}`)).body.live_agents, 0)
      })
    }

    test('https, loopback http and private-use redirect_uris are accepted and returned', async () => {
      const role = await createRole(server)
      const iat = await initialAccessToken(server, role)
      const uris = ['https://app.example.com/cb', 'http://127.0.0.1:8123/cb', 'http://[::1]:9000/cb', 'http://localhost/cb', 'com.example.agent:/cb']
      const res = await register(server, iat, { redirect_uris: uris })
      assert.equal(res.status, 201, res.text)
      assert.deepEqual(res.body.redirect_uris, uris)
    })

    test('unknown client metadata is ignored, not refused, and not echoed back (RFC 7591 §2)', async () => {
      const role = await createRole(server)
      const iat = await initialAccessToken(server, role)
      const res = await register(server, iat, { client_name: 'bot', favourite_colour: 'blue', x_vendor: { nested: [1, 2] }, software_statement_v9: 'abc' })
      assert.equal(res.status, 201, res.text)
      assert.equal(res.body.client_name, 'bot')
      for (const k of ['favourite_colour', 'x_vendor', 'software_statement_v9']) assert.ok(!(k in res.body), k)
      const got = await admin(server, 'GET', `/agents/${res.body.client_id as string}`)
      assert.ok(!got.text.includes('favourite_colour'))
    })

    test('optional metadata sent as null is treated as omitted, as client libraries that serialise unset fields send it', async () => {
      const role = await createRole(server, { scopes: ['a', 'b'] })
      const iat = await initialAccessToken(server, role)
      const res = await register(server, iat, {
        client_name: 'nulls', scope: null, token_endpoint_auth_method: null, grant_types: null, response_types: null,
        redirect_uris: null, contacts: null, client_uri: null, logo_uri: null, software_id: null, software_version: null,
      })
      assert.equal(res.status, 201, res.text)
      assert.equal(res.body.scope, 'a b')
      assert.equal(res.body.token_endpoint_auth_method, 'client_secret_basic')
      assert.deepEqual(res.body.grant_types, ['client_credentials', 'refresh_token'])
      for (const k of ['redirect_uris', 'contacts', 'client_uri', 'logo_uri', 'software_id', 'software_version']) assert.ok(!(k in res.body), k)
      const agent = { clientId: res.body.client_id as string, clientSecret: res.body.client_secret as string }
      assert.equal((await tokenRequest(server, agent)).status, 200)
    })

    test('registration or management without any credential gets 401 and a bare Bearer challenge (RFC 6750 §3.1)', async () => {
      const agent = await registeredAgent(server)
      const requests: Array<[string, string]> = [['POST', '/register'], ['GET', `/register/${agent.clientId}`], ['PUT', `/register/${agent.clientId}`], ['DELETE', `/register/${agent.clientId}`]]
      for (const [method, path] of requests) {
        const res = await call(server, method, path, method === 'POST' || method === 'PUT' ? { headers: { 'content-type': 'application/json' }, body: '{}' } : {})
        assert.equal(res.status, 401, `${method} ${path}`)
        assert.equal(res.body.error, 'invalid_token', `${method} ${path}: the body still says why`)
        assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="mandate"', `${method} ${path}`)
      }
    })

    test('a wrong or malformed initial access token is refused with 401 invalid_token', async () => {
      const role = await createRole(server)
      const real = await initialAccessToken(server, role)
      for (const authorization of [`Bearer ${real}x`, 'Bearer mdt_iat_nope', `Basic ${Buffer.from('a:b').toString('base64')}`, 'Bearer', `Bearer ${real} extra`, real]) {
        const res = await call(server, 'POST', '/register', { headers: { authorization, 'content-type': 'application/json' }, body: '{}' })
        assertInvalidToken(res, authorization)
      }
      assert.equal((await register(server, real)).status, 201, 'the real token still has its use')
    })

    test('a wrong initial access token is refused with 401 before the metadata is looked at', async () => {
      const res = await register(server, 'mdt_iat_wrong', { scope: 'not allowed anywhere', redirect_uris: ['javascript:x'] })
      assertInvalidToken(res, 'wrong token with bad metadata')
    })

    test('an admin token, a client secret or a registration token is not an initial access token', async () => {
      const agent = await registeredAgent(server)
      for (const token of [server.adminToken, agent.clientSecret, agent.registrationAccessToken, await accessToken(server, agent)]) {
        assertInvalidToken(await register(server, token), token.slice(0, 12))
      }
    })

    test('an initial access token with two uses registers exactly two agents', async () => {
      const role = await createRole(server)
      const iat = await initialAccessToken(server, role, { uses: 2 })
      assert.equal((await register(server, iat)).status, 201)
      assert.equal((await register(server, iat)).status, 201)
      assertInvalidToken(await register(server, iat), 'third use')
      assert.equal((await admin(server, 'GET', `/roles/${role}`)).body.live_agents, 2)
    })

    test('a refused registration does not use up the initial access token', async () => {
      const role = await createRole(server, { scopes: ['a'] })
      const iat = await initialAccessToken(server, role, { uses: 1 })
      assert.equal((await register(server, iat, { scope: 'b' })).status, 400)
      assert.equal((await register(server, iat, { redirect_uris: ['http://evil.example/cb'] })).status, 400)
      assert.equal((await register(server, iat, { grant_types: ['password'] })).status, 400)
      const notJson = await call(server, 'POST', '/register', { headers: { authorization: `Bearer ${iat}`, 'content-type': 'text/plain' }, body: 'hello' })
      assert.equal(notJson.status, 400)
      const ok = await register(server, iat, { scope: 'a' })
      assert.equal(ok.status, 201, ok.text)
      assertInvalidToken(await register(server, iat), 'after its one use')
    })

    test('a registration refused because the role is full does not use up the token', async () => {
      const role = await createRole(server, { max_agents: 1 })
      const iat = await initialAccessToken(server, role, { uses: 2 })
      const first = await register(server, iat)
      assert.equal(first.status, 201)
      const full = await register(server, iat)
      assert.equal(full.status, 403)
      assert.equal(full.body.error, 'access_denied')
      assert.equal((await manageRegistration(server, first.body.client_id as string, first.body.registration_access_token as string, 'DELETE')).status, 204)
      assert.equal((await register(server, iat)).status, 201, 'a retired agent frees its slot and the token kept its second use')
    })

    test('max_agents holds under concurrent registration', async () => {
      const role = await createRole(server, { max_agents: 5 })
      const iat = await initialAccessToken(server, role, { uses: 30 })
      const results = await Promise.all(Array.from({ length: 30 }, () => register(server, iat)))
      const statuses = results.map((r) => r.status)
      assert.equal(statuses.filter((s) => s === 201).length, 5, statuses.join(','))
      assert.equal(statuses.filter((s) => s === 403).length, 25, statuses.join(','))
      for (const r of results.filter((x) => x.status === 403)) assert.equal(r.body.error, 'access_denied')
      assert.equal((await admin(server, 'GET', `/roles/${role}`)).body.live_agents, 5)
      const listed = await admin(server, 'GET', `/agents?role=${role}`)
      assert.equal((listed.body.agents as unknown[]).length, 5)
    })

    test('the last use of an initial access token goes to exactly one of many concurrent registrations', async () => {
      const role = await createRole(server)
      const iat = await initialAccessToken(server, role, { uses: 3 })
      const statuses = (await Promise.all(Array.from({ length: 20 }, () => register(server, iat)))).map((r) => r.status)
      assert.equal(statuses.filter((s) => s === 201).length, 3, statuses.join(','))
      assert.equal(statuses.filter((s) => s === 401).length, 17, statuses.join(','))
    })

    test('the registration access token reads the registration back (RFC 7592 §2.1)', async () => {
      const agent = await registeredAgent(server, { metadata: { client_name: 'reader', scope: 'read' } })
      const res = await call(server, 'GET', new URL(agent.registrationClientUri).pathname, { headers: { authorization: `Bearer ${agent.registrationAccessToken}` } })
      assert.equal(res.status, 200, res.text)
      assert.match(res.headers.get('cache-control') ?? '', /no-store/)
      assert.equal(res.body.client_id, agent.clientId)
      assert.equal(res.body.client_name, 'reader')
      assert.equal(res.body.scope, 'read')
      assert.equal(res.body.registration_client_uri, agent.registrationClientUri)
      assert.equal(res.body.registration_access_token, agent.registrationAccessToken, 'RFC 7592 §3: REQUIRED in the response')
      assert.equal(res.body.client_id_issued_at, agent.body.client_id_issued_at)
      assert.equal(res.body.client_secret_expires_at, 0)
      assert.ok(!res.text.includes(agent.clientSecret))
    })

    test('registration management refuses a wrong, missing or foreign registration access token with 401', async () => {
      const a = await registeredAgent(server)
      const b = await registeredAgent(server)
      assertInvalidToken(await manageRegistration(server, a.clientId, `${a.registrationAccessToken}x`, 'GET'), 'wrong token')
      assertInvalidToken(await manageRegistration(server, a.clientId, b.registrationAccessToken, 'GET'), "another agent's token")
      assertInvalidToken(await manageRegistration(server, a.clientId, a.clientSecret, 'GET'), 'the client secret')
      assertInvalidToken(await manageRegistration(server, a.clientId, server.adminToken, 'GET'), 'the admin token')
      assertInvalidToken(await manageRegistration(server, 'agt_doesnotexist', a.registrationAccessToken, 'GET'), 'unknown client')
      assertInvalidToken(await manageRegistration(server, a.clientId, b.registrationAccessToken, 'PUT', { client_id: a.clientId }), 'PUT with a foreign token')
      assertInvalidToken(await manageRegistration(server, a.clientId, b.registrationAccessToken, 'DELETE'), 'DELETE with a foreign token')
      assert.equal((await tokenRequest(server, a)).status, 200, 'nothing happened to the agent')
    })

    test('PUT replaces the metadata and keeps the credentials (RFC 7592 §2.2)', async () => {
      const agent = await registeredAgent(server, { role: { scopes: ['a', 'b'] }, metadata: { scope: 'a', client_name: 'old' } })
      const res = await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'PUT', {
        client_id: agent.clientId, scope: 'a b', client_name: 'new', token_endpoint_auth_method: 'client_secret_post', some_unknown_field: 1,
      })
      assert.equal(res.status, 200, res.text)
      assert.equal(res.body.client_id, agent.clientId)
      assert.equal(res.body.scope, 'a b')
      assert.equal(res.body.client_name, 'new')
      assert.equal(res.body.token_endpoint_auth_method, 'client_secret_post')
      assert.ok(!('some_unknown_field' in res.body))
      assert.equal(res.body.registration_client_uri, agent.registrationClientUri)
      assert.equal(res.body.registration_access_token, agent.registrationAccessToken, 'RFC 7592 §3: REQUIRED in the response')
      const got = await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'GET')
      assert.equal(got.body.scope, 'a b')
      // The newly registered method is enforced at the token endpoint.
      assert.equal((await tokenRequest(server, agent)).status, 401)
      const post = await call(server, 'POST', '/token', {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: agent.clientId, client_secret: agent.clientSecret }).toString(),
      })
      assert.equal(post.status, 200, post.text)
      assert.equal(post.body.scope, 'a b')
    })

    test('PUT must carry the matching client_id', async () => {
      const agent = await registeredAgent(server, { metadata: { client_name: 'keep' } })
      for (const body of [{ client_name: 'x' }, { client_id: 'agt_other', client_name: 'x' }]) {
        const res = await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'PUT', body)
        assert.equal(res.status, 400, JSON.stringify(body))
        assert.equal(res.body.error, 'invalid_client_metadata')
      }
      assert.equal((await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'GET')).body.client_name, 'keep')
    })

    test('PUT with a wrong client_secret is refused and one with the current secret is accepted', async () => {
      const agent = await registeredAgent(server)
      const wrong = await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'PUT', { client_id: agent.clientId, client_secret: 'nope' })
      assert.equal(wrong.status, 400)
      assert.equal(wrong.body.error, 'invalid_client_metadata')
      const right = await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'PUT', { client_id: agent.clientId, client_secret: agent.clientSecret })
      assert.equal(right.status, 200, right.text)
    })

    test('PUT cannot widen the scope beyond the role', async () => {
      const agent = await registeredAgent(server, { role: { scopes: ['a'] }, metadata: { scope: 'a' } })
      const res = await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'PUT', { client_id: agent.clientId, scope: 'a admin' })
      assert.equal(res.status, 400)
      assert.equal(res.body.error, 'invalid_client_metadata')
      assert.match(res.body.error_description as string, /admin/)
      assert.equal((await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'GET')).body.scope, 'a')
      assert.equal((await tokenRequest(server, agent, { scope: 'admin' })).status, 400)
    })

    test('a PUT taking scopes the role gained later moves the agent to the role version that allowed them', async () => {
      const agent = await registeredAgent(server, { role: { scopes: ['r'] } })
      const roleChange = await admin(server, 'PUT', `/roles/${agent.role}`, { scopes: ['r', 'w'] })
      assert.equal(roleChange.status, 200, roleChange.text)
      assert.equal((await tokenRequest(server, agent, { scope: 'w' })).body.error, 'invalid_scope', 'w came with version 2')
      const res = await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'PUT', { client_id: agent.clientId, scope: 'r w' })
      assert.equal(res.status, 200, res.text)
      assert.equal((await admin(server, 'GET', `/agents/${agent.clientId}`)).body.role_version, 2)
      assert.equal((await tokenRequest(server, agent, { scope: 'w' })).status, 200)
      const [updated] = await auditEvents(server, { action: 'agent.updated', target: agent.clientId })
      assert.equal(updated?.details.role_version, 2)
      assert.equal(updated?.details.previous_role_version, 1)
    })

    test('PUT with a bad redirect_uri or malformed body is refused and changes nothing', async () => {
      const agent = await registeredAgent(server, { metadata: { client_name: 'keep' } })
      const bad = await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'PUT', { client_id: agent.clientId, redirect_uris: ['javascript:alert(1)'] })
      assert.equal(bad.status, 400)
      assert.equal(bad.body.error, 'invalid_redirect_uri')
      const arr = await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'PUT', [agent.clientId])
      assert.equal(arr.status, 400)
      assert.equal((await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'GET')).body.client_name, 'keep')
    })

    test('bad request bodies at /register are refused with a 4xx, never a 500, and use up nothing', async () => {
      const role = await createRole(server)
      const iat = await initialAccessToken(server, role)
      const send = (body: string | Uint8Array, contentType?: string) =>
        call(server, 'POST', '/register', { headers: { authorization: `Bearer ${iat}`, ...(contentType ? { 'content-type': contentType } : {}) }, body })
      const cases: Array<[string, Promise<Reply>, number, string[]]> = [
        ['malformed JSON', send('{"scope": ', 'application/json'), 400, ['invalid_request', 'invalid_client_metadata']],
        ['empty JSON body', send('', 'application/json'), 400, ['invalid_request', 'invalid_client_metadata']],
        ['invalid UTF-8', send(new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), 'application/json'), 400, ['invalid_request', 'invalid_client_metadata']],
        ['a form body', send('scope=read', 'application/x-www-form-urlencoded'), 400, ['invalid_request', 'invalid_client_metadata']],
        ['text/plain', send('{}', 'text/plain'), 400, ['invalid_request', 'invalid_client_metadata']],
        ['no content type', send('{}'), 400, ['invalid_request', 'invalid_client_metadata']],
        ['a JSON array', send('[]', 'application/json'), 400, ['invalid_client_metadata']],
        ['a JSON string', send('"x"', 'application/json'), 400, ['invalid_client_metadata']],
        ['__proto__ keys', send('{"__proto__": {"scope": "admin"}}', 'application/json'), 400, ['invalid_request', 'invalid_client_metadata']],
        ['a 1 MiB body', send(JSON.stringify({ client_name: 'x'.repeat(1024 * 1024) }), 'application/json'), 413, ['invalid_request']],
      ]
      for (const [what, pending, status, errors] of cases) {
        const res = await pending
        assert.equal(res.status, status, `${what}: ${res.text}`)
        assert.ok(errors.includes(res.body.error as string), `${what}: ${res.text}`)
      }
      assert.equal((await admin(server, 'GET', `/roles/${role}`)).body.live_agents, 0)
      assert.equal((await register(server, iat)).status, 201, 'the server keeps serving and the token kept its use')
    })

    test('a 10,000-character scope or garbage Authorization header gets an RFC error, not a 500', async () => {
      const role = await createRole(server)
      const iat = await initialAccessToken(server, role)
      const long = await register(server, iat, { scope: Array.from({ length: 2000 }, (_, i) => `s${i}`).join(' ') })
      assert.equal(long.status, 400)
      assert.equal(long.body.error, 'invalid_client_metadata')
      for (const authorization of ['Bearer ' + 'a'.repeat(10_000), 'Bearer a b c', 'Bearer ä', 'Negotiate abc', 'Bearer\tabc', ',,,,']) {
        const res = await call(server, 'POST', '/register', { headers: { authorization, 'content-type': 'application/json' }, body: '{}' })
        assert.ok(res.status === 401 || res.status === 400, `${authorization.slice(0, 20)}: ${res.status}`)
        if (res.status === 401) assert.equal(res.body.error, 'invalid_token')
      }
      assert.equal((await register(server, iat)).status, 201)
    })

    test('DELETE retires the agent: its secret, tokens and registration token stop working (RFC 7592 §2.3)', async () => {
      const agent = await registeredAgent(server)
      const token = await accessToken(server, agent)
      assert.equal((await introspect(server, resourceServer, token)).body.active, true)
      const live = (await admin(server, 'GET', `/roles/${agent.role}`)).body.live_agents as number

      const del = await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'DELETE')
      assert.equal(del.status, 204)
      assert.equal(del.text, '')

      const refused = await tokenRequest(server, agent)
      assert.equal(refused.status, 401)
      assert.equal(refused.body.error, 'invalid_client')
      const inactive = await introspect(server, resourceServer, token)
      assert.equal(inactive.status, 200)
      assert.deepEqual(inactive.body, { active: false })
      assertInvalidToken(await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'GET'), 'GET after DELETE')
      assertInvalidToken(await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'DELETE'), 'DELETE twice')
      assertInvalidToken(await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'PUT', { client_id: agent.clientId }), 'PUT after DELETE')
      assert.equal((await admin(server, 'GET', `/agents/${agent.clientId}`)).body.status, 'retired')
      assert.equal((await admin(server, 'GET', `/roles/${agent.role}`)).body.live_agents, live - 1)
    })
  })

  describe(`ephemeral agents on ${engine}`, () => {
    let server: TestServer
    const clock = new ManualClock(Date.now())
    before(async () => {
      server = await startTestServer(engine, { clock })
    })
    after(() => server.close())

    test("an ephemeral role's agents get a secret that stops working at client_secret_expires_at", async () => {
      const observer = await registeredAgent(server, { role: { scopes: ['introspect'], can_introspect: true } })
      const role = await createRole(server, { lifecycle: 'ephemeral', agent_ttl_seconds: 60 })
      const res = await register(server, await initialAccessToken(server, role))
      assert.equal(res.status, 201, res.text)
      const expected = Math.floor((clock.now() + 60_000) / 1000)
      assert.equal(res.body.client_secret_expires_at, expected)
      const agent = { clientId: res.body.client_id as string, clientSecret: res.body.client_secret as string }
      const token = await accessToken(server, agent)

      clock.advance(59_000)
      assert.equal((await tokenRequest(server, agent)).status, 200, 'still valid a second before expiry')
      clock.advance(2_000)
      const refused = await tokenRequest(server, agent)
      assert.equal(refused.status, 401)
      assert.equal(refused.body.error, 'invalid_client')
      assert.deepEqual((await introspect(server, observer, token)).body, { active: false })
    })

    test("an ephemeral agent's access token expires no later than its secret", async () => {
      const role = await createRole(server, { lifecycle: 'ephemeral', agent_ttl_seconds: 120, token_ttl_seconds: 300 })
      const res = await register(server, await initialAccessToken(server, role))
      const agent = { clientId: res.body.client_id as string, clientSecret: res.body.client_secret as string }
      clock.advance(30_000)
      const issued = await tokenRequest(server, agent)
      assert.equal(issued.status, 200)
      const claims = JSON.parse(Buffer.from((issued.body.access_token as string).split('.')[1]!, 'base64url').toString()) as { exp: number }
      assert.equal(claims.exp, res.body.client_secret_expires_at)
      // What the token has left, in whole seconds (90 less the fraction of a second exp was rounded down by).
      assert.equal(issued.body.expires_in, Math.floor((claims.exp * 1000 - clock.now()) / 1000))
      assert.ok((issued.body.expires_in as number) >= 89 && (issued.body.expires_in as number) <= 90)
    })

    test('expired ephemeral agents give their max_agents slots back and are retired in the audit log', async () => {
      const role = await createRole(server, { lifecycle: 'ephemeral', agent_ttl_seconds: 60, max_agents: 1 })
      const iat = await initialAccessToken(server, role, { uses: 3 })
      const first = await register(server, iat)
      assert.equal(first.status, 201)
      assert.equal((await register(server, iat)).status, 403, 'the role is full while the first agent lives')
      clock.advance(61_000)
      const second = await register(server, iat)
      assert.equal(second.status, 201, second.text)
      const expired = await admin(server, 'GET', `/agents/${first.body.client_id as string}`)
      assert.equal(expired.body.status, 'retired')
      assert.equal(expired.body.status_reason, 'credentials expired')
      assert.equal((await admin(server, 'GET', `/roles/${role}`)).body.live_agents, 1)
      const events = await admin(server, 'GET', `/audit?action=agent.expired&limit=10`)
      assert.ok((events.body.events as { target: string }[]).some((e) => e.target === first.body.client_id), 'agent.expired is audited')
    })

    test('a persistent role never gives its agents an expiring secret', async () => {
      const agent = await registeredAgent(server)
      assert.equal(agent.body.client_secret_expires_at, 0)
      clock.advance(400 * 86_400_000)
      assert.equal((await tokenRequest(server, agent)).status, 200)
    })

    test('an expired initial access token is refused with 401 invalid_token', async () => {
      const role = await createRole(server)
      const iat = await initialAccessToken(server, role, { uses: 5, expires_in: 60 })
      assert.equal((await register(server, iat)).status, 201)
      clock.advance(60_001)
      assertInvalidToken(await register(server, iat), 'expired token')
    })
  })
}
