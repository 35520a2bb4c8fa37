import { PostgresAdapter, sql, type Kysely, type Selectable } from 'kysely'
import type { KeyDomain, KeyStore, StoredKey } from '../../../ports/key-store.js'
import type { Database, SigningKeysTable } from './schema.js'
import { publishRevocation } from './revocation-feed.js'
import { isRetryableConflict, isUniqueViolation } from './sql-errors.js'

// Any constant will do: it only has to be the same for every rotation of the keys.
const ROTATION_LOCK = 7_001_002

function keyFromRow(r: Selectable<SigningKeysTable>): StoredKey {
  return {
    kid: r.kid,
    domain: r.domain as KeyDomain,
    alg: r.alg,
    publicJwk: r.public_jwk,
    privateJwe: r.private_jwe,
    state: r.state as StoredKey['state'],
    createdAt: r.created_at,
    publishUntil: r.publish_until,
  }
}

function keyToRow(k: StoredKey): Selectable<SigningKeysTable> {
  return {
    kid: k.kid,
    domain: k.domain,
    alg: k.alg,
    public_jwk: k.publicJwk,
    private_jwe: k.privateJwe,
    state: k.state,
    created_at: k.createdAt,
    publish_until: k.publishUntil,
  }
}

export function sqlKeyStore(db: Kysely<Database>): KeyStore {
  return {
    async list(domain) {
      const rows = await db.selectFrom('signing_keys').selectAll().where('domain', '=', domain).orderBy('created_at', 'desc').execute()
      return rows.map(keyFromRow)
    },
    async rotate(standby, { retiredPublishUntil, promotableCreatedBy, withdrawal }) {
      // Rotations take turns (a transaction lock on PostgreSQL; SQLite has one writer), so the
      // standby's age is checked against the standby that is really promoted. The retry covers
      // writers that predate the lock.
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction().execute(async (trx) => {
            if (trx.getExecutor().adapter instanceof PostgresAdapter) await sql`select pg_advisory_xact_lock(${ROTATION_LOCK})`.execute(trx)
            if (promotableCreatedBy !== undefined) {
              const next = await trx.selectFrom('signing_keys').select('created_at').where('domain', '=', standby.domain).where('state', '=', 'next').executeTakeFirst()
              if (next && next.created_at > promotableCreatedBy) return { status: 'standby_too_new' as const, standbyCreatedAt: next.created_at }
            }
            const retired = await trx
              .updateTable('signing_keys')
              .set({ state: 'retired', publish_until: withdrawal ? withdrawal.now : retiredPublishUntil })
              .where('domain', '=', standby.domain)
              .where('state', '=', 'active')
              .returning('kid')
              .executeTakeFirst()
            const promoted = await trx
              .updateTable('signing_keys')
              .set({ state: 'active' })
              .where('domain', '=', standby.domain)
              .where('state', '=', 'next')
              .returning('kid')
              .executeTakeFirst()
            await trx.insertInto('signing_keys').values(keyToRow({ ...standby, state: promoted ? 'next' : 'active' })).execute()
            if (withdrawal && retired) await publishRevocation(trx, { type: 'key', value: retired.kid, revokedAt: withdrawal.now, until: withdrawal.until })
            return { status: 'rotated' as const, kid: promoted?.kid ?? standby.kid, retiredKid: retired?.kid }
          })
        } catch (err) {
          if (!(isUniqueViolation(err) || isRetryableConflict(err)) || attempt >= 8) throw err
        }
      }
    },
    async insertFirst(active, standby) {
      try {
        return await db.transaction().execute(async (trx) => {
          const existing = await trx.selectFrom('signing_keys').select('kid').where('domain', '=', active.domain).executeTakeFirst()
          if (existing) return false
          await trx.insertInto('signing_keys').values([keyToRow({ ...active, state: 'active' }), keyToRow({ ...standby, state: 'next' })]).execute()
          return true
        })
      } catch (err) {
        if (isUniqueViolation(err)) return false
        throw err
      }
    },
    async ensureStandby(standby) {
      try {
        return await db.transaction().execute(async (trx) => {
          const existing = await trx.selectFrom('signing_keys').select('kid').where('domain', '=', standby.domain).where('state', '=', 'next').executeTakeFirst()
          if (existing) return false
          await trx.insertInto('signing_keys').values(keyToRow({ ...standby, state: 'next' })).execute()
          return true
        })
      } catch (err) {
        if (isUniqueViolation(err)) return false
        throw err
      }
    },
    async purge(now) {
      const res = await db.deleteFrom('signing_keys').where('state', '=', 'retired').where('publish_until', '<', now).executeTakeFirst()
      return Number(res.numDeletedRows)
    },
  }
}
