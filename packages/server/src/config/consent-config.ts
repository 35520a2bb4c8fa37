// Thrown as the caller's ConfigError; passed in so this file need not import config.ts.
type Fail = (message: string) => Error
type Pick = (flag: string, envName: string) => string | undefined

/**
 * How long a person's consent lasts unless withdrawn. GDPR sets no fixed term; a year is a common
 * one for asking again (the EDPB's guidelines 05/2020 on consent ask controllers to refresh consent
 * at appropriate intervals), and people can withdraw sooner at /account/consents.
 */
export const DEFAULT_CONSENT_DAYS = 365
const MAX_CONSENT_DAYS = 3650

export const CONSENT_FLAGS = ['consent-days'] as const

export interface ConsentConfig {
  /** Flag --consent-days, env MANDATE_CONSENT_DAYS. Default 365; 1 to 3650. */
  consentDays: number
}

export function consentConfig(pick: Pick, fail: Fail): ConsentConfig {
  const raw = pick('consent-days', 'MANDATE_CONSENT_DAYS')
  if (raw === undefined) return { consentDays: DEFAULT_CONSENT_DAYS }
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_CONSENT_DAYS) {
    throw fail(`consent days must be a whole number from 1 to ${MAX_CONSENT_DAYS}, got "${raw.slice(0, 32)}"`)
  }
  return { consentDays: Number(raw) }
}
