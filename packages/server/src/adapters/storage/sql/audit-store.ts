import { CompiledQuery, type Kysely, type Selectable } from 'kysely'
import type { AuditActorType, AuditEvent, AuditOutcome, AuditStore } from '../../../ports/audit-store.js'
import type { Engine } from './database.js'
import type { AuditEventsTable, Database } from './schema.js'
import type { StatementBatch } from './sqlite-worker/driver.js'

function eventFromRow(r: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: r.id,
    streamId: r.stream_id,
    seq: r.seq,
    ts: r.ts,
    actorType: r.actor_type as AuditActorType,
    actorId: r.actor_id,
    action: r.action,
    outcome: r.outcome as AuditOutcome,
    reason: r.reason,
    target: r.target,
    role: r.role,
    ip: r.ip,
    requestId: r.request_id,
    details: JSON.parse(r.details) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  }
}

// The audit write is on every token's path, so it skips the query builder: the SQL is built once
// per shape and each event becomes its parameter row directly.
const COLUMNS = 'id, stream_id, seq, ts, actor_type, actor_id, action, outcome, reason, target, role, ip, request_id, details, prev_hash, hash'
const COLUMN_COUNT = 16

function eventParams(e: AuditEvent): unknown[] {
  return [e.id, e.streamId, e.seq, e.ts, e.actorType, e.actorId, e.action, e.outcome, e.reason, e.target, e.role, e.ip, e.requestId, JSON.stringify(e.details), e.prevHash, e.hash]
}

const SQLITE_INSERT = `insert into audit_events (${COLUMNS}) values (${Array(COLUMN_COUNT).fill('?').join(', ')})`
const SQLITE_MOVE_HEAD = 'update audit_streams set head_seq = ?, head_hash = ? where id = ?'

// PostgreSQL binds at most 65,535 parameters per statement: 16 columns x 2,000 rows stays under it.
const PG_CHUNK = 2000

/** `($1, …, $16), ($17, …)`: placeholders for `rows` events, numbered from `first`. */
function pgValues(rows: number, first = 1): string {
  const tuples: string[] = []
  for (let r = 0; r < rows; r++) {
    const base = first + r * COLUMN_COUNT
    tuples.push(`(${Array.from({ length: COLUMN_COUNT }, (_, c) => `$${base + c}`).join(', ')})`)
  }
  return tuples.join(', ')
}

/** SQLite: each event through one prepared statement, with the head move, in one worker round trip. */
function sqliteAppend(batch: StatementBatch): AuditStore['append'] {
  return async (streamId, events) => {
    const last = events[events.length - 1]
    if (!last) return
    await batch([
      { sql: SQLITE_INSERT, rows: events.map(eventParams) },
      // The head lets verify notice rows deleted from the end of a stream.
      { sql: SQLITE_MOVE_HEAD, rows: [[last.seq, last.hash, streamId]] },
    ])
  }
}

/** PostgreSQL: the insert and the head move as one statement (atomic by itself), one round trip. */
function pgAppend(db: Kysely<Database>): AuditStore['append'] {
  return async (streamId, events) => {
    const last = events[events.length - 1]
    if (!last) return
    const chunks: AuditEvent[][] = []
    for (let i = 0; i < events.length; i += PG_CHUNK) chunks.push(events.slice(i, i + PG_CHUNK))
    const statements = chunks.map((chunk, i) => {
      const params = chunk.flatMap(eventParams)
      if (i < chunks.length - 1) return CompiledQuery.raw(`insert into audit_events (${COLUMNS}) values ${pgValues(chunk.length)}`, params)
      // The head lets verify notice rows deleted from the end of a stream.
      const n = params.length
      return CompiledQuery.raw(
        `with inserted as (insert into audit_events (${COLUMNS}) values ${pgValues(chunk.length)} returning 1) ` +
          `update audit_streams set head_seq = $${n + 1}, head_hash = $${n + 2} where id = $${n + 3}`,
        [...params, last.seq, last.hash, streamId],
      )
    })
    if (statements.length === 1) {
      await db.executeQuery(statements[0]!)
      return
    }
    await db.transaction().execute(async (trx) => {
      for (const q of statements) await trx.executeQuery(q)
    })
  }
}

export function sqlAuditStore(db: Kysely<Database>, engine: Engine, batch: StatementBatch | undefined): AuditStore {
  const append = engine === 'sqlite' && batch ? sqliteAppend(batch) : pgAppend(db)
  return {
    async openStream(s) {
      await db.insertInto('audit_streams').values({ id: s.id, started_at: s.startedAt, head_seq: s.headSeq, head_hash: s.headHash }).execute()
    },
    append,
    async streams() {
      const rows = await db.selectFrom('audit_streams').selectAll().orderBy('started_at').execute()
      return rows.map((r) => ({ id: r.id, startedAt: r.started_at, headSeq: r.head_seq, headHash: r.head_hash }))
    },
    async stream(streamId) {
      const r = await db.selectFrom('audit_streams').selectAll().where('id', '=', streamId).executeTakeFirst()
      return r && { id: r.id, startedAt: r.started_at, headSeq: r.head_seq, headHash: r.head_hash }
    },
    async eventStreamIds() {
      const rows = await db.selectFrom('audit_events').select('stream_id').distinct().execute()
      return rows.map((r) => r.stream_id)
    },
    async readStream(streamId, afterSeq, limit) {
      const rows = await db.selectFrom('audit_events').selectAll().where('stream_id', '=', streamId).where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute()
      return rows.map(eventFromRow)
    },
    async query(q) {
      let sel = db.selectFrom('audit_events').selectAll().orderBy('ts', 'desc').orderBy('id', 'desc').limit(q.limit)
      if (q.actor !== undefined) sel = sel.where('actor_id', '=', q.actor)
      if (q.target !== undefined) sel = sel.where('target', '=', q.target)
      if (q.action !== undefined) sel = sel.where('action', '=', q.action)
      if (q.outcome !== undefined) sel = sel.where('outcome', '=', q.outcome)
      if (q.since !== undefined) sel = sel.where('ts', '>=', q.since)
      if (q.until !== undefined) sel = sel.where('ts', '<', q.until)
      const before = q.before
      if (before !== undefined) {
        sel = sel.where((eb) => eb.or([eb('ts', '<', before.ts), eb.and([eb('ts', '=', before.ts), eb('id', '<', before.id)])]))
      }
      return (await sel.execute()).map(eventFromRow)
    },
  }
}
