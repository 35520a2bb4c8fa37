import type { Agent, AgentRepo, TokenEndpointAuthMethod } from '../../ports/agent-repo.js'
import type { Clock } from '../../ports/clock.js'
import type { RegistrationStore } from '../../ports/registration-store.js'
import type { Role, RoleRepo } from '../../ports/role-repo.js'
import type { AuditRecorder } from '../audit/audit-log.js'
import type { ActionContext } from '../context.js'
import { AgentNotActive, BadRegistrationCredential, RoleFull, ValidationFailed } from '../errors.js'
import type { AgentDirectory } from './agent-directory.js'
import { auditActor, type AgentService } from './agent-service.js'
import type { SecretFactory } from './role-service.js'
import { digestsEqual } from '../secret-compare.js'

/** Client metadata after the protocol layer has checked its syntax (RFC 7591 §2). */
export interface RequestedClient {
  authMethod: TokenEndpointAuthMethod
  grantTypes: string[]
  /** Undefined: every scope of the role. */
  scopes: string[] | undefined
  metadata: Record<string, unknown>
}

export interface Registered {
  agent: Agent
  role: Role
  clientSecret: string
  registrationAccessToken: string
}

/** Agents registering themselves (RFC 7591) and managing their registration (RFC 7592). */
export class RegistrationService {
  constructor(
    private readonly store: RegistrationStore,
    private readonly agents: AgentRepo,
    private readonly roles: RoleRepo,
    private readonly lifecycle: AgentService,
    private readonly directory: AgentDirectory,
    private readonly secrets: SecretFactory,
    private readonly audit: AuditRecorder,
    private readonly clock: Clock,
  ) {}

  /**
   * `readRequest` parses the client's metadata. Its errors are held back until the initial
   * access token has proved good, so a caller without one learns nothing from them and gets
   * 401 whatever its body holds. Every refusal is audited; none uses up the token.
   */
  async register(initialAccessToken: string | undefined, readRequest: () => RequestedClient, ctx: ActionContext): Promise<Registered> {
    const refuse = async (reason: string, err: Error, role?: string): Promise<never> => {
      await this.audit.record({ ...auditActor(ctx), action: 'agent.registration_refused', outcome: 'failure', reason, role: role ?? null })
      throw err
    }
    if (initialAccessToken === undefined) return refuse('missing initial access token', new BadRegistrationCredential('an initial access token is required'))
    let requested: RequestedClient | Error
    try {
      requested = readRequest()
    } catch (err) {
      requested = err as Error
    }
    const now = this.clock.now()
    const clientSecret = this.secrets.newSecret('mds_')
    const registrationAccessToken = this.secrets.newSecret('mdt_reg_')
    const attempt = () =>
      // `build` runs only once the token is known good; throwing from it rolls the use back.
      this.store.register(this.secrets.digest(initialAccessToken), now, (role, iat) => {
        if (requested instanceof Error) throw new MetadataRefused(requested, role.name, `invalid client metadata: ${requested.message}`)
        return this.newAgent(requested, role, iat.id, now, { clientSecret, registrationAccessToken })
      })
    let result: Awaited<ReturnType<RegistrationStore['register']>>
    try {
      result = await attempt()
      // A full role may be full of agents whose credentials expired: retire those and try once more.
      if (result.status === 'role_full' && (await this.lifecycle.reapExpired()) > 0) result = await attempt()
    } catch (err) {
      if (err instanceof MetadataRefused) return refuse(err.reason, err.error, err.role)
      throw err
    }
    if (result.status !== 'ok') {
      if (result.status === 'role_full') return refuse('role has reached max_agents', new RoleFull(result.role ?? 'unknown'), result.role)
      return refuse('initial access token unknown, expired or used up', new BadRegistrationCredential('the initial access token is invalid, expired or used up'))
    }
    const { agent, role } = result
    // The agent registered itself: it is the actor, and the initial access token it used is in the details.
    await this.audit.record({
      ...auditActor({ ...ctx, actorType: 'agent', actorId: agent.id }), action: 'agent.registered', outcome: 'success', target: agent.id, role: role.name,
      details: { role_version: role.version, initial_access_token: agent.initialAccessTokenId, scopes: agent.scopes, auth_method: agent.authMethod },
    })
    return { agent, role, clientSecret, registrationAccessToken }
  }

