import { errors, jwtVerify, type JWTPayload } from 'jose'
import type { Discovery } from '../discovery/metadata.js'
import type { FetchLike } from '../http/transport.js'
import { JwksCache, KeysUnavailableError, WithdrawnKeyError } from './jwks.js'

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
  /** Signing keys withdrawn on the revocation feed: never trusted, whatever the JWKS says. */
  isWithdrawnKey: (kid: string) => boolean
}

/** Why a JWT was refused: the token's fault (invalid_token) or ours (keys unreachable). */
export type JwtOutcome = { ok: true; payload: JWTPayload; kid: string | undefined } | { ok: false; invalid: string } | { ok: false; unavailable: string }

/** Signature, `typ`, algorithm and RFC 9068 §4 claim checks, with the issuer's JWKS cached (jwks.ts). */
export class JwtCheck {
  private readonly keys: JwksCache

  constructor(
    discovery: Discovery,
    private readonly o: JwtCheckOptions,
  ) {
    this.keys = new JwksCache({
      url: async () => (await discovery.metadata()).jwks_uri,
      fetch: o.fetch,
      now: o.now,
      cooldownMs: o.jwksCooldownSeconds * 1000,
      maxAgeMs: o.jwksCacheMaxAgeSeconds * 1000,
      isWithdrawn: o.isWithdrawnKey,
    })
  }

  async check(token: string): Promise<JwtOutcome> {
    if (token.length > MAX_TOKEN_LENGTH || token.split('.').length !== 3) return { ok: false, invalid: 'the token is not a signed JWT' }
    try {
      const { payload, protectedHeader } = await jwtVerify(token, this.keys.getKey, {
        issuer: this.o.issuer, // RFC 9068 §4: iss must be the issuer
        audience: [...this.o.audience], // RFC 9068 §4: aud must contain this resource
        algorithms: [...this.o.algorithms], // RFC 8725 §3.1: only the algorithms we expect, never "none"
        typ: ACCESS_TOKEN_TYP, // RFC 9068 §4: refuse ID tokens and other JWTs
        clockTolerance: this.o.clockToleranceSeconds,
        currentDate: new Date(this.o.now()),
        requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
      })
      return { ok: true, payload, kid: protectedHeader.kid }
    } catch (err) {
      return refusal(err)
    }
  }
}

function refusal(err: unknown): JwtOutcome {
  if (err instanceof WithdrawnKeyError) return { ok: false, invalid: 'the token was signed with a withdrawn key' }
  if (err instanceof KeysUnavailableError) return { ok: false, unavailable: "the authorization server's keys could not be fetched" }
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
