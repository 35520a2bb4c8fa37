import type { RatePolicy } from '../../ports/rate-limiter.js'
import type { Lifecycle, RoleSettings } from '../../ports/role-repo.js'
import { neverProbed } from '../sessions/address-policy.js'
import { ValidationFailed } from '../errors.js'
import { isScopeToken, MAX_SCOPES } from '../scope-token.js'
import { parsePurposes } from './role-purposes.js'

export const ROLE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/
export const DEFAULT_TOKEN_TTL_SECONDS = 300
export const DEFAULT_EPHEMERAL_AGENT_TTL_SECONDS = 86_400
const MAX_AGENT_TTL_SECONDS = 366 * 86_400

export interface RoleInput {
  name: string
  settings: RoleSettings
}

export const DEFAULT_MAX_SESSION_SECONDS = 7 * 86_400
const MAX_SESSION_CEILING_SECONDS = 366 * 86_400
const MAX_HEALTH_CHECK_HOSTS = 50

/**
 * Each agent's token bucket when its role names none: 50 requests a second sustained, bursts of
 * 100. An agent needs a token every few minutes and a heartbeat every few seconds, so a healthy
 * fleet never meets it, and a whole fleet waking at once (each agent registering, taking a token
 * and starting a session) fits in the burst; a runaway retry loop is held to 50/s, a small share
 * of what one node serves, so it cannot crowd out other agents. Resource servers that introspect
 * for many callers, and load tests, get a role with a higher limit.
 */
export const DEFAULT_RATE_LIMIT: Readonly<RatePolicy> = Object.freeze({ perSecond: 50, burst: 100 })
export const MAX_RATE_PER_SECOND = 100_000
export const MAX_RATE_BURST = 1_000_000
const MIN_RATE_PER_SECOND = 0.001

const KNOWN_FIELDS = new Set(['name', 'scopes', 'token_ttl_seconds', 'max_agents', 'lifecycle', 'agent_ttl_seconds', 'can_introspect', 'max_session_seconds', 'health_check_hosts', 'rate_limit', 'purposes'])

/**
 * Validates the JSON body of POST /admin/roles (or PUT, where the name comes from the path).
 * Unknown fields are refused: a typo in an operator's policy must not pass silently.
 */
export function parseRoleInput(body: unknown, maxTokenTtlSeconds: number, nameFromPath?: string): RoleInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationFailed('body', 'body must be a JSON object')
  const b = body as Record<string, unknown>
  const unknown = Object.keys(b).filter((k) => !KNOWN_FIELDS.has(k))
  if (unknown.length > 0) throw new ValidationFailed(unknown[0]!, `unknown field: ${unknown.slice(0, 3).join(', ').slice(0, 200)}`)

  const name = nameFromPath ?? b.name
  if (nameFromPath !== undefined && b.name !== undefined && b.name !== nameFromPath) throw new ValidationFailed('name', 'name in the body differs from the path')
  if (typeof name !== 'string' || !ROLE_NAME.test(name)) throw new ValidationFailed('name', 'name must be 1-64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit')

  if (!Array.isArray(b.scopes) || b.scopes.length === 0) throw new ValidationFailed('scopes', 'scopes must be a non-empty array of scope tokens')
  if (b.scopes.length > MAX_SCOPES) throw new ValidationFailed('scopes', `a role may have at most ${MAX_SCOPES} scopes`)
  for (const s of b.scopes) {
    if (typeof s !== 'string' || !isScopeToken(s)) throw new ValidationFailed('scopes', 'each scope must be a scope token (RFC 6749 §3.3) of at most 128 characters')
  }
  const scopes = [...new Set(b.scopes as string[])]

  const tokenTtlSeconds = optionalInt(b, 'token_ttl_seconds', 1, maxTokenTtlSeconds) ?? DEFAULT_TOKEN_TTL_SECONDS
  const maxAgents = optionalInt(b, 'max_agents', 0, 10_000_000)
  const lifecycle = b.lifecycle ?? 'persistent'
  if (lifecycle !== 'persistent' && lifecycle !== 'ephemeral') throw new ValidationFailed('lifecycle', 'lifecycle must be "persistent" or "ephemeral"')
  const agentTtl = optionalInt(b, 'agent_ttl_seconds', 60, MAX_AGENT_TTL_SECONDS)
  // A persistent role's secrets never expire; a lifetime there would be silently misapplied.
  if (agentTtl !== undefined && lifecycle !== 'ephemeral') throw new ValidationFailed('agent_ttl_seconds', 'agent_ttl_seconds applies only to roles with lifecycle "ephemeral"')
  const canIntrospect = b.can_introspect ?? false
  if (typeof canIntrospect !== 'boolean') throw new ValidationFailed('can_introspect', 'can_introspect must be true or false')
  const maxSessionSeconds = optionalInt(b, 'max_session_seconds', 60, MAX_SESSION_CEILING_SECONDS) ?? DEFAULT_MAX_SESSION_SECONDS
  const healthCheckHosts = parseHealthCheckHosts(b.health_check_hosts)
  const rateLimit = parseRateLimit(b.rate_limit)
  const purposes = parsePurposes(b.purposes)

  return {
    name,
    settings: {
      scopes,
      tokenTtlSeconds,
      maxAgents: maxAgents ?? null,
      lifecycle: lifecycle as Lifecycle,
      agentTtlSeconds: agentTtl ?? (lifecycle === 'ephemeral' ? DEFAULT_EPHEMERAL_AGENT_TTL_SECONDS : null),
      canIntrospect,
      maxSessionSeconds,
      healthCheckHosts,
      rateLimit,
      purposes,
    },
  }
}

