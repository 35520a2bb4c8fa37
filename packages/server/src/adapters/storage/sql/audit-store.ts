import type { Kysely, Selectable } from 'kysely'
import type { AuditActorType, AuditEvent, AuditOutcome, AuditStore } from '../../../ports/audit-store.js'
import type { AuditEventsTable, Database } from './schema.js'

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

function eventToRow(e: AuditEvent): Selectable<AuditEventsTable> {
  return {
    id: e.id,
    stream_id: e.streamId,
    seq: e.seq,
    ts: e.ts,
    actor_type: e.actorType,
    actor_id: e.actorId,
    action: e.action,
    outcome: e.outcome,
    reason: e.reason,
    target: e.target,
    role: e.role,
    ip: e.ip,
    request_id: e.requestId,
    details: JSON.stringify(e.details),
    prev_hash: e.prevHash,
    hash: e.hash,
  }
}

// SQLite caps bound parameters per statement; 16 columns x 500 rows stays well under it.
const INSERT_CHUNK = 500

export function sqlAuditStore(db: Kysely<Database>): AuditStore {
  return {
    async openStream(s) {
      await db.insertInto('audit_streams').values({ id: s.id, started_at: s.startedAt, head_seq: s.headSeq, head_hash: s.headHash }).execute()
    },
    async append(streamId, events) {
      const last = events[events.length - 1]
      if (!last) return
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < events.length; i += INSERT_CHUNK) {
          await trx.insertInto('audit_events').values(events.slice(i, i + INSERT_CHUNK).map(eventToRow)).execute()
        }
        // The head lets verify notice rows deleted from the end of a stream.
        await trx.updateTable('audit_streams').set({ head_seq: last.seq, head_hash: last.hash }).where('id', '=', streamId).execute()
      })
    },
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