  private newAgent(requested: RequestedClient, role: Role, iatId: string, now: number, credentials: { clientSecret: string; registrationAccessToken: string }): Agent {
    let scopes: string[]
    try {
      scopes = scopesWithinRole(requested.scopes, role)
    } catch (err) {
      throw new MetadataRefused(err as Error, role.name, (err as Error).message)
    }
    return {
      id: this.secrets.newId('agt_'),
      role: role.name,
      roleVersion: role.version,
      status: 'active',
      statusReason: null,
      secretDigest: this.secrets.digest(credentials.clientSecret),
      secretExpiresAt: secretExpiry(role, now),
      registrationTokenDigest: this.secrets.digest(credentials.registrationAccessToken),
      authMethod: requested.authMethod,
      scopes,
      grantTypes: requested.grantTypes,
      metadata: requested.metadata,
      initialAccessTokenId: iatId,
      tokensNotBefore: null,
      createdAt: now,
      updatedAt: now,
    }
  }

  /** RFC 7592 §2: the registration access token authenticates management of one registration. */
  async authenticate(clientId: string, registrationAccessToken: string | undefined): Promise<Agent> {
    if (registrationAccessToken === undefined) throw new BadRegistrationCredential('a registration access token is required')
    const agent = await this.agents.get(clientId)
    // Compare even when the agent is unknown, so timing does not reveal which ids exist.
    const matches = digestsEqual(this.secrets.digest(registrationAccessToken), agent?.registrationTokenDigest ?? '-'.repeat(43))
    if (!agent || !matches || agent.status === 'retired') throw new BadRegistrationCredential('the registration access token is invalid')
    return agent
  }

  /**
   * RFC 7592 §2.2: replaces the client's metadata; scope stays within the role. The update is
   * judged by the role as it is now, so the agent now holds that role version (its lineage
   * shows under which policy it got what it holds).
   */
  async update(agent: Agent, requested: RequestedClient, ctx: ActionContext): Promise<{ agent: Agent; role: Role | undefined }> {
    if (agent.status !== 'active') throw new AgentNotActive(agent.id, agent.status)
    const role = await this.roles.get(agent.role)
    if (!role) throw new ValidationFailed('scope', `the agent's role ${agent.role} no longer exists`)
    const scopes = scopesWithinRole(requested.scopes, role)
    const fields = { authMethod: requested.authMethod, scopes, grantTypes: requested.grantTypes, metadata: requested.metadata, roleVersion: role.version }
    const updated = await this.agents.updateMetadata(agent.id, fields, this.clock.now())
    this.directory.invalidate(agent.id)
    if (!updated) throw new AgentNotActive(agent.id, 'no longer active')
    await this.audit.record({ ...auditActor(ctx), action: 'agent.updated', outcome: 'success', target: agent.id, role: agent.role, details: { scopes, auth_method: requested.authMethod, role_version: role.version, previous_role_version: agent.roleVersion } })
    return { agent: updated, role }
  }

  /** RFC 7592 §2.3: deregistration retires the agent; its secret and tokens stop working. */
  async deregister(agent: Agent, ctx: ActionContext): Promise<void> {
    await this.lifecycle.retire(agent.id, 'deregistered by the agent', ctx)
  }

  secretMatches(agent: Agent, secret: string): boolean {
    return digestsEqual(this.secrets.digest(secret), agent.secretDigest)
  }
}

/** Metadata refused once the token was accepted: carries the original error and the role. */
class MetadataRefused extends Error {
  constructor(readonly error: Error, readonly role: string, readonly reason: string) {
    super(reason)
  }
}

function scopesWithinRole(requested: string[] | undefined, role: Role): string[] {
  if (requested === undefined) return [...role.scopes]
  const allowed = new Set(role.scopes)
  const refused = requested.filter((s) => !allowed.has(s))
  if (refused.length > 0) throw new ValidationFailed('scope', `scope not allowed by role ${role.name}: ${refused.slice(0, 5).join(' ')}`)
  return requested
}

/** Only ephemeral roles give their agents expiring secrets (RFC 7591 §3.2.1 client_secret_expires_at). */
function secretExpiry(role: Role, now: number): number | null {
  return role.lifecycle === 'ephemeral' && role.agentTtlSeconds !== null ? now + role.agentTtlSeconds * 1000 : null
}
