import type { RatePolicy } from './rate-limiter.js'

export type Lifecycle = 'persistent' | 'ephemeral'

/** GDPR Art. 6(1)(a)-(f): the lawful bases for processing personal data. */
export const LAWFUL_BASES = ['consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interests'] as const
export type LawfulBasis = (typeof LAWFUL_BASES)[number]

/** Why a role's agents process personal data, and on which lawful basis; shown on the consent page. */
export interface Purpose {
  /** A short token, e.g. `automated-deletion`. */
  id: string
  /** Plain text, one line, shown to people as written. */
  description: string
  lawfulBasis: LawfulBasis
}

/** A registration policy: what agents registered under it may do. */
export interface Role {
  name: string
  scopes: string[]
  tokenTtlSeconds: number
  maxAgents: number | null
  lifecycle: Lifecycle
  agentTtlSeconds: number | null
  canIntrospect: boolean
  /** The ceiling no session of this role's agents exceeds. */
  maxSessionSeconds: number
  /** Hosts a session's health check may probe: exact names or IP literals, or `*.suffix` wildcards. */
  healthCheckHosts: string[]
  /** Each agent's token bucket on the agent endpoints (/token, /introspect, /revoke, /sessions, /audit/events). */
  rateLimit: RatePolicy
  /** What personal data is processed for (issue #5): named on the consent page and in every consent record. */
  purposes: Purpose[]
  version: number
  /** Agents that are active or suspended (not retired) under this role. */
  liveAgents: number
  createdAt: number
  updatedAt: number
}

export type RoleSettings = Omit<Role, 'name' | 'version' | 'liveAgents' | 'createdAt' | 'updatedAt'>

export interface RoleRepo {
  /** Returns false when a role of that name already exists. */
  create(role: Role): Promise<boolean>
  get(name: string): Promise<Role | undefined>
  list(): Promise<Role[]>
  /** Replaces the settings and bumps the version; undefined when the role does not exist. */
  update(name: string, settings: RoleSettings, now: number): Promise<Role | undefined>
  /** Deletes a role with no live agents, with its initial access tokens. */
  delete(name: string): Promise<'deleted' | 'missing' | 'has_agents'>
}