/** `{ "per_second": number, "burst": integer }`; omitted (or null) means the default. */
function parseRateLimit(v: unknown): RatePolicy {
  if (v === undefined || v === null) return { ...DEFAULT_RATE_LIMIT }
  const shape = `rate_limit must be an object { "per_second": a number from ${MIN_RATE_PER_SECOND} to ${MAX_RATE_PER_SECOND}, "burst": an integer from 1 to ${MAX_RATE_BURST} }`
  if (typeof v !== 'object' || Array.isArray(v)) throw new ValidationFailed('rate_limit', shape)
  const r = v as Record<string, unknown>
  const unknown = Object.keys(r).find((k) => k !== 'per_second' && k !== 'burst')
  if (unknown !== undefined) throw new ValidationFailed('rate_limit', `unknown rate_limit field: ${unknown.slice(0, 64)}; ${shape}`)
  const perSecond = r.per_second
  if (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond < MIN_RATE_PER_SECOND || perSecond > MAX_RATE_PER_SECOND) {
    throw new ValidationFailed('rate_limit', `rate_limit.per_second must be a number from ${MIN_RATE_PER_SECOND} to ${MAX_RATE_PER_SECOND}`)
  }
  const burst = r.burst
  if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 1 || burst > MAX_RATE_BURST) {
    throw new ValidationFailed('rate_limit', `rate_limit.burst must be an integer from 1 to ${MAX_RATE_BURST}`)
  }
  return { perSecond, burst }
}

/**
 * Each entry is a host name or IP literal matched exactly, or `*.example.com` for any host under
 * example.com. Only an exact entry lets a probe reach a private address (see health-check-target.ts).
 */
function parseHealthCheckHosts(v: unknown): string[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || v.length > MAX_HEALTH_CHECK_HOSTS) throw new ValidationFailed('health_check_hosts', `health_check_hosts must be an array of at most ${MAX_HEALTH_CHECK_HOSTS} host names`)
  const hosts = v.map((h: unknown) => {
    const host = typeof h === 'string' ? normalizeHostPattern(h) : undefined
    if (host === undefined) throw new ValidationFailed('health_check_hosts', 'each health_check_hosts entry must be a host name, an IP address, or *.domain (no scheme, port or path)')
    const never = neverProbed(host.replace(/^\[|\]$/g, ''))
    if (never !== undefined) throw new ValidationFailed('health_check_hosts', `health_check_hosts may not list ${never.slice(0, 120)}`)
    return host
  })
  return [...new Set(hosts)]
}

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/

/** The canonical form of a host pattern, or undefined when it is not one. */
export function normalizeHostPattern(raw: string): string | undefined {
  if (raw.length === 0 || raw.length > 253) return undefined
  const wildcard = raw.startsWith('*.')
  const name = (wildcard ? raw.slice(2) : raw).toLowerCase()
  // An IPv6 literal, bracketed or not: URL parsing gives its canonical spelling.
  if (!wildcard && name.includes(':')) {
    try {
      const host = new URL(`http://[${name.replace(/^\[|\]$/g, '')}]/`).hostname
      return host
    } catch {
      return undefined
    }
  }
  const labels = name.split('.')
  if (labels.some((l) => !HOST_LABEL.test(l))) return undefined
  // IPv4 literals and names alike are dot-separated labels; a wildcard needs a registrable-looking suffix.
  if (wildcard && labels.length < 2) return undefined
  if (wildcard) return `*.${name}`
  // As a URL reads the host: 2852039166, 0xa9fea9fe and 0251.0376.0251.0376 all mean 169.254.169.254.
  try {
    return new URL(`http://${name}/`).hostname
  } catch {
    return undefined
  }
}

function optionalInt(b: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const v = b[field]
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ValidationFailed(field, `${field} must be an integer from ${min} to ${max}`)
  return v
}
