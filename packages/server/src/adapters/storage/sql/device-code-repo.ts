import { sql, type Kysely, type Selectable } from 'kysely'
import type { DeviceCode, DeviceCodeRepo, DeviceCodeStatus } from '../../../ports/device-code-repo.js'
import type { Database, DeviceCodesTable } from './schema.js'
import { isUniqueViolation } from './sql-errors.js'

function codeFromRow(r: Selectable<DeviceCodesTable>): DeviceCode {
  return {
    id: r.id,
    userCode: r.user_code,
    clientId: r.client_id,
    scope: JSON.parse(r.scope) as string[],
    audience: r.audience === null ? null : (JSON.parse(r.audience) as string[]),
    status: r.status as DeviceCodeStatus,
    userId: r.user_id,
    consentId: r.consent_id,
    authTime: r.auth_time,
    intervalSeconds: Number(r.interval_seconds),
    lastPolledAt: r.last_polled_at,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    decidedAt: r.decided_at,
    consumedAt: r.consumed_at,
  }
}

/*
 * Every state change is one conditional UPDATE … RETURNING, so racing requests (two decisions,
 * two polls, two exchanges) are settled by the database, never by a read followed by a write.
 */
export function sqlDeviceCodeRepo(db: Kysely<Database>): DeviceCodeRepo {
  return {
    async create(c, digest) {
      try {
        await db
          .insertInto('device_codes')
          .values({
            id: c.id, code_digest: digest, user_code: c.userCode, client_id: c.clientId, scope: JSON.stringify(c.scope),
            audience: c.audience === null ? null : JSON.stringify(c.audience), status: c.status, user_id: c.userId, consent_id: c.consentId,
            auth_time: c.authTime, interval_seconds: c.intervalSeconds, last_polled_at: c.lastPolledAt, created_at: c.createdAt,
            expires_at: c.expiresAt, decided_at: c.decidedAt, consumed_at: c.consumedAt,
          })
          .execute()
        return true
      } catch (err) {
        // Only the pending user code can collide: the id and the digest are 128 and 256 random bits.
        if (isUniqueViolation(err)) return false
        throw err
      }
    },
    async findByDigest(digest) {
      const row = await db.selectFrom('device_codes').selectAll().where('code_digest', '=', digest).executeTakeFirst()
      return row && codeFromRow(row)
    },
    async findPending(userCode, now) {
      const row = await db.selectFrom('device_codes').selectAll().where('user_code', '=', userCode).where('status', '=', 'pending').where('expires_at', '>', now).executeTakeFirst()
      return row && codeFromRow(row)
    },
    async decide(id, decision, now) {
      const row = await db
        .updateTable('device_codes')
        .set({
          status: decision.status,
          user_id: decision.userId,
          consent_id: decision.status === 'approved' ? decision.consentId : null,
          auth_time: decision.status === 'approved' ? decision.authTime : null,
          decided_at: now,
        })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst()
      return row && codeFromRow(row)
    },
    async withdrawApprovals(userId, now) {
      // approved → denied in one statement: of this and a racing exchange (approved → consumed) exactly one wins.
      const rows = await db.updateTable('device_codes').set({ status: 'denied', consent_id: null, auth_time: null, decided_at: now })
        .where('user_id', '=', userId).where('status', '=', 'approved').returningAll().execute()
      return rows.map(codeFromRow)
    },
    async poll(digest, now, earlyPermille, slowDownSeconds) {
      // On time: at least interval × (1000 − early) ms since the last poll, measured on the server's clock.
      const onTime = await db
        .updateTable('device_codes')
        .set({ last_polled_at: now })
        .where('code_digest', '=', digest)
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('last_polled_at', 'is', null), eb(sql<number>`last_polled_at + interval_seconds * ${1000 - earlyPermille}`, '<=', now)]))
        .returningAll()
        .executeTakeFirst()
      if (onTime) return { kind: 'on_time', code: codeFromRow(onTime) }
      const tooSoon = await db
        .updateTable('device_codes')
        .set((eb) => ({ last_polled_at: now, interval_seconds: eb('interval_seconds', '+', slowDownSeconds) }))
        .where('code_digest', '=', digest)
        .where('status', '=', 'pending')
        .returningAll()
        .executeTakeFirst()
      return tooSoon && { kind: 'too_soon', code: codeFromRow(tooSoon) }
    },
    async consume(digest, clientId, now) {
      const row = await db
        .updateTable('device_codes')
        .set({ status: 'consumed', consumed_at: now })
        .where('code_digest', '=', digest)
        .where('client_id', '=', clientId)
        .where('status', '=', 'approved')
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst()
      return row && codeFromRow(row)
    },
    async purge(before) {
      const result = await db.deleteFrom('device_codes').where('expires_at', '<', before).executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}
