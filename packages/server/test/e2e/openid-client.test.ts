import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as client from 'openid-client'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { createRole, initialAccessToken, register } from '../support/client.js'
import { BrowserClient, createPerson } from '../support/browser-client.js'

// Loopback redirect: registered without a port, used with one (RFC 8252 §7.3). Nothing listens
// there; the client reads the code off the redirect the browser was given.
const REGISTERED_REDIRECT = 'http://127.0.0.1/callback'
const REDIRECT = 'http://127.0.0.1:8765/callback'
// The test server is plain http on loopback; openid-client refuses that unless told (its documented escape hatch).
const options = { execute: [client.allowInsecureRequests] }

type Kind = 'confidential' | 'public'

/** An agent registered for the code flow under a role that may ask for openid and profile. */
async function registerCodeClient(server: TestServer, kind: Kind) {
  const role = await createRole(server, { scopes: ['openid', 'profile', 'loans:read'] })
  const res = await register(server, await initialAccessToken(server, role), {
    client_name: 'Loan Reader', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: [REGISTERED_REDIRECT],
    ...(kind === 'public' ? { token_endpoint_auth_method: 'none' } : {}),
  })
  assert.equal(res.status, 201, res.text)
  return { clientId: res.body.client_id as string, clientSecret: res.body.client_secret as string | undefined }
}

function discover(server: TestServer, registered: { clientId: string; clientSecret: string | undefined }) {
  const auth = registered.clientSecret === undefined ? client.None() : client.ClientSecretBasic(registered.clientSecret)
  return client.discovery(new URL(server.issuer), registered.clientId, registered.clientSecret === undefined ? {} : { client_secret: registered.clientSecret }, auth, options)
}

function onServer(server: TestServer, location: string | null): string {
  if (location === null || !location.startsWith(`${server.issuer}/`)) throw new Error(`not a location on this server: ${location}`)
  return location.slice(server.issuer.length)
}

/**
 * The person's side, over HTTP as a browser would: the authorization request sends them to sign
 * in, sign-in brings them back, the consent page's form (CSRF token and sealed request read off
 * the page) is approved, and the answer redirects to the client with the code.
 */
async function personApproves(server: TestServer, browser: BrowserClient, person: { username: string; password: string }, authorizationUrl: URL): Promise<URL> {
  let res = await browser.get(onServer(server, authorizationUrl.href))
  if (res.status === 303 && res.headers.get('location')?.includes('/login')) {
    const login = new URL(res.headers.get('location')!)
    const returnTo = login.searchParams.get('return_to')!
    const signedIn = await browser.signIn(person.username, person.password, { return_to: returnTo }, login.search)
    assert.equal(signedIn.status, 303, signedIn.html.slice(0, 300))
    res = await browser.get(onServer(server, signedIn.headers.get('location')))
  }
  if (res.status === 200) {
    const sealed = /name="request" value="([^"]+)"/.exec(res.html)?.[1]
    assert.ok(sealed, `a consent form: ${res.html.slice(0, 300)}`)
    res = await browser.request('POST', '/authorize/consent', { form: { request: sealed, csrf_token: BrowserClient.formToken(res.html), decision: 'approve' } })
  }
  assert.ok(res.status === 302 || res.status === 303, `a redirect to the client: ${res.status} ${res.html.slice(0, 300)}`)
  return new URL(res.headers.get('location')!)
}

/** An error's message and its causes' (openid-client wraps oauth4webapi's errors). */
function messages(err: unknown): string {
  const parts: string[] = []
  for (let e = err; e instanceof Error; e = e.cause) parts.push(e.message)
  return parts.join(' / ')
}

async function authorizationRequest(config: client.Configuration, extra: Record<string, string> = {}) {
  const verifier = client.randomPKCECodeVerifier()
  const nonce = client.randomNonce()
  const state = client.randomState()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: 'openid profile loans:read', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', nonce, state, ...extra,
  })
  return { url, verifier, nonce, state }
}

