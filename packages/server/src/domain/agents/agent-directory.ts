import type { Agent, AgentRepo } from '../../ports/agent-repo.js'
import type { Clock } from '../../ports/clock.js'
import type { CacheMetrics } from '../../ports/metrics.js'
import type { Role, RoleRepo } from '../../ports/role-repo.js'
import { LookupCache } from '../lookup-cache.js'

/** Hot-path lookups of agents and their roles, cached briefly and invalidated on local changes. */
export class AgentDirectory {
  private readonly agents: LookupCache<Agent>
  private readonly roles: LookupCache<Role>

  constructor(agentRepo: AgentRepo, roleRepo: RoleRepo, clock: Clock, options: { ttlMs?: number; cacheMetrics?: (cache: 'agents' | 'roles') => CacheMetrics } = {}) {
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
  }

  invalidateRole(name: string): void {
    this.roles.invalidate(name)
  }
}

/** May this agent authenticate and receive tokens at `now`? */
export function isAgentUsable(agent: Agent, now: number): boolean {
  return agent.status === 'active' && (agent.secretExpiresAt === null || agent.secretExpiresAt > now)
}
