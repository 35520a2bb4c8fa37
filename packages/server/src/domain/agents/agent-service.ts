import { setTimeout as sleep } from 'node:timers/promises'
import { requiredLine } from '../text.js'
import type { Agent, AgentFilter, AgentRepo, AgentStatus } from '../../ports/agent-repo.js'
import type { Clock } from '../../ports/clock.js'
import type { AuditRecorder } from '../audit/audit-log.js'
import type { ActionContext } from '../context.js'
import { AgentNotFound, InvalidStatusChange } from '../errors.js'
import { latestTokenExpiry } from '../token-lifetime.js'
import type { AgentDirectory } from './agent-directory.js'

const MAX_REASON = 500

/** Told when an agent stops being allowed to act (suspended or retired), after the change is stored. */
export type AgentDeactivated = (agent: Agent, ctx: ActionContext) => Promise<void>

/** Suspends, resumes and retires agents, each change audited and visible at once on this node. */
export class AgentService {
  private readonly deactivationListeners: AgentDeactivated[] = []

  constructor(
    private readonly repo: AgentRepo,
    private readonly directory: AgentDirectory,
    private readonly audit: AuditRecorder,
    private readonly clock: Clock,
    /** The longest an access token lives: how long a suspension matters to resource servers. */
    private readonly maxTokenTtlSeconds: number,
  ) {}

  /** Sessions end when their agent is suspended or retired; they subscribe here. */
  onDeactivated(listener: AgentDeactivated): void {
    this.deactivationListeners.push(listener)
  }

  list(filter: AgentFilter): Promise<Agent[]> {
    return this.repo.list(filter)
  }

  async get(id: string): Promise<Agent> {
    const agent = await this.repo.get(id)
    if (!agent) throw new AgentNotFound(id)
    return agent
  }

  suspend(id: string, reason: unknown, ctx: ActionContext): Promise<Agent> {
    return this.change(id, ['active'], 'suspended', 'agent.suspended', requireReason(reason), ctx)
  }

  async resume(id: string, ctx: ActionContext): Promise<Agent> {
    // Tokens carry `iat` in whole seconds, and every token of the suspension's second counts as
    // issued before it. Resumed within that second, the agent would be handed tokens that are
    // dead on arrival, so the resumption waits for the next second (at most one).
    const suspendedAt = (await this.repo.get(id))?.tokensNotBefore
    if (suspendedAt !== null && suspendedAt !== undefined) {
      const wait = (Math.floor(suspendedAt / 1000) + 1) * 1000 - this.clock.now()
      if (wait > 0) await sleep(wait)
    }
    return this.change(id, ['suspended'], 'active', 'agent.resumed', null, ctx)
  }

  retire(id: string, reason: string, ctx: ActionContext): Promise<Agent> {
    return this.change(id, ['active', 'suspended'], 'retired', 'agent.retired', reason, ctx)
  }

  /** Retires agents whose credentials have expired (ephemeral roles), freeing their max_agents slots. */
  async reapExpired(batch = 500): Promise<number> {
    const retired = await this.repo.retireExpired(this.clock.now(), batch)
    for (const agent of retired) {
      this.directory.invalidate(agent.id)
      await this.audit.record({ actorType: 'system', actorId: null, action: 'agent.expired', outcome: 'success', reason: 'credentials expired', target: agent.id, role: agent.role })
    }
    return retired.length
  }

  private async change(id: string, from: AgentStatus[], to: AgentStatus, action: string, reason: string | null, ctx: ActionContext): Promise<Agent> {
    const now = this.clock.now()
    const agent = await this.repo.setStatus(id, from, to, reason, now, latestTokenExpiry(now, this.maxTokenTtlSeconds))
    this.directory.invalidate(id)
    if (!agent) {
      const current = await this.repo.get(id)
      if (!current) throw new AgentNotFound(id)
      throw new InvalidStatusChange(`agent ${id} is ${current.status}; it cannot become ${to}`)
    }
    await this.audit.record({ ...auditActor(ctx), action, outcome: 'success', reason, target: id, role: agent.role })
    if (to !== 'active') for (const listener of this.deactivationListeners) await listener(agent, ctx)
    return agent
  }
}

export function auditActor(ctx: ActionContext) {
  return { actorType: ctx.actorType, actorId: ctx.actorId, ip: ctx.ip, requestId: ctx.requestId }
}

/** An operator's reason for a change: one printable line, kept in the audit log. */
export function requireReason(reason: unknown): string {
  return requiredLine(reason, 'reason', MAX_REASON)
}
