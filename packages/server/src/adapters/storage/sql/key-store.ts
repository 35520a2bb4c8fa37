import type { Kysely, Selectable } from 'kysely'
import type { KeyDomain, KeyStore, StoredKey } from '../../../ports/key-store.js'
import type { Database, SigningKeysTable } from './schema.js'
import { isUniqueViolation } from './sql-errors.js'

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
    async rotate(next, retiredPublishUntil) {
      // A concurrent rotation on another connection can commit its new key between our retire
      // and our insert; the one-active-key index then refuses ours, and we retire that one instead.
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction().execute(async (trx) => {
            const retired = await trx
              .updateTable('signing_keys')
              .set({ state: 'retired', publish_until: retiredPublishUntil })
              .where('domain', '=', next.domain)
              .where('state', '=', 'active')
              .returning('kid')
              .executeTakeFirst()
            await trx.insertInto('signing_keys').values(keyToRow(next)).execute()
            return { retiredKid: retired?.kid }
          })
        } catch (err) {
          if (!isUniqueViolation(err) || attempt >= 5) throw err
        }
      }
    },
    async insertFirst(key) {
      try {
        return await db.transaction().execute(async (trx) => {
          const existing = await trx.selectFrom('signing_keys').select('kid').where('domain', '=', key.domain).executeTakeFirst()
          if (existing) return false
          await trx.insertInto('signing_keys').values(keyToRow(key)).execute()
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
