import type { Kysely, Selectable } from 'kysely'
import type { UserSession, UserSessionEndReason, UserSessionRepo } from '../../../ports/user-session-repo.js'
import type { Database, UserSessionsTable } from './schema.js'

function sessionFromRow(r: Selectable<UserSessionsTable>): UserSession {
  return {
    id: r.id,
    userId: r.user_id,
    ip: r.ip,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    idleExpiresAt: r.idle_expires_at,
    absoluteExpiresAt: r.absolute_expires_at,
    endedAt: r.ended_at,
    endReason: r.end_reason as UserSessionEndReason | null,
  }
}

/*
 * idle_expires_at never exceeds absolute_expires_at (it is kept at the lesser of the two), so
 * "idle_expires_at > now" alone says that neither expiry has passed.
 */
export function sqlUserSessionRepo(db: Kysely<Database>): UserSessionRepo {
  return {
    async create(s, digest) {
      await db
        .insertInto('user_sessions')
        .values({
          id: s.id, digest, user_id: s.userId, ip: s.ip, created_at: s.createdAt, last_seen_at: s.lastSeenAt,
          idle_expires_at: Math.min(s.idleExpiresAt, s.absoluteExpiresAt), absolute_expires_at: s.absoluteExpiresAt, ended_at: null, end_reason: null,
        })
        .execute()
    },
    async touch(digest, now, idleMs) {
      const row = await db
        .updateTable('user_sessions')
        .set((eb) => ({
          last_seen_at: now,
          idle_expires_at: eb.case().when('absolute_expires_at', '<', now + idleMs).then(eb.ref('absolute_expires_at')).else(now + idleMs).end(),
        }))
        .where('digest', '=', digest)
        .where('ended_at', 'is', null)
        .where('idle_expires_at', '>', now)
        .returningAll()
        .executeTakeFirst()
      return row && sessionFromRow(row)
    },
    async end(digest, now, reason) {
      // A session found past an expiry ended then, for that reason, not now because someone noticed.
      const row = await db
        .updateTable('user_sessions')
        .set((eb) => ({
          ended_at: eb.case().when('idle_expires_at', '<=', now).then(eb.ref('idle_expires_at')).else(now).end(),
          // Whichever expiry came first: the idle expiry is capped at the absolute one, so equal means absolute.
          end_reason: eb
            .case()
            .when(eb.and([eb('idle_expires_at', '<=', now), eb('idle_expires_at', '=', eb.ref('absolute_expires_at'))]))
            .then('absolute_timeout')
            .when('idle_expires_at', '<=', now)
            .then('idle_timeout')
            .else(reason)
            .end(),
        }))
        .where('digest', '=', digest)
        .where('ended_at', 'is', null)
        .returningAll()
        .executeTakeFirst()
      return row && sessionFromRow(row)
    },
    async live(userId, now) {
      const rows = await db
        .selectFrom('user_sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('ended_at', 'is', null)
        .where('idle_expires_at', '>', now)
        .orderBy('id', 'desc')
        .execute()
      return rows.map(sessionFromRow)
    },
    async purge(before) {
      const result = await db
        .deleteFrom('user_sessions')
        .where((eb) => eb.or([eb('ended_at', '<', before), eb('idle_expires_at', '<', before)]))
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}
