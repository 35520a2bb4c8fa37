import type { Kysely } from 'kysely'
import type { RevocationRepo } from '../../../ports/revocation-repo.js'
import { publishRevocation } from './revocation-feed.js'
import type { Database } from './schema.js'

export function sqlRevocationRepo(db: Kysely<Database>): RevocationRepo {
  return {
    async revoke(t) {
      await db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto('revoked_tokens')
          .values({ jti: t.jti, client_id: t.clientId, expires_at: t.expiresAt, revoked_at: t.revokedAt })
          .onConflict((oc) => oc.column('jti').doNothing())
          .returning('jti')
          .executeTakeFirst()
        // Resource servers hear of each revocation once, when it first happens.
        if (inserted) await publishRevocation(trx, { type: 'token', value: t.jti, revokedAt: t.revokedAt, until: t.expiresAt })
      })
    },
    async isRevoked(jti) {
      const row = await db.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti).executeTakeFirst()
      return row !== undefined
    },
    async listLive(now) {
      const rows = await db.selectFrom('revoked_tokens').selectAll().where('expires_at', '>', now).execute()
      return rows.map((r) => ({ jti: r.jti, clientId: r.client_id, expiresAt: r.expires_at, revokedAt: r.revoked_at }))
    },
    async purgeExpired(now) {
      const res = await db.deleteFrom('revoked_tokens').where('expires_at', '<=', now).executeTakeFirst()
      return Number(res.numDeletedRows)
    },
  }
}
