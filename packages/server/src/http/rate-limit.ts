import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import type { LimitName, Refusal } from '../domain/rate-limits/refusal-tally.js'
import { noRateLimitEvents, type RateDecision, type RateLimitEvents, type RateLimiter, type RatePolicy } from '../ports/rate-limiter.js'
import type { AuthenticatedClient, ClientAuthenticator } from '../protocol/client-auth/authenticate.js'
import { InvalidClient, TooManyRequests } from '../protocol/errors.js'
import { addressKey } from './address-key.js'

/**
 * Routes whose callers are limited per agent, by their role's `rate_limit`, once authenticated.
 * A route added under one of these (e.g. `/audit/events`) is limited by construction, as long as
 * it authenticates through `EdgeRateLimits.clientsFor` like every agent route here.
 */
export const AGENT_LIMITED_PREFIXES: readonly string[] = ['/token', '/introspect', '/revoke', '/sessions', '/audit/events', '/device_authorization']
/** Routes limited per client address on every request, before anything else is read. */
export const ADDRESS_LIMITED_PREFIXES: readonly string[] = ['/register']
/** The authorization endpoint and its consent form, per address: each refusal there is audited, so a flood must stop at the limit. */
export const AUTHORIZE_PREFIX = '/authorize'

export interface AddressPolicies {
  /** Every request to /register and /register/:client_id, per address. */
  register: RatePolicy
  /** Failed client authentications (wherever clients authenticate), per address. */
  authFailures: RatePolicy
  /** Every request to /authorize (GET or POST) and /authorize/consent, per address. */
  authorize: RatePolicy
}

export interface EdgeRateLimitDeps {
  /** How clients authenticate, before any limit. */
  clients: ClientAuthenticator
  limiter: RateLimiter
  refusals: { record(r: Refusal): void }
  events?: RateLimitEvents
  policies: AddressPolicies
  /** Wall-clock ms, for the refusal tally. */
  now(): number
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on routes under AGENT_LIMITED_PREFIXES: an authenticated agent spends from its bucket. */
    agentRateLimit?: boolean
  }
}

const POLICY_NAMES: Record<LimitName, string> = { agent: 'agent', register: 'register', auth_failures: 'auth-failures', signin_account: 'signin-account', signin_address: 'signin-address',
  device_address: 'device-authorization', authorize: 'authorize', user_code_person: 'user-code-person', user_code_address: 'user-code-address' }

/**
 * The rate-limit hook of the HTTP edge. Agents are limited after they authenticate (a caller
 * cannot spend another agent's bucket by naming its client_id). Failed client authentications
 * spend their address's bucket only once the secret has been checked and found wrong, so a flood
 * of bad secrets never stops a correct one, from any address; past the bucket, failures are
 * answered 429 instead of 401 and tallied rather than audited one by one.
 * Limited responses carry RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers).
 */
export class EdgeRateLimits {
  private readonly events: RateLimitEvents

  constructor(private readonly deps: EdgeRateLimitDeps) {
    this.events = deps.events ?? noRateLimitEvents
  }

  /** Marks the limited routes as they are added: call before adding routes. */
  install(app: FastifyInstance): void {
    const registerHook: onRequestAsyncHookHandler = async (request, reply) => {
      await this.spend('register', `r:${addressKey(request.ip)}`, this.deps.policies.register, request, reply, null)
    }
    const authorizeHook: onRequestAsyncHookHandler = async (request, reply) => {
      await this.spend('authorize', `authorize:${addressKey(request.ip)}`, this.deps.policies.authorize, request, reply, null)
    }
    app.addHook('onRoute', (route) => {
      if (matches(route.url, [AUTHORIZE_PREFIX])) route.onRequest = [...toArray(route.onRequest), authorizeHook]
      if (matches(route.url, AGENT_LIMITED_PREFIXES)) route.config = { ...(route.config ?? {}), agentRateLimit: true }
      if (matches(route.url, ADDRESS_LIMITED_PREFIXES)) route.onRequest = [...toArray(route.onRequest), registerHook]
    })
  }

