import type { RateDecision, RateLimiter, RatePolicy } from '../../../ports/rate-limiter.js'

interface Bucket {
  tokens: number
  /** When `tokens` was last brought up to date, in the limiter's milliseconds. */
  at: number
  /** When the bucket is full again if nothing takes from it: after that it can be forgotten. */
  fullAt: number
}

export interface MemoryRateLimiterOptions {
  /**
   * Milliseconds from any fixed origin, never going back. Default: the monotonic clock
   * (`performance.now()`), so a wall-clock step neither refills nor drains buckets.
   */
  now?: () => number
  /** Buckets kept at most; past it, full buckets go first, then the least recently created. */
  maxKeys?: number
}

/**
 * Token buckets in this process: the limiter without Redis, and the fallback while Redis is
 * unreachable. One Map lookup and a little arithmetic per take; the same arithmetic as the
 * Redis script (`redis-rate-limiter.ts`).
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly now: () => number
  private readonly maxKeys: number

  constructor(options: MemoryRateLimiterOptions = {}) {
    this.now = options.now ?? (() => performance.now())
    this.maxKeys = options.maxKeys ?? 100_000
  }

  take(key: string, policy: RatePolicy): Promise<RateDecision> {
    return Promise.resolve(this.takeNow(key, policy))
  }

  giveBack(key: string, policy: RatePolicy): Promise<void> {
    this.giveBackNow(key, policy)
    return Promise.resolve()
  }

  /** The synchronous give-back behind `giveBack`. A bucket no longer held is full: nothing to return. */
  giveBackNow(key: string, policy: RatePolicy): void {
    const bucket = this.buckets.get(key)
    if (bucket === undefined) return
    const now = this.now()
    const perMs = policy.perSecond / 1000
    bucket.tokens = Math.min(policy.burst, bucket.tokens + Math.max(0, now - bucket.at) * perMs + 1)
    bucket.at = now
    bucket.fullAt = now + (policy.burst - bucket.tokens) / perMs
  }

  /** The synchronous take behind `take`. */
  takeNow(key: string, policy: RatePolicy): RateDecision {
    const now = this.now()
    const perMs = policy.perSecond / 1000
    let bucket = this.buckets.get(key)
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.makeRoom(now)
      bucket = { tokens: policy.burst, at: now, fullAt: now }
      this.buckets.set(key, bucket)
    } else {
      // A lowered burst caps what is left at once.
      bucket.tokens = Math.min(policy.burst, bucket.tokens + Math.max(0, now - bucket.at) * perMs)
      bucket.at = now
    }
    const allowed = bucket.tokens >= 1
    if (allowed) bucket.tokens -= 1
    const resetMs = (policy.burst - bucket.tokens) / perMs
    bucket.fullAt = now + resetMs
    return {
      allowed,
      remaining: Math.floor(bucket.tokens),
      retryAfterMs: allowed ? 0 : Math.ceil((1 - bucket.tokens) / perMs),
      resetMs: Math.ceil(resetMs),
    }
  }

  /** Forgets buckets that have refilled completely (they are as good as new). */
  sweep(): void {
    const now = this.now()
    for (const [key, bucket] of this.buckets) if (bucket.fullAt <= now) this.buckets.delete(key)
  }

  /** Buckets held now. */
  get size(): number {
    return this.buckets.size
  }

  private makeRoom(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.fullAt <= now) this.buckets.delete(key)
    if (this.buckets.size < this.maxKeys) return
    // Still full of live buckets (a flood from very many addresses): drop the oldest tenth.
    let drop = Math.max(1, Math.floor(this.maxKeys / 10))
    for (const key of this.buckets.keys()) {
      this.buckets.delete(key)
      if (--drop === 0) break
    }
  }
}
