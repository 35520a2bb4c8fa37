import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose'
import { freshStorage } from '../../../support/storage.js'
import { KeyService } from '../../../../src/crypto/key-service.js'
import { envelope } from '../../../../src/crypto/envelope.js'
import { ManualClock } from '../../../../src/ports/clock.js'
import { accessTokens } from '../../../../src/protocol/access-token.js'
import { idTokens, ID_TOKEN_TYP, type IdTokenIssuer } from '../../../../src/protocol/oidc/id-token.js'

const ISSUER = 'https://mandate.example'
const NOW = Date.UTC(2026, 11, 4, 12, 0, 0, 250)
const SIGNED_IN = NOW - 90_500
const person = { id: 'usr_01JEXAMPLE', username: 'Ada.Lovelace', displayName: 'Ada Lovelace' }

describe('ID tokens (OpenID Connect Core 1.0 §2, §3.1.3.6-7)', () => {
  const clock = new ManualClock(NOW)
  let keys: KeyService
  let issuer: IdTokenIssuer
  let close: () => Promise<void>
  // What /jwks serves: the KeyService's published set.
  const jwks = () => createLocalJWKSet(JSON.parse(keys.jwks()) as JSONWebKeySet)
  const verify = (token: string, at = clock.now(), audience = 'agt_client') =>
    jwtVerify(token, jwks(), { issuer: ISSUER, audience, typ: 'JWT', algorithms: ['ES256'], currentDate: new Date(at), clockTolerance: 0 })

  before(async () => {
    const fresh = await freshStorage('sqlite')
    close = fresh.close
    keys = new KeyService(fresh.storage.keys, envelope(new Uint8Array(32).fill(3)), clock, { domain: 'agent-tokens', alg: 'ES256', retiredPublishSeconds: 3600 })
    await keys.start()
    issuer = idTokens({ keys, issuer: () => ISSUER, clock, ttlSeconds: 300 })
  })
  after(() => close())

  test('header: ES256, typ JWT (not at+jwt), the kid of the active key published at /jwks', async () => {
    const token = await issuer.issue({ user: person, clientId: 'agt_client', authTime: SIGNED_IN, scope: ['openid'] })
    const header = decodeProtectedHeader(token)
    assert.deepEqual(header, { alg: 'ES256', typ: ID_TOKEN_TYP, kid: keys.signer().kid })
    assert.equal(ID_TOKEN_TYP, 'JWT')
    const published = (JSON.parse(keys.jwks()) as JSONWebKeySet).keys.map((k) => k.kid)
    assert.ok(published.includes(header.kid), 'the signing key is in the JWKS')
  })

  test('claims: iss, sub (the person), aud and azp (the client), iat now, exp after the configured lifetime, auth_time in seconds', async () => {
    const token = await issuer.issue({ user: person, clientId: 'agt_client', authTime: SIGNED_IN, scope: ['openid'] })
    const { payload } = await verify(token)
    const iat = Math.floor(NOW / 1000)
    assert.deepEqual(payload, { iss: ISSUER, sub: person.id, aud: 'agt_client', exp: iat + 300, iat, auth_time: Math.floor(SIGNED_IN / 1000), azp: 'agt_client' })
    assert.equal('nonce' in payload, false, 'no nonce when the request had none')
    assert.equal('name' in payload, false, 'no profile claims without the profile scope')
  })

  test('the nonce is echoed exactly, whatever characters it holds', async () => {
    for (const nonce of ['n-0S6_WzA2Mj', 'a b+c/d=e', '"quoted" \\ back', 'ünïcödé ✓ 🔐', 'x'.repeat(512)]) {
      const { payload } = await verify(await issuer.issue({ user: person, clientId: 'agt_client', authTime: SIGNED_IN, scope: ['openid'], nonce }))
      assert.equal(payload.nonce, nonce)
    }
  })

  test('profile scope adds name (the display name) and preferred_username; the scope may come space-delimited', async () => {
    const asList = decodeJwt(await issuer.issue({ user: person, clientId: 'agt_client', authTime: SIGNED_IN, scope: ['openid', 'profile'] }))
    const asString = decodeJwt(await issuer.issue({ user: person, clientId: 'agt_client', authTime: SIGNED_IN, scope: 'openid profile' }))
    for (const claims of [asList, asString]) {
      assert.equal(claims.name, 'Ada Lovelace')
      assert.equal(claims.preferred_username, 'Ada.Lovelace')
    }
    // A scope that merely contains "profile" as a substring releases nothing.
    const lookalike = decodeJwt(await issuer.issue({ user: person, clientId: 'agt_client', authTime: SIGNED_IN, scope: 'openid profiles myprofile' }))
    assert.equal(lookalike.name, undefined)
  })

  test('sid is included when given', async () => {
    const claims = decodeJwt(await issuer.issue({ user: person, clientId: 'agt_client', authTime: SIGNED_IN, scope: ['openid'], sid: 'uss_abc' }))
    assert.equal(claims.sid, 'uss_abc')
  })

  test('refused for another audience and once expired (exp is exclusive, as jose and OIDC §3.1.3.7 judge it)', async () => {
    const token = await issuer.issue({ user: person, clientId: 'agt_client', authTime: SIGNED_IN, scope: ['openid'] })
    await assert.rejects(verify(token, NOW, 'agt_other'), joseErrors.JWTClaimValidationFailed)
    const exp = decodeJwt(token).exp! * 1000
    await verify(token, exp - 1)
    await assert.rejects(verify(token, exp), joseErrors.JWTExpired)
  })

  test('an ID token is never accepted as an access token (the access-token verifier requires typ at+jwt)', async () => {
    const token = await issuer.issue({ user: person, clientId: 'agt_client', authTime: SIGNED_IN, scope: ['openid'] })
    const verifier = accessTokens(keys, () => ISSUER)
    assert.equal(await verifier.verify(token, NOW), undefined)
  })

  test('after a rotation, new ID tokens are signed by the new key and the old ones still verify while it is published', async () => {
    const before = await issuer.issue({ user: person, clientId: 'agt_client', authTime: SIGNED_IN, scope: ['openid'] })
    const rotated = await keys.rotate({ force: true })
    const afterRotation = await issuer.issue({ user: person, clientId: 'agt_client', authTime: SIGNED_IN, scope: ['openid'] })
    assert.equal(decodeProtectedHeader(afterRotation).kid, rotated.kid)
    assert.notEqual(decodeProtectedHeader(before).kid, rotated.kid)
    await verify(before)
    await verify(afterRotation)
  })
})
