import { noRateLimitEvents, type RateDecision, type RateLimitEvents, type RateLimiter, type RatePolicy } from '../../ports/rate-limiter.js'

/** The shared limiter (Redis) as the fallback sees it. */
export interface SharedRateLimiter extends RateLimiter {
  /** Resolves when the shared store answers. */
  ping(): Promise<void>
}

export interface FallbackLog {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
}

export interface RateLimiterHealth {
  /** `shared`: buckets in Redis; `local`: Redis is unreachable, buckets are this node's. */
  mode: 'shared' | 'local'
  /** Takes answered from local buckets because Redis was unreachable, since start. */
  fallbackTakes: number
  /** Times Redis became unreachable (or was at start), since start. */
  outages: number
}

/**
 * Shared buckets while Redis answers, this node's own buckets while it does not. A failed take
 * (refused connection, timeout) switches to local buckets at once and answers from them, so no
 * request fails or waits because Redis is down; from then on Redis is not asked on the request
 * path at all, only probed every `probeIntervalMs` (and whenever the connection reports ready),
 * and the first probe that succeeds switches back. One warning when it goes, one info line
 * when it is back; `events` and `health()` count both for metrics.
 */
export class FallbackRateLimiter implements RateLimiter {
  private up = true
  private fallbackTakes = 0
  private outages = 0
  private probeTimer: NodeJS.Timeout | undefined
  private probing = false
  private closed = false

  constructor(
    private readonly shared: SharedRateLimiter,
    private readonly local: RateLimiter,
    private readonly log: FallbackLog,
    private readonly events: RateLimitEvents = noRateLimitEvents,
    private readonly probeIntervalMs = 1000,
  ) {}

  take(key: string, policy: RatePolicy): Promise<RateDecision> {
    if (this.up) {
      return this.shared.take(key, policy).catch((err: unknown) => {
        this.wentDown(err)
        return this.takeLocal(key, policy)
      })
    }
    return this.takeLocal(key, policy)
  }

  giveBack(key: string, policy: RatePolicy): Promise<void> {
    if (this.up) {
      return this.shared.giveBack(key, policy).catch((err: unknown) => {
        this.wentDown(err)
        return this.local.giveBack(key, policy)
      })
    }
    return this.local.giveBack(key, policy)
  }

  /** Redis could not be reached at start: begin on local buckets and keep probing. */
  startDown(err: unknown): void {
    this.wentDown(err, 'Redis is unreachable at start; rate limits use this node\'s own buckets until it answers')
  }

  /** Probes at once (e.g. the connection just became ready) rather than at the next interval. */
  probeSoon(): void {
    if (!this.up) void this.probe()
  }

  health(): RateLimiterHealth {
    return { mode: this.up ? 'shared' : 'local', fallbackTakes: this.fallbackTakes, outages: this.outages }
  }

  close(): void {
    this.closed = true
    clearInterval(this.probeTimer)
  }

  private takeLocal(key: string, policy: RatePolicy): Promise<RateDecision> {
    this.fallbackTakes++
    return this.local.take(key, policy)
  }

  private wentDown(err: unknown, msg = 'Redis is unreachable; rate limits use this node\'s own buckets until it is back'): void {
    if (!this.up) return
    this.up = false
    this.outages++
    this.log.warn({ err: err instanceof Error ? err.message : String(err) }, msg)
    this.events.fallback(true)
    if (this.closed) return
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs)
    this.probeTimer.unref()
  }

  private async probe(): Promise<void> {
    if (this.up || this.probing || this.closed) return
    this.probing = true
    try {
      await this.shared.ping()
      if (this.up || this.closed) return
      this.up = true
      clearInterval(this.probeTimer)
      this.probeTimer = undefined
      this.log.info({ local_takes: this.fallbackTakes }, 'Redis is reachable again; rate limits use the shared buckets')
      this.events.fallback(false)
    } catch {
      // Still down: the next probe tries again.
    } finally {
      this.probing = false
    }
  }
}
