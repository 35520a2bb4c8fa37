import { PostgresAdapter, sql, type Kysely, type Selectable, type Transaction } from 'kysely'
import type { RevocationEntry, RevocationFeed, RevocationType } from '../../../ports/revocation-feed.js'
import type { Database, RevocationFeedTable } from './schema.js'

// Any constant will do: it only has to be the same for every writer of the feed.
const FEED_LOCK = 7_001_001

export interface PublishedRevocation {
  type: RevocationType
  value: string
  revokedAt: number
  until: number
}

/**
 * Appends to the revocation feed inside the caller's transaction, so an entry exists exactly
 * when the change it announces committed. The feed's cursor is its sequence number, and a
 * reader that has seen N must never later find a smaller one: on PostgreSQL, sequence values
 * are handed out in call order but transactions commit in any order, so writers take a
 * transaction-scoped lock first and commit in the order they numbered. (SQLite has one writer.)
 */
export async function publishRevocation(trx: Transaction<Database>, entry: PublishedRevocation): Promise<void> {
  if (trx.getExecutor().adapter instanceof PostgresAdapter) await sql`select pg_advisory_xact_lock(${FEED_LOCK})`.execute(trx)
  await trx.insertInto('revocation_feed').values({ type: entry.type, value: entry.value, revoked_at: entry.revokedAt, until: entry.until }).execute()
}

function entryFromRow(r: Selectable<RevocationFeedTable>): RevocationEntry {
  return { cursor: String(r.seq), type: r.type as RevocationType, value: r.value, revokedAt: r.revoked_at, until: r.until }
}

/** Cursors are decimal sequence numbers on the wire; anything else names no position. */
export function parseCursor(cursor: string): number | undefined {
  return /^\d{1,15}$/.test(cursor) ? Number(cursor) : undefined
}

export function sqlRevocationFeed(db: Kysely<Database>): RevocationFeed {
  return {
    async since(cursor, limit) {
      const after = parseCursor(cursor) ?? 0
      const rows = await db.selectFrom('revocation_feed').selectAll().where('seq', '>', after).orderBy('seq').limit(limit).execute()
      return rows.map(entryFromRow)
    },
    async live(now, limit, cursor) {
      let q = db.selectFrom('revocation_feed').selectAll().where('until', '>', now).orderBy('seq').limit(limit)
      if (cursor !== undefined) q = q.where('seq', '>', parseCursor(cursor) ?? 0)
      return (await q.execute()).map(entryFromRow)
    },
    async head() {
      const row = await db.selectFrom('revocation_feed').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst()
      return row?.seq === null || row?.seq === undefined ? '0' : String(row.seq)
    },
    async purge(now) {
      // Sequence numbers are never reused (AUTOINCREMENT, bigserial), so cursors stay valid. The
      // newest entry is kept whatever its age, so head() never falls below a cursor handed out.
      const newest = db.selectFrom('revocation_feed').select((eb) => eb.fn.max('seq').as('seq'))
      const res = await db.deleteFrom('revocation_feed').where('until', '<=', now).where('seq', '<', newest).executeTakeFirst()
      return Number(res.numDeletedRows)
    },
  }
}
