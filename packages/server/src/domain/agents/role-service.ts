import type { Clock } from '../../ports/clock.js'
import type { InitialAccessToken, RegistrationStore } from '../../ports/registration-store.js'
import type { Role, RoleRepo } from '../../ports/role-repo.js'
import type { AuditRecorder } from '../audit/audit-log.js'
import type { ActionContext } from '../context.js'
import { InitialAccessTokenNotFound, RoleExists, RoleHasAgents, RoleNotFound, ValidationFailed } from '../errors.js'
import { auditActor } from './agent-service.js'
import { parseRoleInput } from './role-rules.js'
import { purposesJson } from './role-purposes.js'
import type { AgentDirectory } from './agent-directory.js'

export interface SecretFactory {
  newSecret(prefix: string): string
  newId(prefix: string): string
  digest(secret: string): string
}

export interface IssuedInitialAccessToken {
  id: string
  token: string
  expiresAt: number
  uses: number
}

const DEFAULT_IAT_TTL_SECONDS = 86_400
const MAX_IAT_TTL_SECONDS = 90 * 86_400
const MAX_IAT_USES = 1_000_000

export type RoleUpdated = (role: Role) => Promise<unknown>

/** Registration policies (roles) and the initial access tokens that register agents under them. */
export class RoleService {
  private readonly updateListeners: RoleUpdated[] = []

  constructor(
    private readonly roles: RoleRepo,
    private readonly registrations: RegistrationStore,
    private readonly secrets: SecretFactory,
    private readonly audit: AuditRecorder,
    private readonly clock: Clock,
    private readonly maxTokenTtlSeconds: number,
    private readonly directory: AgentDirectory,
  ) {}

  /** Called after every role update, e.g. to bring running sessions under a lowered ceiling. */
  onUpdated(listener: RoleUpdated): void {
    this.updateListeners.push(listener)
  }

  list(): Promise<Role[]> {
    return this.roles.list()
  }

  async get(name: string): Promise<Role> {
    const role = await this.roles.get(name)
    if (!role) throw new RoleNotFound(name)
    return role
  }

  async create(body: unknown, ctx: ActionContext): Promise<Role> {
    const { name, settings } = parseRoleInput(body, this.maxTokenTtlSeconds)
    const now = this.clock.now()
    const role: Role = { name, ...settings, version: 1, liveAgents: 0, createdAt: now, updatedAt: now }
    if (!(await this.roles.create(role))) throw new RoleExists(name)
    await this.audit.record({ ...auditActor(ctx), action: 'role.created', outcome: 'success', target: name, role: name, details: { version: 1, ...settingsForAudit(role) } })
    return role
  }

  /** Replaces the role's settings; its version goes up, and existing agents keep the version they registered under. */
  async update(name: string, body: unknown, ctx: ActionContext): Promise<Role> {
    const { settings } = parseRoleInput(body, this.maxTokenTtlSeconds, name)
    const role = await this.roles.update(name, settings, this.clock.now())
    this.directory.invalidateRole(name)
    if (!role) throw new RoleNotFound(name)
    await this.audit.record({ ...auditActor(ctx), action: 'role.updated', outcome: 'success', target: name, role: name, details: { version: role.version, ...settingsForAudit(role) } })
    for (const listener of this.updateListeners) await listener(role)
    return role
  }

  async delete(name: string, ctx: ActionContext): Promise<void> {
    const result = await this.roles.delete(name)
    this.directory.invalidateRole(name)
    if (result === 'missing') throw new RoleNotFound(name)
    if (result === 'has_agents') throw new RoleHasAgents(name)
    await this.audit.record({ ...auditActor(ctx), action: 'role.deleted', outcome: 'success', target: name, role: name })
  }

  async createInitialAccessToken(roleName: string, body: unknown, ctx: ActionContext): Promise<IssuedInitialAccessToken> {
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) throw new ValidationFailed('body', 'body must be a JSON object')
    const input = (body ?? {}) as Record<string, unknown>
    const unknown = Object.keys(input).filter((k) => k !== 'uses' && k !== 'expires_in')
    if (unknown.length > 0) throw new ValidationFailed(unknown[0]!, `unknown field: ${unknown[0]!.slice(0, 64)}`)
    const uses = intOr(input.uses, 1, 1, MAX_IAT_USES, 'uses')
    const expiresIn = intOr(input.expires_in, DEFAULT_IAT_TTL_SECONDS, 1, MAX_IAT_TTL_SECONDS, 'expires_in')
    const role = await this.get(roleName)
    const now = this.clock.now()
    const token = this.secrets.newSecret('mdt_iat_')
    const id = this.secrets.newId('iat_')
    const expiresAt = now + expiresIn * 1000
    await this.registrations.createInitialAccessToken({
      id, role: role.name, digest: this.secrets.digest(token), usesLeft: uses, usesTotal: uses, expiresAt, createdAt: now, createdBy: ctx.actorId ?? 'system',
    })
    await this.audit.record({ ...auditActor(ctx), action: 'initial_access_token.created', outcome: 'success', target: id, role: role.name, details: { uses, expires_at: expiresAt } })
    return { id, token, expiresAt, uses }
  }

  /** The role's initial access tokens that can still be used; never the tokens themselves. */
  async listInitialAccessTokens(roleName: string): Promise<Omit<InitialAccessToken, 'digest'>[]> {
    const role = await this.get(roleName)
    const tokens = await this.registrations.listInitialAccessTokens(role.name, this.clock.now())
    return tokens.map(({ digest: _digest, ...rest }) => rest)
  }

  /** Revokes an initial access token before its uses or lifetime run out. */
  async revokeInitialAccessToken(roleName: string, id: string, ctx: ActionContext): Promise<void> {
    const role = await this.get(roleName)
    if (!(await this.registrations.revokeInitialAccessToken(role.name, id))) throw new InitialAccessTokenNotFound(id)
    await this.audit.record({ ...auditActor(ctx), action: 'initial_access_token.revoked', outcome: 'success', target: id, role: role.name })
  }
}

function intOr(v: unknown, fallback: number, min: number, max: number, field: string): number {
  if (v === undefined || v === null) return fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ValidationFailed(field, `${field} must be an integer from ${min} to ${max}`)
  return v
}

function settingsForAudit(r: Role) {
  return {
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
  }
}
