import { PostgresAdapter, sql, type Kysely, type Selectable } from 'kysely'
import type { Session, SessionOutcome, SessionRepo, SessionState } from '../../../ports/session-repo.js'
import { publishRevocation } from './revocation-feed.js'
import type { Database, SessionsTable } from './schema.js'

export function sessionFromRow(r: Selectable<SessionsTable>): Session {
  return {
    id: r.id,
    agentId: r.agent_id,
    role: r.role,
    task: r.task,
    label: r.label,
    durationSeconds: r.duration_seconds,
    state: r.state as SessionState,
    outcome: r.outcome as SessionOutcome | null,
    endReason: r.end_reason,
    scope: JSON.parse(r.scope) as string[],
    audience: r.audience === null ? null : (JSON.parse(r.audience) as string[]),
    heartbeatIntervalSeconds: r.heartbeat_interval_seconds,
    heartbeatGraceSeconds: r.heartbeat_grace_seconds,
    heartbeatDeadline: r.heartbeat_deadline,
    dueAt: r.due_at,
    lastHeartbeatAt: r.last_heartbeat_at,
    heartbeatCount: Number(r.heartbeat_count),
    progress: r.progress,
    note: r.note,
    healthCheckUrl: r.health_check_url,
    nextProbeAt: r.next_probe_at,
    maxExpiresAt: r.max_expires_at,
    createdAt: r.created_at,
    endedAt: r.ended_at,
  }
}

function sessionToRow(s: Session) {
  return {
    id: s.id,
    agent_id: s.agentId,
    role: s.role,
    task: s.task,
    label: s.label,
    duration_seconds: s.durationSeconds,
    state: s.state,
    outcome: s.outcome,
    end_reason: s.endReason,
    scope: JSON.stringify(s.scope),
    audience: s.audience === null ? null : JSON.stringify(s.audience),
    heartbeat_interval_seconds: s.heartbeatIntervalSeconds,
    heartbeat_grace_seconds: s.heartbeatGraceSeconds,
    heartbeat_deadline: s.heartbeatDeadline,
    due_at: s.dueAt,
    last_heartbeat_at: s.lastHeartbeatAt,
    heartbeat_count: s.heartbeatCount,
    progress: s.progress,
    note: s.note,
    health_check_url: s.healthCheckUrl,
    next_probe_at: s.nextProbeAt,
    max_expires_at: s.maxExpiresAt,
    created_at: s.createdAt,
    ended_at: s.endedAt,
  }
}