  /**
   * The client authenticator for one request: on a limited route an authenticated agent spends
   * from its bucket; anywhere, a failed authentication spends from its address's bucket.
   */
  clientsFor(request: FastifyRequest, reply: FastifyReply): ClientAuthenticator {
    return {
      authenticate: async (authorization, params, options) => {
        let client: AuthenticatedClient
        try {
          client = await this.deps.clients.authenticate(authorization, params, options)
        } catch (err) {
          if (err instanceof InvalidClient) await this.spend('auth_failures', `f:${addressKey(request.ip)}`, this.deps.policies.authFailures, request, reply, null)
          throw err
        }
        if (request.routeOptions.config.agentRateLimit === true) {
          await this.spend('agent', `a:${client.agent.id}`, client.role.rateLimit, request, reply, client)
        }
        return client
      },
    }
  }

  /** A per-address limit a route applies itself, before reading its input (POST /device_authorization); 429 past it. */
  async spendForAddress(limit: LimitName, policy: RatePolicy, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    await this.spend(limit, `${limit}:${addressKey(request.ip)}`, policy, request, reply, null)
  }

  private async spend(limit: LimitName, key: string, policy: RatePolicy, request: FastifyRequest, reply: FastifyReply, client: AuthenticatedClient | null): Promise<void> {
    const decision = await this.deps.limiter.take(key, policy)
    setHeaders(reply, POLICY_NAMES[limit], policy, decision)
    if (decision.allowed) return
    this.events.limited(limit)
    this.deps.refusals.record({
      limit,
      agentId: client?.agent.id ?? null,
      role: client?.role.name ?? null,
      address: client ? request.ip : addressKey(request.ip),
      endpoint: `${request.method} ${request.routeOptions.url ?? '?'}`,
      policy,
      at: this.deps.now(),
    })
    throw new TooManyRequests(describe(limit, policy), retryAfterSeconds(decision))
  }
}

/** RFC 9110 §10.2.3: whole seconds, at least 1. */
function retryAfterSeconds(d: RateDecision): number {
  return Math.max(1, Math.ceil(d.retryAfterMs / 1000))
}

/**
 * draft-ietf-httpapi-ratelimit-headers-11: the policy as a quota `q` (the burst) over a window
 * `w` (seconds an empty bucket takes to refill); the service limit as what is left `r`, and `t`
 * the seconds until the bucket is full, or, when nothing is left, until the next request is
 * allowed (so that `t` never ends after Retry-After, §6).
 */
function setHeaders(reply: FastifyReply, name: string, policy: RatePolicy, d: RateDecision): void {
  const window = Math.max(1, Math.ceil(policy.burst / policy.perSecond))
  const t = d.allowed || d.remaining > 0 ? Math.ceil(d.resetMs / 1000) : retryAfterSeconds(d)
  reply.header('ratelimit-policy', `"${name}";q=${policy.burst};w=${window}`)
  reply.header('ratelimit', `"${name}";r=${d.remaining};t=${t}`)
}

function describe(limit: LimitName, policy: RatePolicy): string {
  const rate = `${policy.perSecond} per second with bursts of ${policy.burst}`
  if (limit === 'agent') return `too many requests from this agent: its role allows ${rate}; retry after the time in Retry-After`
  if (limit === 'register') return `too many registration requests from this address (${rate} allowed); retry after the time in Retry-After`
  if (limit === 'authorize') return `too many authorization requests from this address (${rate} allowed); retry after the time in Retry-After`
  if (limit === 'device_address') return `too many device authorization requests from this address (${rate} allowed); retry after the time in Retry-After`
  return `too many failed client authentications from this address (${rate} allowed); retry after the time in Retry-After`
}

function matches(url: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => url === p || url.startsWith(`${p}/`))
}

function toArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}
