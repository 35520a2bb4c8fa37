import type { Agent } from '../../ports/agent-repo.js'
import type { Clock } from '../../ports/clock.js'
import type { Consent } from '../../ports/consent-repo.js'
import type { DeviceCode, DeviceCodeRepo } from '../../ports/device-code-repo.js'
import type { Role } from '../../ports/role-repo.js'
import { isAgentUsable } from '../agents/agent-directory.js'
import type { AuditRecorder } from '../audit/audit-log.js'
import type { ActionContext } from '../context.js'
import { newUserCode, normaliseUserCode } from './user-code.js'
import type { Typist, UserCodeThrottle } from './user-code-throttle.js'

/** What the device flow needs from consents (ConsentService has these). */
export interface DeviceConsents {
  findLive(q: { userId: string; agentId: string; roleName: string; scopes: string[] }): Promise<Consent | null>
  grant(input: { userId: string; agent: Agent; role: Role; scopes: string[]; textDigest: string }, ctx: ActionContext): Promise<Consent>
}

export interface DeviceAuthorizationDeps {
  repo: DeviceCodeRepo
  agents: { find(id: string): Promise<Agent | undefined>; role(name: string): Promise<Role | undefined> }
  consents: DeviceConsents
  throttle: UserCodeThrottle
  audit: AuditRecorder
  clock: Clock
  ttlSeconds: number
  intervalSeconds: number
  newId(now: number): string
  /** A new 256-bit device code, and how it is stored (a digest). */
  newDeviceCode(): string
  digest(secret: string): string
}

export interface StartedDeviceAuthorization {
  id: string
  deviceCode: string
  /** Normalised; shown to people as `XXXX-XXXX`. */
  userCode: string
  expiresIn: number
  interval: number
}

/** A pending request a person named by its user code, with the agent that asked. */
export interface FoundDeviceCode {
  code: DeviceCode
  agent: Agent
  role: Role
}

export type UserCodeLookup = { outcome: 'found'; found: FoundDeviceCode } | { outcome: 'unknown' } | { outcome: 'throttled'; retryAfterSeconds: number }

/** Two random user codes colliding with a pending one is already unlikely (20^8 codes); five in a row means something is wrong. */
const MAX_CODE_ATTEMPTS = 5

/**
 * RFC 8628: an agent without a browser asks for a device code (§3.1–3.2); a signed-in person
 * types the user code it shows and approves or denies (§3.3). Every decision is one conditional
 * update in the repository, so a request is decided once, however many tabs submit.
 */
export class DeviceAuthorizations {
  constructor(private readonly d: DeviceAuthorizationDeps) {}

  async start(input: { agent: Agent; role: Role; scope: string[]; audience: string[] | undefined }, ctx: ActionContext): Promise<StartedDeviceAuthorization> {
    const now = this.d.clock.now()
    const deviceCode = this.d.newDeviceCode()
    const digest = this.d.digest(deviceCode)
    for (let attempt = 0; attempt < MAX_CODE_ATTEMPTS; attempt++) {
      const code: DeviceCode = {
        id: this.d.newId(now), userCode: newUserCode(), clientId: input.agent.id, scope: input.scope, audience: input.audience ?? null,
        status: 'pending', userId: null, consentId: null, authTime: null, intervalSeconds: this.d.intervalSeconds, lastPolledAt: null,
        createdAt: now, expiresAt: now + this.d.ttlSeconds * 1000, decidedAt: null, consumedAt: null,
      }
      if (!(await this.d.repo.create(code, digest))) continue
      // Neither code is audited: the device code is a bearer secret, and the user code is short enough to guess.
      await this.d.audit.record({
        actorType: ctx.actorType, actorId: ctx.actorId, ip: ctx.ip, requestId: ctx.requestId, action: 'device.authorization_started', outcome: 'success',
        target: code.id, role: input.role.name, details: { client_id: input.agent.id, scope: code.scope.join(' '), aud: code.audience, expires_at: code.expiresAt, interval: code.intervalSeconds },
      })
      return { id: code.id, deviceCode, userCode: code.userCode, expiresIn: this.d.ttlSeconds, interval: code.intervalSeconds }
    }
    throw new Error(`no free user code after ${MAX_CODE_ATTEMPTS} attempts`)
  }

