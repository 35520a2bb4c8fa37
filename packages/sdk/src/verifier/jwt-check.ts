import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import type { Discovery } from '../discovery/metadata.js'
import type { FetchLike } from '../http/transport.js'

/** RFC 9068 §2.1 */
const ACCESS_TOKEN_TYP = 'at+jwt'
/** Larger than any token Mandate issues; a bigger one is not worth parsing. */
const MAX_TOKEN_LENGTH = 16_384

export interface JwtCheckOptions {
  issuer: string
  audience: readonly string[]
  algorithms: readonly string[]
  clockToleranceSeconds: number
  jwksCooldownSeconds: number
  jwksCacheMaxAgeSeconds: number
  fetch: FetchLike
  now: () => number
}

/** Why a JWT was refused: the token's fault (invalid_token) or ours (keys unreachable). */
export type JwtOutcome = { ok: true; payload: JWTPayload } | { ok: false; invalid: string } | { ok: false; unavailable: string }

/** Signature, `typ`, algorithm and RFC 9068 §4 claim checks, with the issuer's JWKS cached by jose. */
export class JwtCheck {
  private keys: JWTVerifyGetKey | undefined

  constructor(
    private readonly discovery: Discovery,
    private readonly o: JwtCheckOptions,
  ) {}

  async check(token: string): Promise<JwtOutcome> {
    if (token.length > MAX_TOKEN_LENGTH || token.split('.').length !== 3) return { ok: false, invalid: 'the token is not a signed JWT' }
    let keys: JWTVerifyGetKey
    try {
      keys = await this.jwks()
    } catch {
      return { ok: false, unavailable: "the authorization server's metadata could not be fetched" }
    }
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: this.o.issuer, // RFC 9068 §4: iss must be the issuer
        audience: [...this.o.audience], // RFC 9068 §4: aud must contain this resource
        algorithms: [...this.o.algorithms], // RFC 8725 §3.1: only the algorithms we expect, never "none"
        typ: ACCESS_TOKEN_TYP, // RFC 9068 §4: refuse ID tokens and other JWTs
        clockTolerance: this.o.clockToleranceSeconds,
        currentDate: new Date(this.o.now()),
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
      })
      return { ok: true, payload }
    } catch (err) {
      return refusal(err)
    }
  }

  /** Built on first use, once discovery has told us the jwks_uri. */
  private async jwks(): Promise<JWTVerifyGetKey> {
    if (this.keys) return this.keys
    const md = await this.discovery.metadata()
    const fetch = this.o.fetch
    this.keys = createRemoteJWKSet(new URL(md.jwks_uri), {
      // An unknown kid refetches the JWKS at most once per cooldown, so forged kids cannot make us hammer the server.
      cooldownDuration: this.o.jwksCooldownSeconds * 1000,
      cacheMaxAge: this.o.jwksCacheMaxAgeSeconds * 1000,
      [customFetch]: (url, init) => fetch(url, init),
    })
    return this.keys
  }
}

function refusal(err: unknown): JwtOutcome {
  if (err instanceof errors.JWTExpired) return { ok: false, invalid: 'the token has expired' }
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return { ok: false, invalid: 'the token is not valid yet' }
    if (err.claim === 'typ') return { ok: false, invalid: 'the token is not an access token (typ)' }
    return { ok: false, invalid: `the token's ${err.claim} claim is not acceptable` }
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) return { ok: false, invalid: 'the token is not signed with an accepted algorithm' }
  if (err instanceof errors.JWKSNoMatchingKey) return { ok: false, invalid: 'the token is signed with an unknown key' }
  if (err instanceof errors.JWSSignatureVerificationFailed) return { ok: false, invalid: 'the token signature is invalid' }
  // A JWKS that cannot be fetched (timeout, non-200, network) is our outage, not the token's fault.
  const jwksFetch = err instanceof errors.JOSEError && err.constructor === errors.JOSEError
  if (jwksFetch || err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || !(err instanceof errors.JOSEError)) {
    return { ok: false, unavailable: "the authorization server's keys could not be fetched" }
  }
  return { ok: false, invalid: 'the token is malformed' }
}
