import type { RatePolicy } from '../ports/rate-limiter.js'
import { parseRatePolicy } from './rate-limit-config.js'

// Thrown as the caller's ConfigError; passed in so this file need not import config.ts.
type Fail = (message: string) => Error
type Pick = (flag: string, envName: string) => string | undefined

/** RFC 8628 §3.2: how long a device code and its user code live (10 minutes gives a person time to find a browser). */
export const DEFAULT_DEVICE_CODE_TTL_SECONDS = 600
/** RFC 8628 §3.2: the poll interval a client is told; §3.5 names 5 s as the default. */
export const DEFAULT_DEVICE_POLL_INTERVAL_SECONDS = 5
/**
 * POST /device_authorization per address: each request stores a row, and public clients need
 * no secret, so one address cannot fill the table; a room of devices starting at once fits.
 */
export const DEFAULT_DEVICE_ADDRESS_RATE_LIMIT: Readonly<RatePolicy> = Object.freeze({ perSecond: 2, burst: 60 })
/**
 * Mistyped user codes (RFC 8628 §5.1): per person 10 at once, then one a minute; per address
 * 50 at once, then one every 2 s. Codes typed right do not count.
 */
export const DEFAULT_USER_CODE_PERSON_RATE_LIMIT: Readonly<RatePolicy> = Object.freeze({ perSecond: 1 / 60, burst: 10 })
export const DEFAULT_USER_CODE_ADDRESS_RATE_LIMIT: Readonly<RatePolicy> = Object.freeze({ perSecond: 0.5, burst: 50 })

export const DEVICE_FLAGS = ['device-code-ttl', 'device-poll-interval', 'rate-limit-device-authorization', 'rate-limit-user-code-person', 'rate-limit-user-code-address'] as const

export interface DeviceConfig {
  deviceCodeTtlSeconds: number
  devicePollIntervalSeconds: number
  deviceAuthorizationRateLimit: RatePolicy
  userCodePersonRateLimit: RatePolicy
  userCodeAddressRateLimit: RatePolicy
}

export function deviceConfig(pick: Pick, fail: Fail): DeviceConfig {
  const policy = (flag: string, env: string, fallback: Readonly<RatePolicy>, what: string) => {
    const raw = pick(flag, env)
    return raw === undefined ? { ...fallback } : parseRatePolicy(raw, what, fail)
  }
  const ttl = whole(pick('device-code-ttl', 'MANDATE_DEVICE_CODE_TTL_SECONDS'), DEFAULT_DEVICE_CODE_TTL_SECONDS, 60, 3600, 'device code lifetime', fail)
  const interval = whole(pick('device-poll-interval', 'MANDATE_DEVICE_POLL_INTERVAL_SECONDS'), DEFAULT_DEVICE_POLL_INTERVAL_SECONDS, 1, 60, 'device poll interval', fail)
  if (interval * 2 > ttl) throw fail(`the device poll interval (${interval} s) must be at most half the device code lifetime (${ttl} s)`)
  return {
    deviceCodeTtlSeconds: ttl,
    devicePollIntervalSeconds: interval,
    deviceAuthorizationRateLimit: policy('rate-limit-device-authorization', 'MANDATE_RATE_LIMIT_DEVICE_AUTHORIZATION', DEFAULT_DEVICE_ADDRESS_RATE_LIMIT, 'the device authorization rate limit per address'),
    userCodePersonRateLimit: policy('rate-limit-user-code-person', 'MANDATE_RATE_LIMIT_USER_CODE_PERSON', DEFAULT_USER_CODE_PERSON_RATE_LIMIT, 'the user code rate limit per person'),
    userCodeAddressRateLimit: policy('rate-limit-user-code-address', 'MANDATE_RATE_LIMIT_USER_CODE_ADDRESS', DEFAULT_USER_CODE_ADDRESS_RATE_LIMIT, 'the user code rate limit per address'),
  }
}

function whole(raw: string | undefined, fallback: number, min: number, max: number, what: string, fail: Fail): number {
  if (raw === undefined) return fallback
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < min || Number(raw) > max) throw fail(`the ${what} must be a whole number of seconds from ${min} to ${max}, got "${raw.slice(0, 32)}"`)
  return Number(raw)
}