for (const engine of await availableEngines()) {
  describe(`openid-client (a certified relying party) against Mandate on ${engine}`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine)
    })
    after(() => server.close())

    test('discovery: the OpenID Provider metadata openid-client needs, with every OIDC Discovery 1.0 §3 REQUIRED member', async () => {
      const config = await discover(server, await registerCodeClient(server, 'confidential'))
      const meta = config.serverMetadata()
      assert.equal(meta.issuer, server.issuer)
      for (const required of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'response_types_supported', 'subject_types_supported', 'id_token_signing_alg_values_supported'] as const) {
        assert.ok(meta[required] !== undefined, `${required} is advertised`)
      }
      assert.equal(meta.userinfo_endpoint, `${server.issuer}/userinfo`)
      assert.deepEqual(meta.id_token_signing_alg_values_supported, ['ES256'])
      assert.ok(meta.scopes_supported?.includes('openid') && meta.scopes_supported.includes('profile'))
      assert.ok(meta.claims_supported?.includes('nonce') && meta.claims_supported.includes('auth_time'))
      assert.deepEqual(meta.code_challenge_methods_supported, ['S256'])
      assert.deepEqual(meta.response_modes_supported, ['query'])
      assert.deepEqual(meta.prompt_values_supported, ['none', 'login', 'consent'])
      // OIDC Discovery 1.0 §3 assumes request_uri support when this is omitted.
      assert.equal(meta.request_uri_parameter_supported, false)
    })

    for (const kind of ['confidential', 'public'] as const) {
      test(`a ${kind} client: code + PKCE (S256) + nonce, the ID token validated, userinfo, and refresh with rotation`, async () => {
        const registered = await registerCodeClient(server, kind)
        const config = await discover(server, registered)
        const person = await createPerson(server, { display_name: 'Ada Lovelace' })
        const browser = new BrowserClient(server)
        const { url, verifier, nonce, state } = await authorizationRequest(config)

        const signInStarted = Math.floor(Date.now() / 1000)
        const callback = await personApproves(server, browser, person, url)
        const signInEnded = Math.ceil(Date.now() / 1000)
        assert.equal(callback.origin + callback.pathname, REDIRECT)
        assert.equal(callback.searchParams.get('iss'), server.issuer, 'RFC 9207 iss on the redirect')

        // openid-client checks state, iss, then at the token endpoint the ID token: signature
        // (fetched from jwks_uri), iss, aud, azp, exp, iat, and that the nonce is exactly ours.
        const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state })
        assert.equal(tokens.token_type, 'bearer')
        assert.ok(tokens.id_token, 'an ID token with the openid scope')
        assert.deepEqual(decodeProtectedHeader(tokens.id_token), { alg: 'ES256', typ: 'JWT', kid: decodeProtectedHeader(tokens.access_token).kid })
        const claims = tokens.claims()!
        // The same check with jose against the published JWKS: an ID token (typ JWT) for this client.
        const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!))
        await jwtVerify(tokens.id_token, jwks, { issuer: server.issuer, audience: registered.clientId, typ: 'JWT', algorithms: ['ES256'] })
        assert.equal(claims.iss, server.issuer)
        assert.equal(claims.sub, person.id)
        assert.equal(claims.aud, registered.clientId)
        assert.equal(claims.azp, registered.clientId)
        assert.equal(claims.nonce, nonce)
        assert.equal(claims.name, 'Ada Lovelace')
        assert.equal(claims.preferred_username, person.username)
        assert.ok(typeof claims.auth_time === 'number' && claims.auth_time >= signInStarted && claims.auth_time <= signInEnded, `auth_time is when the person signed in: ${claims.auth_time}`)
        assert.ok(claims.exp - claims.iat === 300, 'ID tokens live 5 minutes by default')

        // OIDC Core §5.3 through the client: it checks the sub matches the ID token's.
        const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
        assert.deepEqual(info, { sub: person.id, name: 'Ada Lovelace', preferred_username: person.username })

        // Refresh: a new refresh token; presenting the parent again within the window gets the same successor.
        const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!)
        assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'the refresh token rotated')
        const retried = await client.refreshTokenGrant(config, tokens.refresh_token!)
        assert.equal(retried.refresh_token, refreshed.refresh_token, 'a retry within the window gets the same successor')
        // OIDC Core §12.2: an ID token on refresh names the same person and client, the original auth_time, and no nonce.
        const again = refreshed.claims()
        assert.ok(again, 'an ID token on refresh (openid was granted)')
        assert.equal(again.sub, claims.sub)
        assert.equal(again.aud, claims.aud)
        assert.equal(again.auth_time, claims.auth_time)
        assert.equal(again.nonce, undefined)
        assert.deepEqual(await client.fetchUserInfo(config, refreshed.access_token, claims.sub), info)
      })
    }

    test('openid-client refuses an ID token whose nonce is not the one it sent, and a userinfo answer about someone else', async () => {
      const registered = await registerCodeClient(server, 'confidential')
      const config = await discover(server, registered)
      const person = await createPerson(server)
      const browser = new BrowserClient(server)
      const first = await authorizationRequest(config)
      const tokens = await client.authorizationCodeGrant(config, await personApproves(server, browser, person, first.url), { pkceCodeVerifier: first.verifier, expectedNonce: first.nonce, expectedState: first.state })
      // The consent is live now: the second request goes straight back with a code, and its ID token carries that request's nonce.
      const second = await authorizationRequest(config)
      const callback = await personApproves(server, browser, person, second.url)
      await assert.rejects(
        client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: second.verifier, expectedNonce: first.nonce, expectedState: second.state }),
        (err: unknown) => /"nonce" claim value/.test(messages(err)),
      )
      await assert.rejects(client.fetchUserInfo(config, tokens.access_token, 'usr_someone_else'), (err: unknown) => /"sub" property value/.test(messages(err)))
    })

    test('without openid there is no ID token, and userinfo refuses the access token (insufficient_scope)', async () => {
      const registered = await registerCodeClient(server, 'confidential')
      const config = await discover(server, registered)
      const person = await createPerson(server)
      const { url, verifier, state } = await authorizationRequest(config, { scope: 'loans:read' })
      url.searchParams.delete('nonce')
      const tokens = await client.authorizationCodeGrant(config, await personApproves(server, new BrowserClient(server), person, url), { pkceCodeVerifier: verifier, expectedState: state })
      assert.equal(tokens.id_token, undefined)
      await assert.rejects(client.fetchUserInfo(config, tokens.access_token, person.id), (err: unknown) => {
        assert.ok(err instanceof client.WWWAuthenticateChallengeError, String(err))
        assert.equal(err.cause[0]?.parameters.error, 'insufficient_scope')
        return true
      })
    })
  })
}
