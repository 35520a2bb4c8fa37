import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { SignJWT, decodeProtectedHeader, decodeJwt } from 'jose'
import { BearerError, createVerifier, silentLogger, VerifierUnavailableError, type Verifier } from '../src/index.js'
import { countingFetch } from './support/fetches.js'
import { startKeyIssuer } from './support/key-issuer.js'
import { registeredAgent, startTestServer, type TestServer } from './support/mandate-server.js'
import { delay, rejection } from './support/waiting.js'

const RS = 'https://rs.example'
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

describe('verifier: tokens from a real server', () => {
  let server: TestServer
  let token: string
  let verifier: Verifier
  before(async () => {
    server = await startTestServer('sqlite')
    const { agent } = await registeredAgent(server, { scopes: ['loans:read', 'loans:write'] })
    token = (await agent.clientCredentialsToken({ resource: RS })).accessToken
    verifier = createVerifier({ issuer: server.issuer, audience: RS, logger: silentLogger })
  })
  after(async () => {
    verifier.close()
    await server.close()
  })

  test('a valid token gives typed claims, scope as a string and as a list', async () => {
    const c = await verifier.verify(token)
    assert.match(c.sub, /^agt_/)
    assert.equal(c.client_id, c.sub)
    assert.deepEqual(c.aud, [RS])
    assert.equal(c.scope, 'loans:read loans:write')
    assert.deepEqual(c.scopes, ['loans:read', 'loans:write'])
    assert.equal(c.actor_type, 'agent')
    assert.equal(typeof c.role, 'string')
    assert.equal(typeof c.jti, 'string')
    assert.ok(c.exp > c.iat)
  })

  test('a token for another audience is invalid_token with a ready WWW-Authenticate', async () => {
    const other = createVerifier({ issuer: server.issuer, audience: 'https://other.example', realm: 'loans', resourceMetadata: 'https://other.example/.well-known/oauth-protected-resource', logger: silentLogger })
    const err = await rejection(other.verify(token), BearerError)
    assert.equal(err.code, 'invalid_token')
    assert.equal(err.status, 401)
    assert.equal(err.wwwAuthenticate, `Bearer realm="loans", error="invalid_token", error_description="the token's aud claim is not acceptable", resource_metadata="https://other.example/.well-known/oauth-protected-resource"`)
  })

  test('alg "none" and an HS256 token under the real kid are refused (algorithm allowlist)', async () => {
    const { kid } = decodeProtectedHeader(token)
    const claims = decodeJwt(token)
    const none = `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims)}.`
    assert.equal((await rejection(verifier.verify(none), BearerError)).code, 'invalid_token')
    // The classic confusion attack: HMAC keyed with something public.
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid }).sign(new TextEncoder().encode(kid ?? 'secret-secret-secret-secret-secret'))
    const err = await rejection(verifier.verify(hs), BearerError)
    assert.equal(err.description, 'the token is not signed with an accepted algorithm')
  })

  test('a tampered payload fails the signature check', async () => {
    const [h, , s] = token.split('.')
    const forged = `${h}.${b64({ ...decodeJwt(token), scope: 'loans:admin' })}.${s}`
    assert.equal((await rejection(verifier.verify(forged), BearerError)).description, 'the token signature is invalid')
  })

  test('requiredScopes: a missing scope is insufficient_scope, 403, naming the scope needed', async () => {
    const err = await rejection(verifier.verify(token, { requiredScopes: ['loans:read', 'loans:admin'] }), BearerError)
    assert.equal(err.code, 'insufficient_scope')
    assert.equal(err.status, 403)
    assert.match(err.wwwAuthenticate, /error="insufficient_scope"/)
    assert.match(err.wwwAuthenticate, /scope="loans:read loans:admin"/)
    assert.ok(await verifier.verify(token, { requiredScopes: ['loans:write'] }))
  })

  test('Authorization header parsing (RFC 6750 §2.1): missing is a bare challenge, malformed is invalid_request', async () => {
    const missing = await rejection(verifier.authenticate(undefined), BearerError)
    assert.equal(missing.status, 401)
    assert.equal(missing.tokenMissing, true)
    assert.equal(missing.wwwAuthenticate, `Bearer realm="${RS}"`)
    assert.equal((await rejection(verifier.authenticate('Basic abc'), BearerError)).tokenMissing, true)
    const malformed = await rejection(verifier.authenticate('Bearer not a token'), BearerError)
    assert.equal(malformed.code, 'invalid_request')
    assert.equal(malformed.status, 400)
    assert.ok(await verifier.authenticate(`bearer ${token}`))
  })
})

