import type { Kysely, Selectable } from 'kysely'
import type { User, UserRepo, UserStatus } from '../../../ports/user-repo.js'
import type { Database, UsersTable } from './schema.js'
import { isUniqueViolation } from './sql-errors.js'

function userFromRow(r: Selectable<UsersTable>): User {
  return {
    id: r.id,
    username: r.username,
    usernameKey: r.username_key,
    displayName: r.display_name,
    passwordHash: r.password_hash,
    status: r.status as UserStatus,
    statusReason: r.status_reason,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
}

export function sqlUserRepo(db: Kysely<Database>): UserRepo {
  return {
    async create(u) {
      try {
        await db
          .insertInto('users')
          .values({
            id: u.id, username: u.username, username_key: u.usernameKey, display_name: u.displayName, password_hash: u.passwordHash,
            status: u.status, status_reason: u.statusReason, created_at: u.createdAt, updated_at: u.updatedAt,
          })
          .execute()
        return true
      } catch (err) {
        if (isUniqueViolation(err)) return false
        throw err
      }
    },
    async get(id) {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
      return row && userFromRow(row)
    },
    async findByUsernameKey(key) {
      const row = await db.selectFrom('users').selectAll().where('username_key', '=', key).executeTakeFirst()
      return row && userFromRow(row)
    },
    async list(f) {
      let q = db.selectFrom('users').selectAll()
      if (f.status !== undefined) q = q.where('status', '=', f.status)
      if (f.after !== undefined) q = q.where('id', '>', f.after)
      const rows = await q.orderBy('id').limit(f.limit).execute()
      return rows.map(userFromRow)
    },
    async setStatus(id, from, to, reason, now) {
      return db.transaction().execute(async (trx) => {
        // The status check and the change are one statement: two admins racing change it once.
        const row = await trx
          .updateTable('users')
          .set({ status: to, status_reason: reason, updated_at: now })
          .where('id', '=', id)
          .where('status', '=', from)
          .returningAll()
          .executeTakeFirst()
        if (!row) return undefined
        let endedSessions: string[] = []
        if (to === 'suspended') {
          const ended = await trx
            .updateTable('user_sessions')
            .set({ ended_at: now, end_reason: 'user_suspended' })
            .where('user_id', '=', id)
            .where('ended_at', 'is', null)
            .where('idle_expires_at', '>', now)
            .returning('id')
            .execute()
          endedSessions = ended.map((s) => s.id)
        }
        return { user: userFromRow(row), endedSessions }
      })
    },
  }
}
