import { createHash, timingSafeEqual } from 'node:crypto'
import { InvalidGrant, InvalidRequest } from './errors.js'

/** RFC 7636 §4.1: code_verifier = 43*128unreserved, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~". */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/
/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is always 43 characters, without padding. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/

/**
 * The code challenge of an authorization request. OAuth 2.1 §4.1.1 / RFC 9700 §2.1.1: every
 * client uses PKCE, and only S256: `plain` and an omitted method (which RFC 7636 §4.3 reads as
 * plain) are refused.
 */
export function parseCodeChallenge(challenge: string | undefined, method: string | undefined): string {
  if (challenge === undefined) throw new InvalidRequest('code_challenge is required: use PKCE with S256 (RFC 7636)')
  if (method === undefined) throw new InvalidRequest('code_challenge_method is required and must be S256 (RFC 7636 §4.3 would read its absence as plain)')
  if (method !== 'S256') throw new InvalidRequest(`code_challenge_method ${method.slice(0, 16)} is not supported; use S256`)
  if (!S256_CHALLENGE.test(challenge)) throw new InvalidRequest('code_challenge must be 43 base64url characters: BASE64URL(SHA256(code_verifier))')
  return challenge
}

/**
 * RFC 7636 §4.6: checks a verifier against the challenge the code was issued with. A verifier
 * for a code issued without a challenge is refused too (RFC 9700 §4.8.2): it would show that the
 * code was not the one the client asked for.
 */
export function checkCodeVerifier(verifier: string | undefined, challenge: string | null): void {
  if (challenge === null) {
    if (verifier !== undefined) throw new InvalidGrant('code_verifier was sent but the code was issued without a code_challenge', 'verifier without challenge')
    // Every code has a challenge (PKCE is required at /authorize); one without is never redeemed.
    throw new InvalidGrant('the authorization code was issued without PKCE', 'no challenge')
  }
  if (verifier === undefined) throw new InvalidRequest('code_verifier is required') // RFC 7636 §4.5
  // RFC 7636 §4.1: 43 to 128 unreserved characters; anything else can never match.
  if (!VERIFIER.test(verifier)) throw new InvalidRequest('code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~', 'malformed verifier')
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'))
  const expected = Buffer.from(challenge)
  if (computed.length !== expected.length || !timingSafeEqual(computed, expected)) throw new InvalidGrant('code_verifier does not match the code_challenge', 'pkce mismatch')
}
