import { effectiveScopes } from '../domain/scope-token.js'
import { parseSessionPlan } from '../domain/sessions/session-rules.js'
import type { SessionService } from '../domain/sessions/session-service.js'
import type { ActionContext } from '../domain/context.js'
import type { Clock } from '../ports/clock.js'
import { noMetrics, type TokenMetrics } from '../ports/metrics.js'
import type { Session } from '../ports/session-repo.js'
import type { AccessTokenIssuer } from './access-token.js'
import type { AuthenticatedClient, ClientAuthenticator } from './client-auth/authenticate.js'
import { InvalidRequest, UnauthorizedClient } from './errors.js'
import { parseResources } from './resource.js'
import { narrowScope, parseScope } from './scopes.js'

const CREDENTIAL_FIELDS = ['client_id', 'client_secret']
const GRANT_FIELDS = ['scope', 'resource']

/** Seconds since the epoch, as times travel on the wire. */
export const unixSeconds = (ms: number) => Math.floor(ms / 1000)

/**
 * Client authentication for JSON endpoints: HTTP Basic, or (RFC 6749 §2.3.1's
 * client_secret_post, carried in JSON) `client_id` and `client_secret` members of the body.
 */
export async function authenticateJson(clients: ClientAuthenticator, authorization: string | undefined, body: Record<string, unknown> | undefined): Promise<AuthenticatedClient> {
  const params = new Map<string, string>()
  for (const field of CREDENTIAL_FIELDS) {
    const v = body?.[field]
    if (v === undefined || v === null) continue
    if (typeof v !== 'string') throw new InvalidRequest(`${field} must be a string`)
    if (v !== '') params.set(field, v)
  }
  return clients.authenticate(authorization, params, { anyMethod: true })
}

/** POST /sessions: starts a task-bound session and hands out its first access and refresh tokens. */
export function sessionStart(deps: { sessions: Pick<SessionService, 'start'>; tokens: AccessTokenIssuer; clock: Clock; metrics?: TokenMetrics }) {
  const metrics = deps.metrics ?? noMetrics.tokens
  return async function start(caller: AuthenticatedClient, body: Record<string, unknown>, ctx: ActionContext) {
    const { agent, role } = caller
    // The session renews its tokens through the refresh_token grant, which the agent must be registered for.
    if (!agent.grantTypes.includes('refresh_token')) throw new UnauthorizedClient('this agent is not registered for the refresh_token grant, which sessions use')
    const plan = parseSessionPlan(body, role, [...CREDENTIAL_FIELDS, ...GRANT_FIELDS])
    if (body.scope !== undefined && typeof body.scope !== 'string') throw new InvalidRequest('scope must be a space-separated string')
    const scope = narrowScope(typeof body.scope === 'string' ? parseScope(body.scope) : undefined, effectiveScopes(agent.scopes, role.scopes))
    const audience = parseResources(resourceList(body.resource)) ?? null
    const { session, refreshToken } = await deps.sessions.start(agent, plan, { scope, audience }, ctx)
    const issued = await deps.tokens.issue({ agent, role, scope, audience: audience ?? undefined, now: deps.clock.now(), session })
    metrics.issued('session_start', role.name)
    return {
      ...sessionJson(session),
      access_token: issued.token,
      token_type: 'Bearer' as const,
      expires_in: issued.expiresIn,
      scope: issued.claims.scope,
      refresh_token: refreshToken,
      max_session_seconds: role.maxSessionSeconds,
    }
  }
}

function resourceList(v: unknown): string[] {
  if (v === undefined || v === null) return []
  if (typeof v === 'string') return [v]
  if (Array.isArray(v) && v.every((r) => typeof r === 'string')) return v as string[]
  throw new InvalidRequest('resource must be a URI or an array of URIs')
}

/** A session as its agent and operators see it. */
export function sessionJson(s: Session) {
  return {
    session_id: s.id,
    agent_id: s.agentId,
    role: s.role,
    task: s.task,
    label: s.label,
    state: s.state,
    outcome: s.outcome,
    end_reason: s.endReason,
    created_at: unixSeconds(s.createdAt),
    ended_at: s.endedAt === null ? null : unixSeconds(s.endedAt),
    duration: s.durationSeconds ?? 'task-completion',
    heartbeat_interval_seconds: s.heartbeatIntervalSeconds,
    heartbeat_grace_seconds: s.heartbeatGraceSeconds,
    heartbeat_deadline: unixSeconds(s.heartbeatDeadline),
    last_heartbeat_at: s.lastHeartbeatAt === null ? null : unixSeconds(s.lastHeartbeatAt),
    heartbeat_count: s.heartbeatCount,
    progress: s.progress,
    note: s.note,
    health_check_url: s.healthCheckUrl,
    max_expires_at: unixSeconds(s.maxExpiresAt),
  }
}
