import { ValidationFailed } from '../errors.js'

const MAX_URL = 2000

export interface HealthCheckTarget {
  url: string
  /**
   * Whether the probe may connect to a private, loopback or link-local address. Only a host the
   * operator listed by its exact name may: a wildcard entry admits public addresses only, so a
   * name under it that resolves inward (DNS rebinding, a typo) cannot turn the probe into a
   * request into the operator's network.
   */
  allowPrivate: boolean
}

/**
 * Checks a session's `health_check` against its role's allowlist. https is required, except
 * that plain http is allowed for a host the operator listed exactly (an internal endpoint).
 * Userinfo, fragments and hosts off the list are refused.
 */
export function healthCheckTarget(raw: unknown, allowlist: readonly string[]): HealthCheckTarget {
  const fail = (why: string): never => {
    throw new ValidationFailed('health_check', `health_check ${why}`)
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('must be an object { "url": "https://…" }')
  const extra = Object.keys(raw).find((k) => k !== 'url')
  if (extra !== undefined) fail(`has an unknown field: ${extra.slice(0, 64)}`)
  const urlText = (raw as { url?: unknown }).url
  if (typeof urlText !== 'string' || urlText.length > MAX_URL) return fail(`url must be a URL of at most ${MAX_URL} characters`)
  let url: URL
  try {
    url = new URL(urlText)
  } catch {
    return fail('url is not a valid absolute URL')
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail('url must be https')
  if (url.username !== '' || url.password !== '') fail('url must not carry credentials')
  if (url.hash !== '' || urlText.includes('#')) fail('url must not have a fragment')
  const host = url.hostname.toLowerCase()
  const match = matchHost(host, allowlist)
  if (match === undefined) fail(`host ${host.slice(0, 100)} is not on this role's health_check_hosts`)
  if (url.protocol === 'http:' && match !== 'exact') fail('url must be https unless its host is listed exactly in health_check_hosts')
  return { url: url.href, allowPrivate: match === 'exact' }
}

/** How a host is allowed by the list: by an exact entry, by a `*.suffix` entry, or not at all. */
export function matchHost(host: string, allowlist: readonly string[]): 'exact' | 'wildcard' | undefined {
  if (allowlist.includes(host)) return 'exact'
  for (const entry of allowlist) {
    if (entry.startsWith('*.') && host.endsWith(entry.slice(1)) && host.length > entry.length - 1) return 'wildcard'
  }
  return undefined
}
