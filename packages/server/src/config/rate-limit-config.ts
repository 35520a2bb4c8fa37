import type { RatePolicy } from '../ports/rate-limiter.js'

// Thrown as the caller's ConfigError; passed in so this file need not import config.ts.
type Fail = (message: string) => Error

/**
 * Per-address limits where nobody has authenticated yet. Registration: a fleet behind one NAT
 * address can bring 200 agents up at once and 20 more every second, while one address cannot
 * keep the registration path (a database write) busy. Failed client authentications: a
 * mistyped secret retried in a loop is answered 401 ten times a second, then 429; a correct
 * secret is never held back by them.
 */
export const DEFAULT_REGISTER_RATE_LIMIT: Readonly<RatePolicy> = Object.freeze({ perSecond: 20, burst: 200 })
export const DEFAULT_AUTH_FAILURE_RATE_LIMIT: Readonly<RatePolicy> = Object.freeze({ perSecond: 10, burst: 100 })

/** `<per_second>:<burst>`, e.g. `20:200`: a number from 0.001 to 100000, and an integer from 1 to 1000000. */
export function parseRatePolicy(raw: string, what: string, fail: Fail): RatePolicy {
  const m = /^\s*(\d+(?:\.\d+)?)\s*:\s*(\d+)\s*$/.exec(raw)
  const perSecond = m ? Number(m[1]) : NaN
  const burst = m ? Number(m[2]) : NaN
  if (!(perSecond >= 0.001 && perSecond <= 100_000) || !Number.isInteger(burst) || burst < 1 || burst > 1_000_000) {
    throw fail(`${what} must be <per_second>:<burst>, e.g. 20:200 (per_second from 0.001 to 100000, burst a whole number from 1 to 1000000), got "${raw.slice(0, 32)}"`)
  }
  return { perSecond, burst }
}

/** A redis:// or rediss:// URL with a host, an optional port and an optional database number. */
export function parseRedisUrl(raw: string, fail: Fail): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw fail('Redis URL is not a valid URL; use redis://host:6379 or rediss://host:6380')
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw fail(`unsupported Redis URL scheme "${url.protocol.slice(0, 16)}"; use redis:// or rediss:// (TLS)`)
  if (url.hostname === '') throw fail('Redis URL needs a host, e.g. redis://127.0.0.1:6379')
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,5}$/.test(url.pathname)) throw fail('Redis URL path must be a database number, e.g. redis://host:6379/0')
  if (url.hash) throw fail('Redis URL must not have a fragment')
  return raw
}

/** Up to 64 printable ASCII characters, no spaces; may be empty. */
export function parseRedisTimeout(raw: string, fail: Fail): number {
  const ms = Number(raw)
  if (!/^\d+$/.test(raw) || ms < 10 || ms > 10_000) throw fail(`the Redis timeout must be a whole number of milliseconds from 10 to 10000, got ${JSON.stringify(raw.slice(0, 32))}`)
  return ms
}

export function parseRedisPrefix(raw: string, fail: Fail): string {
  if (!/^[\x21-\x7e]{0,64}$/.test(raw)) throw fail('Redis key prefix must be at most 64 printable ASCII characters without spaces')
  return raw
}