export function sqlSessionRepo(db: Kysely<Database>): SessionRepo {
  return {
    async create(session, refreshDigest) {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('sessions').values(sessionToRow(session)).execute()
        await trx.insertInto('refresh_tokens').values({ digest: refreshDigest, session_id: session.id, created_at: session.createdAt, rotated_at: null }).execute()
      })
    },

    async get(id) {
      const row = await db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst()
      return row && sessionFromRow(row)
    },

    async list({ agent, role, label, state, limit, after }) {
      let q = db.selectFrom('sessions').selectAll().orderBy('id').limit(limit)
      if (agent !== undefined) q = q.where('agent_id', '=', agent)
      if (role !== undefined) q = q.where('role', '=', role)
      if (label !== undefined) q = q.where('label', '=', label)
      if (state !== undefined) q = q.where('state', '=', state)
      if (after !== undefined) q = q.where('id', '>', after)
      return (await q.execute()).map(sessionFromRow)
    },

    async listActiveForAgent(agentId, limit) {
      const rows = await db.selectFrom('sessions').selectAll().where('agent_id', '=', agentId).where('state', '=', 'active').orderBy('id').limit(limit).execute()
      return rows.map(sessionFromRow)
    },

    async heartbeat(id, agentId, beat) {
      // One statement: the deadline comes from the row's own grace period, so nothing is read first.
      // The cast keeps PostgreSQL from typing the sum as integer (ms timestamps need bigint).
      const deadline = sql<number>`cast(${beat.now} as bigint) + heartbeat_grace_seconds * 1000`
      const row = await db
        .updateTable('sessions')
        .set((eb) => ({
          heartbeat_deadline: deadline,
          // Portable min(deadline, max_expires_at).
          due_at: sql<number>`case when max_expires_at < ${deadline} then max_expires_at else ${deadline} end`,
          last_heartbeat_at: beat.now,
          heartbeat_count: eb('heartbeat_count', '+', 1),
          ...(beat.progress !== undefined ? { progress: beat.progress } : {}),
          ...(beat.note !== undefined ? { note: beat.note } : {}),
        }))
        .where('id', '=', id)
        .where('agent_id', '=', agentId)
        .where('state', '=', 'active')
        .where('due_at', '>', beat.now)
        .returningAll()
        .executeTakeFirst()
      return row && sessionFromRow(row)
    },

    async end(id, end) {
      return db.transaction().execute(async (trx) => {
        // One statement decides which of several concurrent ends (complete, sweep, terminate) wins.
        const row = await trx
          .updateTable('sessions')
          .set({ state: end.state, end_reason: end.reason, outcome: end.outcome, ended_at: end.now, next_probe_at: null })
          .where('id', '=', id)
          .where('state', '=', 'active')
          .returningAll()
          .executeTakeFirst()
        if (!row) return undefined
        await trx.deleteFrom('refresh_tokens').where('session_id', '=', id).execute()
        await publishRevocation(trx, { type: 'session', value: id, revokedAt: end.now, until: end.revokeUntil })
        return sessionFromRow(row)
      })
    },

    async listDue(now, limit) {
      const rows = await db.selectFrom('sessions').selectAll().where('state', '=', 'active').where('due_at', '<=', now).orderBy('due_at').limit(limit).execute()
      return rows.map(sessionFromRow)
    },

    async capLifetime(role, ceilingMs) {
      const ceiling = sql<number>`created_at + ${ceilingMs}`
      const res = await db
        .updateTable('sessions')
        .set({
          max_expires_at: ceiling,
          due_at: sql<number>`case when due_at > created_at + ${ceilingMs} then created_at + ${ceilingMs} else due_at end`,
        })
        .where('role', '=', role)
        .where('state', '=', 'active')
        .where('max_expires_at', '>', ceiling)
        .executeTakeFirst()
      return Number(res.numUpdatedRows)
    },

    async rotateRefreshToken({ digest, successorDigest, agentId, now, graceMs }) {
      return db.transaction().execute(async (trx) => {
        // The session row is read first and locked on PostgreSQL, so a rotation and the end of
        // the session are serialised: no successor is stored for a session that just ended.
        const sessionOf = async (sessionId: string) => {
          let q = trx.selectFrom('sessions').selectAll().where('id', '=', sessionId)
          if (trx.getExecutor().adapter instanceof PostgresAdapter) q = q.forUpdate()
          const row = await q.executeTakeFirst()
          return row && sessionFromRow(row)
        }
        const token = await trx.selectFrom('refresh_tokens').select(['session_id']).where('digest', '=', digest).executeTakeFirst()
        if (!token) return { status: 'unknown' as const }
        const session = await sessionOf(token.session_id)
        if (!session || session.agentId !== agentId) return { status: 'unknown' as const }
        if (session.state !== 'active' || session.dueAt <= now) return { status: 'inactive' as const, session }
        // Never check-then-act: of concurrent uses, the one whose update finds rotated_at empty wins.
        const rotated = await trx.updateTable('refresh_tokens').set({ rotated_at: now }).where('digest', '=', digest).where('rotated_at', 'is', null).returning('digest').executeTakeFirst()
        if (rotated) {
          await trx.insertInto('refresh_tokens').values({ digest: successorDigest, session_id: session.id, created_at: now, rotated_at: null }).execute()
          return { status: 'rotated' as const, session }
        }
        const previous = await trx.selectFrom('refresh_tokens').select('rotated_at').where('digest', '=', digest).executeTakeFirst()
        const successor = await trx.selectFrom('refresh_tokens').select('rotated_at').where('digest', '=', successorDigest).where('session_id', '=', session.id).executeTakeFirst()
        const recent = previous?.rotated_at != null && now - previous.rotated_at <= graceMs
        if (recent && successor && successor.rotated_at === null) return { status: 'replayed' as const, session }
        return { status: 'reused' as const, session }
      })
    },

    async findByRefreshToken(digest) {
      const row = await db
        .selectFrom('refresh_tokens')
        .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
        .selectAll('sessions')
        .select('refresh_tokens.rotated_at as token_rotated_at')
        .where('refresh_tokens.digest', '=', digest)
        .executeTakeFirst()
      if (!row) return undefined
      const { token_rotated_at, ...session } = row
      return { session: sessionFromRow(session), current: token_rotated_at === null }
    },

    async claimDueProbes(now, limit) {
      const due = db
        .selectFrom('sessions')
        .select('id')
        .where('state', '=', 'active')
        .where('next_probe_at', 'is not', null)
        .where('next_probe_at', '<=', now)
        .orderBy('next_probe_at')
        .limit(limit)
      const rows = await db
        .updateTable('sessions')
        // The cast keeps PostgreSQL from typing the sum as integer (ms timestamps need bigint).
        .set({ next_probe_at: sql<number>`cast(${now} as bigint) + heartbeat_interval_seconds * 1000` })
        .where('id', 'in', due)
        // Re-checked here: on PostgreSQL another node may have claimed a row since the subquery read it.
        .where('state', '=', 'active')
        .where('next_probe_at', '<=', now)
        .returningAll()
        .execute()
      return rows.map(sessionFromRow)
    },
  }
}

