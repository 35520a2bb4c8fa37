import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as oauth from 'oauth4webapi'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { admin, call, form, registeredAgent, type RegisteredAgent } from '../support/client.js'

// The test server is plain http on loopback; oauth4webapi refuses that unless told (its documented escape hatch).
const insecure = { [oauth.allowInsecureRequests]: true } as const

interface Discovered {
  as: oauth.AuthorizationServer
  jwks: ReturnType<typeof createRemoteJWKSet>
}

async function discover(server: TestServer, algorithm: 'oauth2' | 'oidc' = 'oauth2'): Promise<Discovered> {
  const issuer = new URL(server.issuer)
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm, ...insecure }))
  assert.ok(as.jwks_uri, 'metadata advertises jwks_uri')
  // cooldownDuration 0: refetch at once on an unknown kid, as a verifier does after a rotation.
  return { as, jwks: createRemoteJWKSet(new URL(as.jwks_uri), { cooldownDuration: 0 }) }
}

async function clientCredentials(d: Discovered, agent: RegisteredAgent, params: Record<string, string> | URLSearchParams = {}, auth: 'basic' | 'post' = 'basic') {
  const client: oauth.Client = { client_id: agent.clientId }
  const clientAuth = auth === 'basic' ? oauth.ClientSecretBasic(agent.clientSecret) : oauth.ClientSecretPost(agent.clientSecret)
  const res = await oauth.clientCredentialsGrantRequest(d.as, client, clientAuth, params, insecure)
  return oauth.processClientCredentialsResponse(d.as, client, res)
}

/**
 * What oauth4webapi reports for an OAuth error response: a ResponseBodyError, or for a 401 with a
 * WWW-Authenticate challenge a WWWAuthenticateChallengeError whose body it leaves unread.
 */
async function oauthFailure(promise: Promise<unknown>): Promise<{ status: number; error: unknown; challenge: string | undefined }> {
  try {
    await promise
  } catch (err) {
    if (err instanceof oauth.ResponseBodyError) return { status: err.status, error: err.error, challenge: undefined }
    if (err instanceof oauth.WWWAuthenticateChallengeError) {
      const body = (await err.response.json()) as { error?: unknown }
      return { status: err.status, error: body.error, challenge: err.cause[0]?.scheme }
    }
    throw err
  }
  throw new Error('expected the client library to report an OAuth error')
}

async function verifyAccessToken(server: TestServer, d: Discovered, token: string, audience: string | string[] = server.issuer) {
  return jwtVerify(token, d.jwks, { issuer: server.issuer, audience, typ: 'at+jwt', algorithms: ['ES256'] })
}

