import type { RatePolicy } from '../ports/rate-limiter.js'
import { parseRatePolicy } from './rate-limit-config.js'

// Thrown as the caller's ConfigError; passed in so this file need not import config.ts.
type Fail = (message: string) => Error
type Pick = (flag: string, envName: string) => string | undefined

/**
 * Failed sign-ins (OWASP Authentication Cheat Sheet, "Protect against automated attacks").
 * Per account: every attempt spends one; 10 at once, then one a minute, so guessing one
 * person's password gets about 1,440 tries a day at most. Per address: failures spend one
 * (successes are given back, so colleagues behind one NAT address never hold each other up);
 * 50 at once, then one every 2 s.
 */
export const DEFAULT_SIGNIN_ACCOUNT_RATE_LIMIT: Readonly<RatePolicy> = Object.freeze({ perSecond: 1 / 60, burst: 10 })
export const DEFAULT_SIGNIN_ADDRESS_RATE_LIMIT: Readonly<RatePolicy> = Object.freeze({ perSecond: 0.5, burst: 50 })

/** OWASP Session Management Cheat Sheet: idle 15 to 30 minutes and an absolute timeout of a working day or so for people. */
export const DEFAULT_USER_SESSION_IDLE_SECONDS = 1800
export const DEFAULT_USER_SESSION_MAX_SECONDS = 43_200

export const PEOPLE_FLAGS = ['user-session-idle', 'user-session-max', 'rate-limit-signin-account', 'rate-limit-signin-address'] as const

export interface PeopleConfig {
  /** A person's session ends after this long without a request. */
  userSessionIdleSeconds: number
  /** … and this long after sign-in, however active. */
  userSessionMaxSeconds: number
  signInAccountRateLimit: RatePolicy
  signInAddressRateLimit: RatePolicy
}

export function peopleConfig(pick: Pick, fail: Fail): PeopleConfig {
  const idle = seconds(pick('user-session-idle', 'MANDATE_USER_SESSION_IDLE_SECONDS'), DEFAULT_USER_SESSION_IDLE_SECONDS, 'user session idle timeout', fail)
  const max = seconds(pick('user-session-max', 'MANDATE_USER_SESSION_MAX_SECONDS'), DEFAULT_USER_SESSION_MAX_SECONDS, 'user session absolute timeout', fail)
  if (idle > max) throw fail(`the user session idle timeout (${idle} s) must not exceed the absolute timeout (${max} s)`)
  const account = pick('rate-limit-signin-account', 'MANDATE_RATE_LIMIT_SIGNIN_ACCOUNT')
  const address = pick('rate-limit-signin-address', 'MANDATE_RATE_LIMIT_SIGNIN_ADDRESS')
  return {
    userSessionIdleSeconds: idle,
    userSessionMaxSeconds: max,
    signInAccountRateLimit: account === undefined ? { ...DEFAULT_SIGNIN_ACCOUNT_RATE_LIMIT } : parseRatePolicy(account, 'the sign-in rate limit per account', fail),
    signInAddressRateLimit: address === undefined ? { ...DEFAULT_SIGNIN_ADDRESS_RATE_LIMIT } : parseRatePolicy(address, 'the sign-in rate limit per address', fail),
  }
}

/** Whole seconds from 60 (a minute) to 2,592,000 (30 days). */
function seconds(raw: string | undefined, fallback: number, what: string, fail: Fail): number {
  if (raw === undefined) return fallback
  if (!/^\d{1,7}$/.test(raw) || Number(raw) < 60 || Number(raw) > 2_592_000) throw fail(`the ${what} must be a whole number of seconds from 60 to 2592000, got "${raw.slice(0, 32)}"`)
  return Number(raw)
}