  /**
   * The pending request a person's typed code names. Throttled per person and per address
   * before anything is looked up (RFC 8628 §5.1); a miss is audited, never with what was typed.
   */
  async lookup(typed: string, typist: Typist, ctx: ActionContext): Promise<UserCodeLookup> {
    const wait = await this.d.throttle.reserve(typist)
    if (wait !== undefined) return { outcome: 'throttled', retryAfterSeconds: wait }
    const now = this.d.clock.now()
    const userCode = normaliseUserCode(typed)
    const code = userCode === undefined ? undefined : await this.d.repo.findPending(userCode, now)
    const agent = code && (await this.d.agents.find(code.clientId))
    const role = agent && isAgentUsable(agent, now) ? await this.d.agents.role(agent.role) : undefined
    if (!code || !agent || !role) {
      const reason = userCode === undefined ? 'not a user code' : !code ? 'unknown or expired user code' : 'the agent can no longer be authorized'
      await this.d.audit.record({ ...actor(ctx), action: 'device.user_code_refused', outcome: 'failure', reason, target: code?.id ?? null })
      return { outcome: 'unknown' }
    }
    await this.d.throttle.found(typist)
    return { outcome: 'found', found: { code, agent, role } }
  }

  /**
   * The person approves: their live consent for this agent and these scopes is reused, or the
   * one they just gave (the words shown, as `textDigest`) is recorded. Undefined when the request
   * was decided meanwhile or expired.
   */
  async approve(found: FoundDeviceCode, person: { userId: string; authTime: number }, textDigest: string, ctx: ActionContext): Promise<DeviceCode | undefined> {
    const { code, agent, role } = found
    const consent =
      (await this.d.consents.findLive({ userId: person.userId, agentId: agent.id, roleName: role.name, scopes: code.scope })) ??
      (await this.d.consents.grant({ userId: person.userId, agent, role, scopes: code.scope, textDigest }, ctx))
    const decided = await this.d.repo.decide(code.id, { status: 'approved', userId: person.userId, consentId: consent.id, authTime: person.authTime }, this.d.clock.now())
    if (!decided) return undefined
    await this.d.audit.record({
      ...actor(ctx), action: 'device.approved', outcome: 'success', target: code.id, role: role.name,
      details: { client_id: agent.id, consent_id: consent.id, scope: code.scope.join(' '), aud: code.audience },
    })
    return decided
  }

  /** The person denies; the agent's next poll gets access_denied (RFC 8628 §3.5). */
  async deny(found: FoundDeviceCode, userId: string, ctx: ActionContext): Promise<DeviceCode | undefined> {
    const decided = await this.d.repo.decide(found.code.id, { status: 'denied', userId }, this.d.clock.now())
    if (!decided) return undefined
    await this.d.audit.record({ ...actor(ctx), action: 'device.denied', outcome: 'success', target: found.code.id, role: found.role.name, details: { client_id: found.agent.id, scope: found.code.scope.join(' ') } })
    return decided
  }

  /**
   * A suspended person's approvals that no agent has exchanged yet become denials: the agent's
   * next poll gets access_denied (RFC 8628 §3.5), now and after any resume.
   */
  async withdrawApprovals(userId: string, reason: string, ctx: ActionContext): Promise<number> {
    const withdrawn = await this.d.repo.withdrawApprovals(userId, this.d.clock.now())
    for (const code of withdrawn) {
      await this.d.audit.record({ ...actor(ctx), action: 'device.approval_withdrawn', outcome: 'success', reason, target: code.id, details: { client_id: code.clientId, user: userId } })
    }
    return withdrawn.length
  }
}

function actor(ctx: ActionContext) {
  return { actorType: ctx.actorType, actorId: ctx.actorId, ip: ctx.ip, requestId: ctx.requestId }
}