for (const engine of await availableEngines()) {
  describe(`real OAuth clients on ${engine}`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine)
    })
    after(() => server.close())

    describe('discovery', () => {
      test('oauth4webapi strict RFC 8414 discovery accepts /.well-known/oauth-authorization-server', async () => {
        const res = await oauth.discoveryRequest(new URL(server.issuer), { algorithm: 'oauth2', ...insecure })
        assert.equal(new URL(res.url).pathname, '/.well-known/oauth-authorization-server')
        const as = await oauth.processDiscoveryResponse(new URL(server.issuer), res)
        assert.equal(as.issuer, server.issuer)
        assert.equal(as.token_endpoint, `${server.issuer}/token`)
        assert.equal(as.jwks_uri, `${server.issuer}/jwks`)
        assert.equal(as.registration_endpoint, `${server.issuer}/register`)
        assert.equal(as.introspection_endpoint, `${server.issuer}/introspect`)
        assert.equal(as.revocation_endpoint, `${server.issuer}/revoke`)
        for (const grant of ['authorization_code', 'client_credentials', 'refresh_token']) assert.ok(as.grant_types_supported?.includes(grant), grant)
        assert.equal(as.authorization_endpoint, `${server.issuer}/authorize`)
        assert.deepEqual(as.response_types_supported, ['code'])
        assert.deepEqual(as.code_challenge_methods_supported, ['S256'])
        assert.equal(as.authorization_response_iss_parameter_supported, true)
        // none: public clients, at the token and revocation endpoints only.
        assert.deepEqual(as.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'none'])
        assert.deepEqual(as.introspection_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post'])
        assert.deepEqual(as.revocation_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'none'])
      })

      test('oauth4webapi OpenID discovery accepts /.well-known/openid-configuration with the same metadata', async () => {
        const res = await oauth.discoveryRequest(new URL(server.issuer), { algorithm: 'oidc', ...insecure })
        assert.equal(new URL(res.url).pathname, '/.well-known/openid-configuration')
        const oidc = await oauth.processDiscoveryResponse(new URL(server.issuer), res)
        const { as } = await discover(server, 'oauth2')
        assert.deepEqual(oidc, as)
      })

      test('every endpoint the metadata advertises is served there (no 404s for a client that follows discovery)', async () => {
        const { as } = await discover(server)
        assert.equal((await fetch(as.jwks_uri!)).status, 200)
        for (const endpoint of [as.token_endpoint, as.introspection_endpoint, as.revocation_endpoint, as.registration_endpoint]) {
          const res = await fetch(endpoint!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=x&grant_type=client_credentials' })
          assert.equal(res.status === 401 || res.status === 400, true, `${endpoint}: ${res.status}`)
          assert.equal(typeof ((await res.json()) as { error?: unknown }).error, 'string')
        }
      })

      test('metadata lists only the OpenID scopes in scopes_supported (agents\' scopes are per role) and keeps the RFC 8414 required members', async () => {
        const { as } = await discover(server)
        assert.deepEqual(as.scopes_supported, ['openid', 'profile'])
        assert.ok(Array.isArray(as.response_types_supported), 'response_types_supported is present')
        assert.deepEqual(as.access_token_signing_alg_values_supported, ['ES256'])
      })

      test('discovery against the wrong issuer is rejected by the client', async () => {
        const wrong = new URL(`${server.issuer}/tenant`)
        const res = await oauth.discoveryRequest(new URL(server.issuer), { algorithm: 'oauth2', ...insecure })
        await assert.rejects(oauth.processDiscoveryResponse(wrong, res), (err: unknown) => err instanceof oauth.OperationProcessingError)
      })

      test('metadata is served as JSON and the JWKS as a JWK Set with kid, alg and use', async () => {
        const meta = await call(server, 'GET', '/.well-known/oauth-authorization-server')
        assert.match(meta.headers.get('content-type') ?? '', /^application\/json/)
        const jwks = await call<{ keys: Array<Record<string, unknown>> }>(server, 'GET', '/jwks')
        assert.equal(jwks.status, 200)
        assert.ok(jwks.body.keys.length >= 1, 'the JWKS has a key')
        for (const k of jwks.body.keys) {
          assert.equal(k.kty, 'EC')
          assert.equal(k.alg, 'ES256')
          assert.equal(k.use, 'sig')
          assert.equal(typeof k.kid, 'string')
          assert.equal(k.d, undefined, 'no private key material is published')
        }
      })
    })

    describe('client_credentials', () => {
      test('ClientSecretBasic: the token verifies with jose against the discovered JWKS and carries the RFC 9068 claims', async () => {
        const d = await discover(server)
        const agent = await registeredAgent(server, { role: { scopes: ['loans:read', 'loans:write'], token_ttl_seconds: 120 } })
        const sentAt = Date.now()
        const before = Math.floor(sentAt / 1000)
        const tr = await clientCredentials(d, agent, { scope: 'loans:read' })
        assert.equal(tr.token_type, 'bearer') // oauth4webapi lower-cases token_type
        assert.equal(tr.expires_in, 120)
        assert.equal(tr.scope, 'loans:read')
        assert.equal(tr.refresh_token, undefined, 'RFC 6749 §4.4.3: no refresh token for client_credentials')

        const { payload, protectedHeader } = await verifyAccessToken(server, d, tr.access_token)
        assert.equal(protectedHeader.typ, 'at+jwt')
        assert.equal(protectedHeader.alg, 'ES256')
        assert.equal(typeof protectedHeader.kid, 'string')
        assert.equal(payload.iss, server.issuer)
        assert.equal(payload.sub, agent.clientId)
        assert.equal(payload.client_id, agent.clientId)
        assert.equal(payload.aud, server.issuer)
        assert.equal(payload.scope, 'loans:read')
        assert.equal(payload.actor_type, 'agent')
        assert.equal(payload.role, agent.role)
        assert.equal(typeof payload.jti, 'string')
        assert.ok((payload.jti as string).length >= 16, 'jti has enough entropy')
        assert.ok(payload.iat! >= before - 1 && payload.iat! <= Math.floor(Date.now() / 1000) + 1, 'iat is now')
        // exp is in whole seconds, rounded up so the token lives the role's TTL (expires_in) from when it was issued.
        assert.ok(payload.exp! * 1000 >= sentAt + 120_000, 'the token lives at least the role token TTL')
        assert.ok(payload.exp! - payload.iat! <= 121, 'and less than a second more')
      })

      test('every token gets its own jti', async () => {
        const d = await discover(server)
        const agent = await registeredAgent(server)
        const jtis = new Set<unknown>()
        for (let i = 0; i < 5; i++) jtis.add((await verifyAccessToken(server, d, (await clientCredentials(d, agent)).access_token)).payload.jti)
        assert.equal(jtis.size, 5)
      })

      test('ClientSecretPost works for an agent registered with token_endpoint_auth_method client_secret_post', async () => {
        const d = await discover(server)
        const agent = await registeredAgent(server, { metadata: { token_endpoint_auth_method: 'client_secret_post' } })
        const tr = await clientCredentials(d, agent, {}, 'post')
        const { payload } = await verifyAccessToken(server, d, tr.access_token)
        assert.equal(payload.client_id, agent.clientId)
        assert.equal(payload.scope, 'read write')
      })

      test('an agent registered for client_secret_post is refused when it uses Basic', async () => {
        const d = await discover(server)
        const agent = await registeredAgent(server, { metadata: { token_endpoint_auth_method: 'client_secret_post' } })
        assert.deepEqual(await oauthFailure(clientCredentials(d, agent, {}, 'basic')), { status: 401, error: 'invalid_client', challenge: 'basic' })
      })

      test('ClientSecretPost with a wrong secret surfaces invalid_client and its description, not an unexplained Basic challenge', async () => {
        const d = await discover(server)
        const agent = await registeredAgent(server, { metadata: { token_endpoint_auth_method: 'client_secret_post' } })
        const err = await clientCredentials(d, { ...agent, clientSecret: 'mds_wrong' }, {}, 'post').then(() => undefined, (e: unknown) => e)
        assert.ok(err instanceof oauth.ResponseBodyError, `expected a ResponseBodyError, got ${String(err)}`)
        assert.equal(err.error, 'invalid_client')
        assert.equal(err.status, 400)
        assert.equal(err.error_description, 'client authentication failed')
      })

      test('a Basic header built with RFC 6749 §2.3.1 form-urlencoding is accepted, even with every character percent-encoded', async () => {
        const agent = await registeredAgent(server)
        const pct = (s: string) => [...Buffer.from(s)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')
        for (const header of [
          `Basic ${Buffer.from(`${agent.clientId}:${agent.clientSecret}`).toString('base64')}`,
          `Basic ${Buffer.from(`${pct(agent.clientId)}:${pct(agent.clientSecret)}`).toString('base64')}`,
          `basic ${Buffer.from(`${agent.clientId}:${pct(agent.clientSecret)}`).toString('base64')}`, // the scheme is case-insensitive (RFC 7235 §2.1)
        ]) {
          const res = await call(server, 'POST', '/token', {
            headers: { authorization: header, 'content-type': 'application/x-www-form-urlencoded' },
            body: form({ grant_type: 'client_credentials' }),
          })
          assert.equal(res.status, 200, `${header}: ${res.text}`)
        }
      })

      test('Basic credentials split at the first colon: everything after it, colons included, is the secret', async () => {
        const agent = await registeredAgent(server)
        // An encoded ":" (%3A) inside the secret part belongs to the secret, so this is a wrong secret for a known client.
        for (const [suffix, label] of [[':', 'raw colon'], ['%3A', 'encoded colon'], [':extra:more', 'several colons']] as const) {
          const header = `Basic ${Buffer.from(`${agent.clientId}:${agent.clientSecret}${suffix}`).toString('base64')}`
          const res = await call(server, 'POST', '/token', {
            headers: { authorization: header, 'content-type': 'application/x-www-form-urlencoded' },
            body: form({ grant_type: 'client_credentials' }),
          })
          assert.equal(res.status, 401, label)
          assert.equal(res.body.error, 'invalid_client')
        }
        // The server identified the client (split at the first colon) and refused the secret.
        const audit = await admin(server, 'GET', '/audit?action=token.refused&limit=1000')
        const events = (audit.body.events as Array<{ target: string | null; details: { detail?: string } }>).filter((e) => e.target === agent.clientId)
        assert.equal(events.length, 3)
        for (const e of events) assert.equal(e.details.detail, 'wrong secret')
      })

      test('one resource parameter sets aud; two give an array aud', async () => {
        const d = await discover(server)
        const agent = await registeredAgent(server)
        const one = await clientCredentials(d, agent, { resource: 'https://api.example.com/loans' })
        assert.equal((await verifyAccessToken(server, d, one.access_token, 'https://api.example.com/loans')).payload.aud, 'https://api.example.com/loans')

        const params = new URLSearchParams()
        params.append('resource', 'https://api.example.com/loans')
        params.append('resource', 'https://files.example.com/')
        const two = await clientCredentials(d, agent, params)
        const { payload } = await verifyAccessToken(server, d, two.access_token, 'https://files.example.com/')
        assert.deepEqual(payload.aud, ['https://api.example.com/loans', 'https://files.example.com/'])
        // A resource server for another audience must not accept it.
        await assert.rejects(verifyAccessToken(server, d, two.access_token, 'https://other.example.com/'))
      })

      test('oauth4webapi surfaces RFC 6749 §5.2 errors from the token endpoint', async () => {
        const d = await discover(server)
        const agent = await registeredAgent(server, { role: { scopes: ['read'] } })
        assert.deepEqual(await oauthFailure(clientCredentials(d, agent, { scope: 'admin' })), { status: 400, error: 'invalid_scope', challenge: undefined })
        assert.deepEqual(await oauthFailure(clientCredentials(d, { ...agent, clientSecret: 'mds_wrong' })), { status: 401, error: 'invalid_client', challenge: 'basic' })
        assert.deepEqual(await oauthFailure(clientCredentials(d, agent, { resource: 'relative/path' })), { status: 400, error: 'invalid_target', challenge: undefined })
      })
    })

    describe('introspection and revocation', () => {
      test('oauth4webapi introspects an own token as active and a revoked one as inactive', async () => {
        const d = await discover(server)
        const agent = await registeredAgent(server)
        const client: oauth.Client = { client_id: agent.clientId }
        const auth = oauth.ClientSecretBasic(agent.clientSecret)
        const { access_token } = await clientCredentials(d, agent, { scope: 'read' })
        const claims = (await verifyAccessToken(server, d, access_token)).payload

        const active = await oauth.processIntrospectionResponse(d.as, client, await oauth.introspectionRequest(d.as, client, auth, access_token, insecure))
        assert.equal(active.active, true)
        assert.equal(active.client_id, agent.clientId)
        assert.equal(active.sub, agent.clientId)
        assert.equal(active.scope, 'read')
        assert.equal(active.token_type, 'Bearer')
        assert.equal(active.iss, server.issuer)
        assert.equal(active.jti, claims.jti)
        assert.equal(active.exp, claims.exp)

        await oauth.processRevocationResponse(await oauth.revocationRequest(d.as, client, auth, access_token, insecure))
        const inactive = await oauth.processIntrospectionResponse(d.as, client, await oauth.introspectionRequest(d.as, client, auth, access_token, insecure))
        assert.deepEqual(inactive, { active: false })
      })

      test('oauth4webapi introspection and revocation work with ClientSecretPost', async () => {
        const d = await discover(server)
        const agent = await registeredAgent(server, { metadata: { token_endpoint_auth_method: 'client_secret_post' } })
        const client: oauth.Client = { client_id: agent.clientId }
        const auth = oauth.ClientSecretPost(agent.clientSecret)
        const { access_token } = await clientCredentials(d, agent, {}, 'post')
        assert.equal((await oauth.processIntrospectionResponse(d.as, client, await oauth.introspectionRequest(d.as, client, auth, access_token, insecure))).active, true)
        await oauth.processRevocationResponse(await oauth.revocationRequest(d.as, client, auth, access_token, insecure))
        assert.equal((await oauth.processIntrospectionResponse(d.as, client, await oauth.introspectionRequest(d.as, client, auth, access_token, insecure))).active, false)
      })

      test('revoking garbage is accepted by oauth4webapi (RFC 7009 §2.2: 200 for an invalid token)', async () => {
        const d = await discover(server)
        const agent = await registeredAgent(server)
        const client: oauth.Client = { client_id: agent.clientId }
        await oauth.processRevocationResponse(await oauth.revocationRequest(d.as, client, oauth.ClientSecretBasic(agent.clientSecret), 'not-a-token', insecure))
      })
    })

    describe('key rotation', () => {
      test('tokens signed before and after POST /admin/keys/rotate both verify through the same remote JWKS', async () => {
        const d = await discover(server)
        // A resource server that will not refetch the JWKS for a minute: the new signer must
        // already be in the set it cached before the rotation (publish-ahead).
        d.jwks = createRemoteJWKSet(new URL(d.as.jwks_uri!), { cooldownDuration: 60_000 })
        const agent = await registeredAgent(server)
        const tokenA = (await clientCredentials(d, agent)).access_token
        const a = await verifyAccessToken(server, d, tokenA) // the JWKS is now cached

        // Forced: this server's standby is younger than the publish-ahead window, but it was
        // published before the resource server cached the JWKS, which is what this test is about.
        const rotated = await admin(server, 'POST', '/keys/rotate', { force: true })
        assert.equal(rotated.status, 200)
        assert.equal(rotated.body.retired_kid, decodeProtectedHeader(tokenA).kid)

        const tokenB = (await clientCredentials(d, agent)).access_token
        const kidA = decodeProtectedHeader(tokenA).kid
        const kidB = decodeProtectedHeader(tokenB).kid
        assert.notEqual(kidA, kidB)
        assert.equal(kidB, rotated.body.kid)

        const b = await verifyAccessToken(server, d, tokenB)
        const again: JWTPayload = (await verifyAccessToken(server, d, tokenA)).payload
        assert.equal(a.payload.jti, again.jti)
        assert.equal(b.protectedHeader.kid, kidB)

        const jwks = await call<{ keys: Array<{ kid: string }> }>(server, 'GET', '/jwks')
        const kids = jwks.body.keys.map((k) => k.kid)
        assert.ok(kids.includes(kidA!), 'the retired key stays published while its tokens live')
        assert.ok(kids.includes(kidB!), 'the new signer is published')

        // Both tokens still introspect active for their agent.
        const client: oauth.Client = { client_id: agent.clientId }
        const auth = oauth.ClientSecretBasic(agent.clientSecret)
        for (const t of [tokenA, tokenB]) {
          assert.equal((await oauth.processIntrospectionResponse(d.as, client, await oauth.introspectionRequest(d.as, client, auth, t, insecure))).active, true)
        }
      })
    })
  })
}
