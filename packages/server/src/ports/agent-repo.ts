export type AgentStatus = 'active' | 'suspended' | 'retired'
export type TokenEndpointAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none'

/** One agent instance: an OAuth client with its own identity. */
export interface Agent {
  id: string
  role: string
  roleVersion: number
  status: AgentStatus
  statusReason: string | null
  secretDigest: string
  /** ms epoch; null = never expires. */
  secretExpiresAt: number | null
  registrationTokenDigest: string
  authMethod: TokenEndpointAuthMethod
  scopes: string[]
  grantTypes: string[]
  /** Registered client metadata (RFC 7591 §2) other than the fields above. */
  metadata: Record<string, unknown>
  initialAccessTokenId: string | null
  /** ms epoch; access tokens issued before it are revoked (set when the agent is suspended). */
  tokensNotBefore: number | null
  createdAt: number
  updatedAt: number
}

export interface AgentFilter {
  role?: string
  status?: AgentStatus
  limit: number
  /** Return agents whose id sorts after this one. */
  after?: string
}

export interface AgentRepo {
  get(id: string): Promise<Agent | undefined>
  list(filter: AgentFilter): Promise<Agent[]>
  /** Replaces the client metadata fields of an active agent (RFC 7592 §2.2). */
  updateMetadata(id: string, fields: Pick<Agent, 'authMethod' | 'scopes' | 'grantTypes' | 'metadata' | 'roleVersion'>, now: number): Promise<Agent | undefined>
  /**
   * Moves an agent between statuses. `from` lists the statuses the change is allowed from;
   * retiring also frees its slot in the role's max_agents. Returns the agent after the change,
   * or undefined when it does not exist or was not in one of the `from` statuses. Suspending or
   * retiring publishes the agent on the revocation feed, in the same transaction, as mattering
   * until `revokeUntil` (when every token issued before the change has expired).
   */
  setStatus(id: string, from: AgentStatus[], to: AgentStatus, reason: string | null, now: number, revokeUntil: number): Promise<Agent | undefined>
  /**
   * Retires up to `limit` live agents whose credentials expired before `now`, freeing their
   * slots under max_agents in the same transaction. Returns the agents it retired.
   */
  retireExpired(now: number, limit: number): Promise<Agent[]>
}
