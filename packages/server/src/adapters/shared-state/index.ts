import type { RateLimitEvents, RateLimiter } from '../../ports/rate-limiter.js'
import type { RateLimiterHealth } from './fallback-rate-limiter.js'
import { MemoryRateLimiter } from './memory/memory-rate-limiter.js'
import { openRedisRateLimits, type RedisLog } from './redis/index.js'

export type { RateLimiterHealth } from './fallback-rate-limiter.js'

export interface RateLimitBackend {
  limiter: RateLimiter
  /** `memory`: no Redis configured (mode is always `local`); `redis`: whether the shared buckets are in use, and how often they were not. */
  health(): { backend: 'memory' | 'redis' } & RateLimiterHealth
  /** Forgets in-process buckets that have refilled (run periodically). */
  sweep(): void
  close(): void
}

/**
 * The rate limiter for this node: in-process buckets, or with `redisUrl` buckets shared through
 * Redis that fall back to in-process ones while Redis is unreachable. In-process buckets refill
 * by `now` (the server's clock, so simulated time in tests is time for them too); shared ones by
 * Redis's clock.
 */
export async function openRateLimitBackend(options: { redisUrl: string | null; redisPrefix: string; redisTimeoutMs?: number; now(): number }, log: RedisLog, events?: RateLimitEvents): Promise<RateLimitBackend> {
  const local = new MemoryRateLimiter({ now: options.now })
  if (options.redisUrl === null) {
    return { limiter: local, health: () => ({ backend: 'memory', mode: 'local', fallbackTakes: 0, outages: 0 }), sweep: () => local.sweep(), close: () => undefined }
  }
  const shared = await openRedisRateLimits({ url: options.redisUrl, prefix: options.redisPrefix, commandTimeoutMs: options.redisTimeoutMs }, local, log, events)
  return {
    limiter: shared.limiter,
    health: () => ({ backend: 'redis', ...shared.limiter.health() }),
    sweep: () => local.sweep(),
    close: () => shared.close(),
  }
}
