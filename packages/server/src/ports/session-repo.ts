export type SessionState = 'active' | 'completed' | 'expired' | 'terminated'
export type SessionOutcome = 'succeeded' | 'failed' | 'cancelled'

/** An agent's hold on access for one task. Times are ms since the epoch. */
export interface Session {
  id: string
  agentId: string
  role: string
  task: string
  label: string | null
  /** null: the session lasts until the task completes (or misses heartbeats, or hits its ceiling). */
  durationSeconds: number | null
  state: SessionState
  outcome: SessionOutcome | null
  endReason: string | null
  scope: string[]
  /** RFC 8707 resources the session's access tokens are for; null = the issuer. */
  audience: string[] | null
  heartbeatIntervalSeconds: number
  heartbeatGraceSeconds: number
  /** Without a heartbeat (or passing health check) by then, the session ends as expired. */
  heartbeatDeadline: number
  /** min(heartbeatDeadline, maxExpiresAt): when the session ends unless something happens first. */
  dueAt: number
  lastHeartbeatAt: number | null
  heartbeatCount: number
  progress: number | null
  note: string | null
  healthCheckUrl: string | null
  nextProbeAt: number | null
  /** The absolute end: duration, max_duration_seconds and the role's ceiling, whichever is first. */
  maxExpiresAt: number
  createdAt: number
  endedAt: number | null
}

export interface SessionFilter {
  agent?: string
  role?: string
  label?: string
  state?: SessionState
  limit: number
  /** Session id to continue after (ids sort by creation). */
  after?: string
}

export interface SessionEnd {
  state: Exclude<SessionState, 'active'>
  reason: string
  outcome: SessionOutcome | null
  now: number
  /** Until when the end matters to resource servers: the latest expiry of a token it revokes. */
  revokeUntil: number
}

export interface Heartbeat {
  /** The new heartbeat deadline is `now` plus the session's grace period. */
  now: number
  /** undefined: leave as it is. */
  progress?: number | null
  note?: string | null
}

export type RefreshOutcome =
  /** The presented token was current: it is now rotated and `successorDigest` is current. */
  | { status: 'rotated'; session: Session }
  /** The presented token was rotated moments ago and its successor is still current: a retry. */
  | { status: 'replayed'; session: Session }
  /** The presented token was rotated earlier: a copy is in someone else's hands. */
  | { status: 'reused'; session: Session }
  /** The session is not active (or is due to end): nothing was rotated. */
  | { status: 'inactive'; session: Session }
  | { status: 'unknown' }

export interface SessionRepo {
  /** Stores a new session and its first refresh token (by digest), atomically. */
  create(session: Session, refreshDigest: string): Promise<void>
  get(id: string): Promise<Session | undefined>
  list(filter: SessionFilter): Promise<Session[]>
  /** Active sessions of one agent. */
  listActiveForAgent(agentId: string, limit: number): Promise<Session[]>
  /**
   * Counts a heartbeat on an agent's active session that is not yet due to end; undefined when
   * there is no such session (unknown, another agent's, ended, or past its deadline).
   */
  heartbeat(id: string, agentId: string, beat: Heartbeat): Promise<Session | undefined>
  /**
   * Ends an active session, drops its refresh tokens and publishes it on the revocation feed,
   * in one transaction. Undefined when the session was not active (someone ended it first).
   */
  end(id: string, end: SessionEnd): Promise<Session | undefined>
  /** Active sessions whose heartbeat deadline or absolute end is at or before `now`. */
  listDue(now: number, limit: number): Promise<Session[]>
  /** Brings the absolute end of the role's live sessions down to `created_at + ceilingMs` where it is later; returns how many. */
  capLifetime(role: string, ceilingMs: number): Promise<number>
  /**
   * RFC 6749 §6 with rotation: consumes a refresh token of an active session and stores its
   * successor, atomically; of several concurrent uses exactly one rotates. `graceMs` is how long
   * after its rotation a token still counts as a retry (answered with the same successor). A token
   * of another agent's session is `unknown`, and nothing is changed.
   */
  rotateRefreshToken(rotation: { digest: string; successorDigest: string; agentId: string; now: number; graceMs: number }): Promise<RefreshOutcome>
  /** The session a refresh token belongs to, and whether the token is still current (not yet rotated). */
  findByRefreshToken(digest: string): Promise<{ session: Session; current: boolean } | undefined>
  /**
   * Claims the health checks that are due, pushing each one's next probe an interval ahead in
   * the same statement, so that of several nodes only one probes each session.
   */
  claimDueProbes(now: number, limit: number): Promise<Session[]>
}
