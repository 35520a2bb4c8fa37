import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import * as oauth from 'oauth4webapi'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { authorizeAndApprove, codeClient, localPath, signedInPerson } from '../support/authorization.js'

// The test server is plain http on loopback; oauth4webapi refuses that unless told (its documented escape hatch).
const insecure = { [oauth.allowInsecureRequests]: true } as const

for (const engine of await availableEngines()) {
  describe(`oauth4webapi runs authorization code + PKCE + refresh against Mandate on ${engine}`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine)
    })
    after(() => server.close())

    for (const kind of ['confidential', 'public'] as const) {
      test(`a ${kind} client: discovery, authorize with S256, iss checked, code exchange, rotation, and the retry window`, async () => {
        const redirectUri = 'http://127.0.0.1:8765/callback'
        const registered = await codeClient(server, { metadata: { redirect_uris: ['http://127.0.0.1/callback'], ...(kind === 'public' ? { token_endpoint_auth_method: 'none' } : {}) } })
        const issuer = new URL(server.issuer)
        const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }))
        assert.equal(as.authorization_endpoint, `${server.issuer}/authorize`)
        assert.deepEqual(as.code_challenge_methods_supported, ['S256'])
        assert.equal(as.authorization_response_iss_parameter_supported, true)
        const client: oauth.Client = { client_id: registered.clientId }
        const clientAuth = kind === 'public' ? oauth.None() : oauth.ClientSecretBasic(registered.clientSecret!)

        const verifier = oauth.generateRandomCodeVerifier()
        const state = oauth.generateRandomState()
        const url = new URL(as.authorization_endpoint!)
        url.search = new URLSearchParams({
          response_type: 'code', client_id: client.client_id, redirect_uri: redirectUri, scope: 'read write', state,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', resource: 'https://api.example.com/',
        }).toString()

        // The person signs in and approves through the pages, as a browser would.
        const { browser } = await signedInPerson(server)
        const back = await authorizeAndApprove(browser, localPath(server, url.href))
        assert.equal(back.origin + back.pathname, redirectUri, 'any port on a loopback IP (RFC 8252 §7.3)')
        const params = oauth.validateAuthResponse(as, client, back, state)
        const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier, insecure)
        const tokens = await oauth.processAuthorizationCodeResponse(as, client, response)
        assert.equal(tokens.token_type, 'bearer')
        assert.equal(tokens.scope, 'read write')
        const jwks = createRemoteJWKSet(new URL(as.jwks_uri!))
        const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: server.issuer, audience: 'https://api.example.com/', typ: 'at+jwt' })
        assert.equal(payload.actor_type, 'human')
        assert.equal(payload.client_id, registered.clientId)

        // A replay of the same code is refused by the server, and the client library reports it.
        const replay = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier, insecure)
        await assert.rejects(oauth.processAuthorizationCodeResponse(as, client, replay), (err: unknown) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_grant')
        // …and what the code issued is gone: its refresh token no longer works.
        const revoked = await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token!, insecure)
        await assert.rejects(oauth.processRefreshTokenResponse(as, client, revoked), (err: unknown) => err instanceof oauth.ResponseBodyError && err.error === 'invalid_grant')

        // A second authorization (the consent is live: no page) and a refresh chain.
        const url2 = new URL(url)
        const verifier2 = oauth.generateRandomCodeVerifier()
        url2.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier2))
        const back2 = await authorizeAndApprove(browser, localPath(server, url2.href))
        const params2 = oauth.validateAuthResponse(as, client, back2, state)
        const tokens2 = await oauth.processAuthorizationCodeResponse(as, client, await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params2, redirectUri, verifier2, insecure))
        const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens2.refresh_token!, insecure))
        assert.notEqual(refreshed.refresh_token, tokens2.refresh_token)
        const again = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens2.refresh_token!, insecure))
        assert.equal(again.refresh_token, refreshed.refresh_token, 'a retry within the window gets the same successor')
        const narrowed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token!, { ...insecure, additionalParameters: { scope: 'read' } }))
        assert.equal(narrowed.scope, 'read')
      })
    }
  })
}
