import type { RefreshTokenMint } from '../../crypto/refresh-tokens.js'
import type { Agent } from '../../ports/agent-repo.js'
import type { Change, ChangeNotifier } from '../../ports/change-notifier.js'
import type { Clock } from '../../ports/clock.js'
import { noMetrics, type CacheMetrics, type SessionMetrics } from '../../ports/metrics.js'
import type { Role } from '../../ports/role-repo.js'
import type { Session, SessionEnd, SessionFilter, SessionOutcome, SessionRepo } from '../../ports/session-repo.js'
import { auditActor } from '../agents/agent-service.js'
import type { AuditRecorder } from '../audit/audit-log.js'
import { systemContext, type ActionContext } from '../context.js'
import { InvalidStatusChange, RefreshRefused, SessionEnded, SessionNotFound } from '../errors.js'
import { LookupCache } from '../lookup-cache.js'
import { latestTokenExpiry } from '../token-lifetime.js'
import type { SessionPlan } from './session-rules.js'

/** A retry of a rotation within this window gets the same successor instead of ending the session. */
export const REFRESH_RETRY_WINDOW_MS = 30_000

export interface SessionDeps {
  repo: SessionRepo
  mint: RefreshTokenMint
  audit: AuditRecorder
  clock: Clock
  newId(now: number): string
  /** Retires an ephemeral agent whose session ended. */
  retireAgent(agentId: string, reason: string, ctx: ActionContext): Promise<unknown>
  roleOf(name: string): Promise<Role | undefined>
  /** The longest an access token lives: bounds how long an ended session matters to resource servers. */
  maxTokenTtlSeconds: number
  /** Sessions started and ended, and the session cache's hits and misses. */
  metrics?: { sessions: SessionMetrics; cache: CacheMetrics }
  /** Tells other nodes a session ended, so their caches drop it at once. */
  changes?: Pick<ChangeNotifier, 'publish'>
}

type Ending = Pick<SessionEnd, 'state' | 'reason' | 'outcome'> & { action: string }

/** Task-bound sessions: started by an agent, kept alive by heartbeats, ended exactly once. */
export class SessionService {
  /** Lookups for introspection; dropped at once when this node changes the session. */
  private readonly cache: LookupCache<Session>
  private readonly metrics: SessionMetrics

  constructor(private readonly d: SessionDeps) {
    this.cache = new LookupCache((id) => d.repo.get(id), d.clock, 1000, undefined, d.metrics?.cache)
    this.metrics = d.metrics?.sessions ?? noMetrics.sessions
  }

  async start(agent: Agent, plan: SessionPlan, grant: { scope: string[]; audience: string[] | null }, ctx: ActionContext): Promise<{ session: Session; refreshToken: string }> {
    const now = this.d.clock.now()
    const heartbeatDeadline = now + plan.heartbeatGraceSeconds * 1000
    const maxExpiresAt = now + plan.maxLifetimeSeconds * 1000
    const session: Session = {
      id: this.d.newId(now), agentId: agent.id, role: agent.role, task: plan.task, label: plan.label,
      durationSeconds: plan.durationSeconds, state: 'active', outcome: null, endReason: null,
      scope: grant.scope, audience: grant.audience,
      heartbeatIntervalSeconds: plan.heartbeatIntervalSeconds, heartbeatGraceSeconds: plan.heartbeatGraceSeconds,
      heartbeatDeadline, dueAt: Math.min(heartbeatDeadline, maxExpiresAt), lastHeartbeatAt: null, heartbeatCount: 0,
      progress: null, note: null, healthCheckUrl: plan.healthCheckUrl,
      nextProbeAt: plan.healthCheckUrl === null ? null : now + plan.heartbeatIntervalSeconds * 1000,
      maxExpiresAt, createdAt: now, endedAt: null,
    }
    const refreshToken = this.d.mint.issue()
    await this.d.repo.create(session, this.d.mint.digest(refreshToken))
    this.metrics.started()
    await this.d.audit.record({
      ...auditActor(ctx), action: 'session.started', outcome: 'success', target: session.id, role: session.role,
      details: { ...describe(session), duration: plan.durationSeconds ?? 'task-completion', max_expires_at: Math.floor(maxExpiresAt / 1000), heartbeat_interval_seconds: plan.heartbeatIntervalSeconds, heartbeat_grace_seconds: plan.heartbeatGraceSeconds, health_check: plan.healthCheckUrl !== null, scope: grant.scope.join(' ') },
    })
    return { session, refreshToken }
  }

