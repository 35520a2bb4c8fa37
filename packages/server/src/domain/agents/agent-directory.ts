import type { Agent, AgentRepo } from '../../ports/agent-repo.js'
import type { Clock } from '../../ports/clock.js'
import type { Change, ChangeNotifier } from '../../ports/change-notifier.js'
import type { CacheMetrics } from '../../ports/metrics.js'
import type { Role, RoleRepo } from '../../ports/role-repo.js'
import { LookupCache } from '../lookup-cache.js'

/**
 * Hot-path lookups of agents and their roles, cached briefly. A change made on this node drops
 * the entry at once and tells the other nodes (`changes`), which drop theirs on `forget`.
 */
export class AgentDirectory {
  private readonly agents: LookupCache<Agent>
  private readonly roles: LookupCache<Role>
  private readonly changes: Pick<ChangeNotifier, 'publish'> | undefined

  constructor(
    agentRepo: AgentRepo,
    roleRepo: RoleRepo,
    clock: Clock,
    options: { ttlMs?: number; cacheMetrics?: (cache: 'agents' | 'roles') => CacheMetrics; changes?: Pick<ChangeNotifier, 'publish'> } = {},
  ) {
    this.changes = options.changes
    const ttlMs = options.ttlMs ?? 1000
    this.agents = new LookupCache((id) => agentRepo.get(id), clock, ttlMs, undefined, options.cacheMetrics?.('agents'))
    this.roles = new LookupCache((name) => roleRepo.get(name), clock, ttlMs, undefined, options.cacheMetrics?.('roles'))
  }

  find(id: string): Promise<Agent | undefined> {
    return this.agents.get(id)
  }

  role(name: string): Promise<Role | undefined> {
    return this.roles.get(name)
  }

  invalidate(id: string): void {
    this.agents.invalidate(id)
    this.changes?.publish({ kind: 'agent', id })
  }

  invalidateRole(name: string): void {
    this.roles.invalidate(name)
    this.changes?.publish({ kind: 'role', id: name })
  }

  /** A change made on another node: drop what it touched, without telling anyone. */
  forget(change: Change): void {
    if (change.kind === 'agent') this.agents.invalidate(change.id)
    else if (change.kind === 'role') this.roles.invalidate(change.id)
    else if (change.kind === 'all') {
      this.agents.clear()
      this.roles.clear()
    }
  }
}

/** May this agent authenticate and receive tokens at `now`? */
export function isAgentUsable(agent: Agent, now: number): boolean {
  return agent.status === 'active' && (agent.secretExpiresAt === null || agent.secretExpiresAt > now)
}