describe('verifier: JWT rules, with an issuer whose keys the test holds', () => {
  let keys: Awaited<ReturnType<typeof startKeyIssuer>>
  let kid: string
  let verifier: Verifier
  before(async () => {
    keys = await startKeyIssuer()
    kid = await keys.newKey()
    verifier = createVerifier({ issuer: keys.issuer, audience: RS, logger: silentLogger })
  })
  after(async () => {
    verifier.close()
    await keys.close()
  })
  const now = () => Math.floor(Date.now() / 1000)
  const refusal = async (t: Promise<string>) => (await rejection(verifier.verify(await t), BearerError)).description

  test('typ must be at+jwt (RFC 9068 §4)', async () => {
    assert.ok(await verifier.verify(await keys.sign(kid)))
    assert.ok(await verifier.verify(await keys.sign(kid, {}, { typ: 'application/at+jwt' })))
    assert.equal(await refusal(keys.sign(kid, {}, { typ: 'JWT' })), 'the token is not an access token (typ)')
  })

  test('iss must be the configured issuer', async () => {
    assert.equal(await refusal(keys.sign(kid, { iss: 'https://evil.example' })), "the token's iss claim is not acceptable")
  })

  test('expired and not-yet-valid tokens are refused beyond the clock tolerance, accepted within it', async () => {
    assert.equal(await refusal(keys.sign(kid, { iat: now() - 600, exp: now() - 60 })), 'the token has expired')
    assert.ok(await verifier.verify(await keys.sign(kid, { iat: now() - 600, exp: now() - 2 })), 'within the default 5 s tolerance')
    assert.equal(await refusal(keys.sign(kid, { nbf: now() + 60 })), 'the token is not valid yet')
    assert.ok(await verifier.verify(await keys.sign(kid, { nbf: now() + 2 })))
  })

  test('RFC 9068 §2.2 required claims: a token without jti or client_id is refused', async () => {
    assert.match(await refusal(keys.sign(kid, { jti: undefined })), /jti/)
    assert.match(await refusal(keys.sign(kid, { client_id: undefined })), /client_id/)
  })

  test('an unknown kid refetches the JWKS, at most once per cooldown', async () => {
    const counter = countingFetch()
    const v = createVerifier({ issuer: keys.issuer, audience: RS, jwksCooldownSeconds: 1, fetch: counter.fetch, logger: silentLogger })
    try {
      assert.ok(await v.verify(await keys.sign(kid)))
      assert.equal(counter.count('/jwks'), 1)
      // A rotation: a key the cached JWKS does not have yet.
      const rotated = await keys.newKey(false)
      const unknown = await keys.sign(rotated)
      keys.publish(rotated)
      // Within the cooldown a flood of unknown kids costs no fetch at all.
      for (let i = 0; i < 20; i++) assert.equal((await rejection(v.verify(unknown), BearerError)).description, 'the token is signed with an unknown key')
      assert.equal(counter.count('/jwks'), 1)
      await delay(1100)
      assert.ok(await v.verify(unknown), 'after the cooldown the new key is fetched and accepted')
      assert.equal(counter.count('/jwks'), 2)
      await Promise.all(Array.from({ length: 10 }, async () => rejection(v.verify(await keys.sign(await keys.newKey(false))), BearerError)))
      assert.equal(counter.count('/jwks'), 2, 'still within the cooldown of that refetch')
    } finally {
      v.close()
    }
  })

  test("the JWKS response's Cache-Control max-age, when shorter than jwksCacheMaxAgeSeconds, bounds how long its keys are used", async () => {
    const counter = countingFetch()
    // jwksCacheMaxAgeSeconds is left at its default (600 s).
    const v = createVerifier({ issuer: keys.issuer, audience: RS, jwksCooldownSeconds: 1, fetch: counter.fetch, logger: silentLogger })
    const dropped = await keys.newKey()
    keys.jwks.cacheControl = 'public, max-age=2'
    try {
      const token = await keys.sign(dropped)
      assert.ok(await v.verify(token))
      const fetchedAt = performance.now()
      // The key leaves the JWKS; within max-age the keys at hand are still used.
      keys.unpublish(dropped)
      await delay(1000)
      assert.ok(await v.verify(token))
      assert.equal(counter.count('/jwks'), 1)
      await delay(Math.max(0, fetchedAt + 2100 - performance.now()))
      assert.equal((await rejection(v.verify(token), BearerError)).description, 'the token is signed with an unknown key')
      assert.equal(counter.count('/jwks'), 2, 'fetched again once max-age had passed')
      assert.ok(await v.verify(await keys.sign(kid)))
      assert.equal(counter.count('/jwks'), 2)
    } finally {
      keys.jwks.cacheControl = undefined
      v.close()
    }
  })

  test('a max-age longer than jwksCacheMaxAgeSeconds does not extend it; no-store does not make every token fetch the keys', async () => {
    const counter = countingFetch()
    const v = createVerifier({ issuer: keys.issuer, audience: RS, jwksCacheMaxAgeSeconds: 1, jwksCooldownSeconds: 1, fetch: counter.fetch, logger: silentLogger })
    const dropped = await keys.newKey()
    keys.jwks.cacheControl = 'max-age=3600'
    try {
      const token = await keys.sign(dropped)
      assert.ok(await v.verify(token))
      keys.unpublish(dropped)
      await delay(1100)
      assert.equal((await rejection(v.verify(token), BearerError)).description, 'the token is signed with an unknown key')
      assert.equal(counter.count('/jwks'), 2)

      // no-store: keys are still used for at least the cooldown, so a busy API does not fetch them per request.
      keys.jwks.cacheControl = 'no-store'
      await delay(1100)
      const good = await keys.sign(kid)
      for (let i = 0; i < 50; i++) assert.ok(await v.verify(good))
      assert.equal(counter.count('/jwks'), 3)
    } finally {
      keys.jwks.cacheControl = undefined
      v.close()
    }
  })

  test('past max-age with the JWKS unreachable, the keys at hand are used up to jwksCacheMaxAgeSeconds (one try per cooldown), then tokens get 503', async () => {
    const counter = countingFetch()
    const v = createVerifier({ issuer: keys.issuer, audience: RS, jwksCacheMaxAgeSeconds: 3, jwksCooldownSeconds: 1, fetch: counter.fetch, logger: silentLogger })
    keys.jwks.cacheControl = 'max-age=1'
    try {
      const token = await keys.sign(kid)
      assert.ok(await v.verify(token))
      const fetchedAt = performance.now()
      keys.jwks.failing = true
      await delay(1100)
      // Stale by max-age, the server unreachable: the keys at hand still serve, and a burst costs one try.
      for (let i = 0; i < 20; i++) assert.ok(await v.verify(token))
      assert.equal(counter.count('/jwks'), 2)
      await delay(Math.max(0, fetchedAt + 3100 - performance.now()))
      const unavailable = await rejection(v.verify(token), VerifierUnavailableError)
      assert.equal(unavailable.status, 503)
      keys.jwks.failing = false
      assert.ok(await v.verify(token), 'back once the JWKS can be fetched again')
    } finally {
      keys.jwks.failing = false
      keys.jwks.cacheControl = undefined
      v.close()
    }
  })
})