  /**
   * RFC 6749 §6 with rotation. A reused (copied) refresh token ends the session it belongs to.
   * `check` sees the session before anything changes and may refuse the request (a wider scope),
   * so a refused renewal rotates nothing.
   */
  async renew(agent: Agent, refreshToken: string, ctx: ActionContext, check: (session: Session) => void = () => undefined): Promise<{ session: Session; refreshToken: string }> {
    if (!this.d.mint.looksLike(refreshToken)) throw new RefreshRefused('the refresh token is invalid', 'unknown')
    const found = await this.d.repo.findByRefreshToken(this.d.mint.digest(refreshToken))
    if (!found || found.session.agentId !== agent.id) throw new RefreshRefused('the refresh token is invalid', 'unknown')
    if (found.session.state === 'active') check(found.session)
    const successor = this.d.mint.successor(refreshToken)
    const now = this.d.clock.now()
    const result = await this.d.repo.rotateRefreshToken({ digest: this.d.mint.digest(refreshToken), successorDigest: this.d.mint.digest(successor), agentId: agent.id, now, graceMs: REFRESH_RETRY_WINDOW_MS })
    // RFC 6749 §6: the token must have been issued to this client; another's is refused without touching its session.
    if (result.status === 'unknown') throw new RefreshRefused('the refresh token is invalid', 'unknown')
    const { session } = result
    if (result.status === 'inactive') {
      if (session.state === 'active') await this.expire(session)
      throw new RefreshRefused(`the session has ended (${session.state === 'active' ? 'expired' : session.state})`, 'ended')
    }
    if (result.status === 'reused') {
      await this.end(session, { state: 'terminated', reason: 'refresh_token_reused', outcome: null, action: 'session.terminated' }, ctx)
      throw new RefreshRefused('the refresh token was already used; the session is ended', 'reused')
    }
    return { session, refreshToken: successor }
  }

  async heartbeat(agent: Agent, id: string, beat: { progress?: number | null; note?: string | null }): Promise<Session> {
    const now = this.d.clock.now()
    const updated = await this.d.repo.heartbeat(id, agent.id, { now, ...beat })
    if (updated) {
      this.cache.invalidate(id)
      return updated
    }
    // Unknown, another agent's, ended, or past its deadline and not yet swept: end it now rather than revive it.
    const latest = await this.getOwn(agent, id)
    if (latest.state === 'active' && latest.dueAt > now) return this.heartbeat(agent, id, beat) // raced with another heartbeat
    if (latest.state === 'active') throw new SessionEnded(id, 'expired', (await this.expire(latest)).endReason)
    throw new SessionEnded(id, latest.state, latest.endReason)
  }

  async complete(agent: Agent, id: string, outcome: SessionOutcome, ctx: ActionContext): Promise<Session> {
    const current = await this.getOwn(agent, id)
    if (current.state !== 'active') throw new SessionEnded(id, current.state, current.endReason)
    if (current.dueAt <= this.d.clock.now()) throw new SessionEnded(id, 'expired', (await this.expire(current)).endReason)
    const ended = await this.end(current, { state: 'completed', reason: `completed: ${outcome}`, outcome, action: 'session.completed' }, ctx)
    if (ended.state !== 'completed') throw new SessionEnded(id, ended.state, ended.endReason)
    return ended
  }

  /** An operator ends a session. */
  async terminate(id: string, reason: string, ctx: ActionContext): Promise<Session> {
    const current = await this.get(id)
    if (current.state !== 'active') throw new SessionEnded(id, current.state, current.endReason)
    return this.end(current, { state: 'terminated', reason, outcome: null, action: 'session.terminated' }, ctx)
  }

  /** RFC 7009 §2.1: revoking a session's refresh token ends the session and so every token it issued. */
  async revokeRefreshToken(agent: Agent, refreshToken: string, ctx: ActionContext): Promise<boolean> {
    if (!this.d.mint.looksLike(refreshToken)) return false
    const found = await this.d.repo.findByRefreshToken(this.d.mint.digest(refreshToken))
    const session = found?.session
    if (!found?.current || !session || session.agentId !== agent.id || session.state !== 'active') return false
    await this.end(session, { state: 'terminated', reason: 'refresh_token_revoked', outcome: null, action: 'session.terminated' }, ctx)
    return true
  }

