/** A token bucket: `burst` tokens at most, refilled continuously at `perSecond`; a request takes one. */
export interface RatePolicy {
  perSecond: number
  burst: number
}

/** What one take answered. Times are milliseconds from now. */
export interface RateDecision {
  allowed: boolean
  /** Whole tokens left after this take. */
  remaining: number
  /** Until one token is back (0 when allowed). */
  retryAfterMs: number
  /** Until the bucket is full again. */
  resetMs: number
}

/**
 * Rate-limit buckets by key (an agent, an address). `take` removes one token if there is one;
 * either way the bucket is refilled for the time since it was last touched. Implementations
 * keep idle buckets only until they would be full again.
 */
export interface RateLimiter {
  take(key: string, policy: RatePolicy): Promise<RateDecision>
  /**
   * Returns one token that `take` allowed, up to the burst: for a request that was let through
   * before it could tell whether it counts (a sign-in that turned out to succeed).
   */
  giveBack(key: string, policy: RatePolicy): Promise<void>
}

/**
 * Events an operator counts (the metrics adapter implements this; its shape matches
 * `RateLimitMetrics`): `limited(kind)` for each refused request, where kind is `agent`,
 * `register` or `auth_failures`; `fallback(true)` when the shared store became unreachable and
 * buckets are node-local, `fallback(false)` when it is back.
 */
export interface RateLimitEvents {
  limited(kind: string): void
  fallback(active: boolean): void
}

export const noRateLimitEvents: RateLimitEvents = Object.freeze({ limited: () => undefined, fallback: () => undefined })
