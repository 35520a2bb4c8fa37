import type { Kysely } from 'kysely'
import type { AdminCredentialRepo } from '../../../ports/admin-credential-repo.js'
import type { Database } from './schema.js'

export function sqlAdminCredentialRepo(db: Kysely<Database>): AdminCredentialRepo {
  return {
    async findByDigest(digest) {
      const r = await db.selectFrom('admin_credentials').selectAll().where('digest', '=', digest).executeTakeFirst()
      return r && { id: r.id, digest: r.digest, label: r.label, createdAt: r.created_at }
    },
    async count() {
      const r = await db.selectFrom('admin_credentials').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
      return Number(r.n)
    },
    async insertFirst(c) {
      return db.transaction().execute(async (trx) => {
        const existing = await trx.selectFrom('admin_credentials').select('id').executeTakeFirst()
        if (existing) return false
        await trx.insertInto('admin_credentials').values({ id: c.id, digest: c.digest, label: c.label, created_at: c.createdAt }).execute()
        return true
      })
    },
  }
}
