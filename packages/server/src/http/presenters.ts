import type { Agent } from '../ports/agent-repo.js'
import type { AuditEvent } from '../ports/audit-store.js'
import type { Role } from '../ports/role-repo.js'
import type { User } from '../ports/user-repo.js'
import { purposesJson } from '../domain/agents/role-purposes.js'

/** Wire shapes (snake_case) of admin API resources. Secrets and digests never leave. */
export function roleJson(r: Role) {
  return {
    name: r.name,
    scopes: r.scopes,
    token_ttl_seconds: r.tokenTtlSeconds,
    max_agents: r.maxAgents,
    lifecycle: r.lifecycle,
    agent_ttl_seconds: r.agentTtlSeconds,
    can_introspect: r.canIntrospect,
    max_session_seconds: r.maxSessionSeconds,
    health_check_hosts: r.healthCheckHosts,
    rate_limit: { per_second: r.rateLimit.perSecond, burst: r.rateLimit.burst },
    purposes: purposesJson(r.purposes),
    version: r.version,
    live_agents: r.liveAgents,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  }
}

export function agentJson(a: Agent) {
  return {
    id: a.id,
    role: a.role,
    role_version: a.roleVersion,
    status: a.status,
    status_reason: a.statusReason,
    scopes: a.scopes,
    grant_types: a.grantTypes,
    token_endpoint_auth_method: a.authMethod,
    client_secret_expires_at: a.secretExpiresAt === null ? null : iso(a.secretExpiresAt),
    metadata: a.metadata,
    initial_access_token_id: a.initialAccessTokenId,
    created_at: iso(a.createdAt),
    updated_at: iso(a.updatedAt),
  }
}

export function auditEventJson(e: AuditEvent) {
  return {
    id: e.id,
    ts: iso(e.ts),
    stream: e.streamId,
    seq: e.seq,
    actor_type: e.actorType,
    actor_id: e.actorId,
    action: e.action,
    outcome: e.outcome,
    reason: e.reason,
    target: e.target,
    role: e.role,
    ip: e.ip,
    request_id: e.requestId,
    details: e.details,
    prev_hash: e.prevHash,
    hash: e.hash,
  }
}

/** A person; the password hash never leaves the server. */
export function userJson(u: User) {
  return {
    id: u.id,
    username: u.username,
    display_name: u.displayName,
    status: u.status,
    status_reason: u.statusReason,
    created_at: iso(u.createdAt),
    updated_at: iso(u.updatedAt),
  }
}

export function iso(ms: number): string {
  return new Date(ms).toISOString()
}
