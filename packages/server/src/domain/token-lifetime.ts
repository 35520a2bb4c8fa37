/**
 * When an access token issued at `now` (ms) with a lifetime of `ttlSeconds` expires, as a JWT
 * `exp` (whole seconds). Rounded up, never down: `expires_in` tells the client the token lives
 * `ttlSeconds` from the response (RFC 6749 §5.1), so `exp` may not come sooner. Rounding down
 * from an `iat` that was itself rounded down took up to a second off, which for a one-second
 * token could leave it a few milliseconds to live.
 */
export function tokenExpiry(now: number, ttlSeconds: number): number {
  return Math.ceil(now / 1000) + ttlSeconds
}

/**
 * The latest moment (ms) at which an access token issued at or before `now`, with a lifetime of
 * at most `maxTtlSeconds`, can still be valid: how long a revocation made at `now` must be kept.
 */
export function latestTokenExpiry(now: number, maxTtlSeconds: number): number {
  return tokenExpiry(now, maxTtlSeconds) * 1000
}
