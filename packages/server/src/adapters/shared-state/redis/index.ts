import { Redis } from 'ioredis'
import type { RateLimitEvents, RateLimiter } from '../../../ports/rate-limiter.js'
import { FallbackRateLimiter, type FallbackLog } from '../fallback-rate-limiter.js'
import { RedisRateLimiter } from './redis-rate-limiter.js'

export interface RedisLog extends FallbackLog {
  debug(obj: object, msg: string): void
}

export interface RedisRateLimitOptions {
  /** redis:// or rediss:// URL. */
  url: string
  /** Prepended to every key. */
  prefix: string
  /** A command not answered within this is failed, and the node falls back to local buckets. */
  commandTimeoutMs?: number
  connectTimeoutMs?: number
  probeIntervalMs?: number
}

export interface SharedRateLimits {
  limiter: FallbackRateLimiter
  close(): void
}

/**
 * Rate-limit buckets shared through Redis, falling back to `local` while Redis is unreachable.
 * An unreachable Redis at start is not an error: the node starts on local buckets and switches
 * to the shared ones once Redis answers. No command ever waits for a connection (no offline
 * queue, no retries per request): while the connection is down, takes fail at once and go local.
 */
export async function openRedisRateLimits(options: RedisRateLimitOptions, local: RateLimiter, log: RedisLog, events?: RateLimitEvents): Promise<SharedRateLimits> {
  const client = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 250,
    connectTimeout: options.connectTimeoutMs ?? 1000,
    // Reconnect for ever, at most a second apart.
    retryStrategy: (times) => Math.min(times * 100, 1000),
    // Takes issued in the same tick share one write to the socket.
    enableAutoPipelining: true,
    // RESP2: every Redis from 4 on, and managed services that refuse HELLO 3.
    protocol: 2,
    connectionName: 'mandate-rate-limits',
  })
  // Each failed reconnect emits an error; the fallback logs the outage once, so these are debug.
  client.on('error', (err: Error) => log.debug({ err: err.message }, 'Redis connection error'))
  const redis = new RedisRateLimiter(client, options.prefix)
  const limiter = new FallbackRateLimiter(redis, local, log, events, options.probeIntervalMs)
  client.on('ready', () => limiter.probeSoon())
  try {
    await client.connect()
    await redis.load()
    log.info({ redis: redacted(options.url), prefix: options.prefix }, 'rate limits are shared through Redis')
  } catch (err) {
    limiter.startDown(err)
  }
  return {
    limiter,
    close() {
      limiter.close()
      client.disconnect()
    },
  }
}

/** The URL with any password hidden, for logs. */
function redacted(raw: string): string {
  const url = new URL(raw)
  if (url.password) url.password = '***'
  return url.href
}
