// Thrown as the caller's ConfigError; passed in so this file need not import config.ts.
type Fail = (message: string) => Error
type Pick = (flag: string, envName: string) => string | undefined

/** Issue #5 item 5: a retry of a rotation this soon returns the same successor (two processes, a lost response). */
export const DEFAULT_REFRESH_RETRY_WINDOW_SECONDS = 30

export const AUTHORIZATION_FLAGS = ['refresh-retry-window'] as const

export interface AuthorizationConfig {
  /**
   * How long after a person's refresh token was rotated re-presenting it returns the same successor
   * instead of ending the grant. Flag --refresh-retry-window, env MANDATE_REFRESH_RETRY_WINDOW_SECONDS. Default 30.
   */
  refreshRetryWindowSeconds: number
}

export function authorizationConfig(pick: Pick, fail: Fail): AuthorizationConfig {
  const raw = pick('refresh-retry-window', 'MANDATE_REFRESH_RETRY_WINDOW_SECONDS')
  if (raw === undefined) return { refreshRetryWindowSeconds: DEFAULT_REFRESH_RETRY_WINDOW_SECONDS }
  // 0 turns retries off (every re-presentation ends the grant); past 5 minutes a stolen token lingers too long.
  if (!/^\d{1,3}$/.test(raw) || Number(raw) > 300) throw fail(`the refresh retry window must be a whole number of seconds from 0 to 300, got "${raw.slice(0, 32)}"`)
  return { refreshRetryWindowSeconds: Number(raw) }
}