  /** Ends the sessions of an agent that was suspended or retired. */
  async endForAgent(agent: Agent, ctx: ActionContext): Promise<void> {
    for (;;) {
      const batch = await this.d.repo.listActiveForAgent(agent.id, 100)
      for (const s of batch) await this.end(s, { state: 'terminated', reason: `agent_${agent.status}`, outcome: null, action: 'session.terminated' }, ctx, { retire: false })
      if (batch.length < 100) return
    }
  }

  /**
   * A role's ceiling was lowered: its live sessions end no later than their start plus the new
   * ceiling (the sweeper ends those already past it). A raised ceiling lengthens nothing.
   */
  async applyCeiling(role: Role): Promise<number> {
    return this.d.repo.capLifetime(role.name, role.maxSessionSeconds * 1000)
  }

  /** The agent's own session; another agent's is reported as not found, so ids reveal nothing. */
  async getOwn(agent: Agent, id: string): Promise<Session> {
    const session = await this.d.repo.get(id)
    if (!session || session.agentId !== agent.id) throw new SessionNotFound(id)
    return session
  }

  async get(id: string): Promise<Session> {
    const session = await this.d.repo.get(id)
    if (!session) throw new SessionNotFound(id)
    return session
  }

  list(filter: SessionFilter): Promise<Session[]> {
    return this.d.repo.list(filter)
  }

  /** The session if it is live at `now` (for introspection), else undefined. */
  async live(id: string, now: number): Promise<Session | undefined> {
    let session = await this.cache.get(id)
    if (session?.state === 'active' && session.dueAt <= now) {
      // Perhaps a heartbeat on another node moved the deadline: read it again before saying no.
      this.cache.invalidate(id)
      session = await this.cache.get(id)
    }
    return session?.state === 'active' && session.dueAt > now ? session : undefined
  }

  /** A change made on another node: drop the cached session(s) it touched. */
  forget(change: Change): void {
    if (change.kind === 'session') this.cache.invalidate(change.id)
    else if (change.kind === 'all') this.cache.clear()
  }

  /** Ends a session that reached its deadline or its absolute end. */
  expire(session: Session): Promise<Session> {
    const now = this.d.clock.now()
    const ending: Ending =
      session.maxExpiresAt <= now
        ? { state: 'expired', reason: session.durationSeconds !== null && session.maxExpiresAt === session.createdAt + session.durationSeconds * 1000 ? 'duration_elapsed' : 'max_duration_reached', outcome: null, action: 'session.expired' }
        : { state: 'expired', reason: 'heartbeat_missed', outcome: null, action: 'session.heartbeat_missed' }
    return this.end(session, ending, systemContext())
  }

  /**
   * Ends a session exactly once: its refresh tokens go, it is published on the revocation feed,
   * the end is audited, and an ephemeral agent retires with it. Returns the session as it ended
   * (by this call or a concurrent one).
   */
  async end(session: Session, ending: Ending, ctx: ActionContext, opts = { retire: true }): Promise<Session> {
    const now = this.d.clock.now()
    // Tokens never outlive the session's absolute end, nor the longest token lifetime from now.
    const revokeUntil = Math.min(session.maxExpiresAt, latestTokenExpiry(now, this.d.maxTokenTtlSeconds))
    const ended = await this.d.repo.end(session.id, { state: ending.state, reason: ending.reason, outcome: ending.outcome, now, revokeUntil })
    this.cache.invalidate(session.id)
    if (ended) this.d.changes?.publish({ kind: 'session', id: session.id })
    if (!ended) return (await this.d.repo.get(session.id)) ?? session
    this.metrics.ended(ended.state)
    await this.d.audit.record({
      ...auditActor(ctx), action: ending.action, outcome: 'success', reason: ending.reason, target: ended.id, role: ended.role,
      details: { ...describe(ended), state: ended.state, outcome: ended.outcome, heartbeat_count: ended.heartbeatCount, progress: ended.progress, lasted_seconds: Math.round((now - ended.createdAt) / 1000) },
    })
    if (opts.retire && (await this.d.roleOf(ended.role))?.lifecycle === 'ephemeral') {
      // An ephemeral agent lives for one task: when its session ends, so do its credentials.
      await this.d.retireAgent(ended.agentId, `ephemeral agent's session ${ended.state}`, systemContext()).catch((err: unknown) => {
        if (!(err instanceof InvalidStatusChange)) throw err // already retired: nothing to do
      })
    }
    return ended
  }
}

function describe(s: Session) {
  return { agent_id: s.agentId, task: s.task, label: s.label }
}
