import type { RatePolicy } from '../ports/rate-limiter.js'
import { parseRatePolicy } from './rate-limit-config.js'

// Thrown as the caller's ConfigError; passed in so this file need not import config.ts.
type Fail = (message: string) => Error
type Pick = (flag: string, envName: string) => string | undefined

/** Issue #5 item 5: a retry of a rotation this soon returns the same successor (two processes, a lost response). */
export const DEFAULT_REFRESH_RETRY_WINDOW_SECONDS = 30

/**
 * Requests to /authorize (and its consent form) per client address: a browser needs two or three
 * per sign-in, so a NAT of people fits easily, while one address cannot turn refusals (each one
 * audited) into a flood of audit rows.
 */
export const DEFAULT_AUTHORIZE_RATE_LIMIT: Readonly<RatePolicy> = Object.freeze({ perSecond: 10, burst: 100 })

export const AUTHORIZATION_FLAGS = ['refresh-retry-window', 'rate-limit-authorize'] as const

export interface AuthorizationConfig {
  /**
   * How long after a person's refresh token was rotated re-presenting it returns the same successor
   * instead of ending the grant. Flag --refresh-retry-window, env MANDATE_REFRESH_RETRY_WINDOW_SECONDS. Default 30.
   */
  refreshRetryWindowSeconds: number
  /** Requests to /authorize per client address. Flag --rate-limit-authorize, env MANDATE_RATE_LIMIT_AUTHORIZE (`per_second:burst`). Default 10:100. */
  authorizeRateLimit: RatePolicy
}

export function authorizationConfig(pick: Pick, fail: Fail): AuthorizationConfig {
  const limit = pick('rate-limit-authorize', 'MANDATE_RATE_LIMIT_AUTHORIZE')
  const authorizeRateLimit = limit === undefined ? { ...DEFAULT_AUTHORIZE_RATE_LIMIT } : parseRatePolicy(limit, 'the authorization request rate limit', fail)
  return { refreshRetryWindowSeconds: refreshRetryWindow(pick, fail), authorizeRateLimit }
}

function refreshRetryWindow(pick: Pick, fail: Fail): number {
  const raw = pick('refresh-retry-window', 'MANDATE_REFRESH_RETRY_WINDOW_SECONDS')
  if (raw === undefined) return DEFAULT_REFRESH_RETRY_WINDOW_SECONDS
  // 0 turns retries off (every re-presentation ends the grant); past 5 minutes a stolen token lingers too long.
  if (!/^\d{1,3}$/.test(raw) || Number(raw) > 300) throw fail(`the refresh retry window must be a whole number of seconds from 0 to 300, got "${raw.slice(0, 32)}"`)
  return Number(raw)
}
