// Thrown as the caller's ConfigError; passed in so this file need not import config.ts.
type Fail = (message: string) => Error
type Pick = (flag: string, envName: string) => string | undefined

/** Short: an ID token is read once, by the client, when it arrives (OIDC Core §3.1.3.7). */
export const DEFAULT_ID_TOKEN_TTL_SECONDS = 300

export const OIDC_FLAGS = ['id-token-ttl'] as const

export interface OidcConfig {
  /** How long an ID token is valid. Flag --id-token-ttl, env MANDATE_ID_TOKEN_TTL_SECONDS. Default 300. */
  idTokenTtlSeconds: number
}

export function oidcConfig(pick: Pick, fail: Fail): OidcConfig {
  const raw = pick('id-token-ttl', 'MANDATE_ID_TOKEN_TTL_SECONDS')
  if (raw === undefined) return { idTokenTtlSeconds: DEFAULT_ID_TOKEN_TTL_SECONDS }
  // An ID token is checked once, on arrival: a minute covers clock skew, an hour is already generous.
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 60 || Number(raw) > 3600) throw fail(`the ID token lifetime must be a whole number of seconds from 60 to 3600, got "${raw.slice(0, 32)}"`)
  return { idTokenTtlSeconds: Number(raw) }
}
