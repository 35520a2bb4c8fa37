import type { Kysely } from 'kysely'
import type { RevocationRepo } from '../../../ports/revocation-repo.js'
import type { Database } from './schema.js'

export function sqlRevocationRepo(db: Kysely<Database>): RevocationRepo {
  return {
    async revoke(t) {
      await db
        .insertInto('revoked_tokens')
        .values({ jti: t.jti, client_id: t.clientId, expires_at: t.expiresAt, revoked_at: t.revokedAt })
        .onConflict((oc) => oc.column('jti').doNothing())
        .execute()
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
