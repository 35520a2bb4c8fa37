import type { AuditStore } from '../../ports/audit-store.js'
import { GENESIS_HASH, hashEvent } from './hash-chain.js'

export interface VerifyResult {
  ok: boolean
  /** Events checked. */
  checked: number
  streams: number
  /** The first event (or stream position) where the chain breaks. */
  first_bad?: string
  problem?: string
}

const PAGE = 1000

/**
 * Walks every stream from its first event: sequence numbers without gaps, times that never go
 * backwards (and none before the stream started), each prev_hash equal to the hash before it,
 * each hash recomputed, and the stream head matching the last event (so rows deleted from the
 * end are caught). Events of an unknown stream are caught too.
 */
export async function verifyAuditLog(store: AuditStore): Promise<VerifyResult> {
  const streams = await store.streams()
  const known = new Set(streams.map((s) => s.id))
  let checked = 0
  for (const orphan of await store.eventStreamIds()) {
    if (!known.has(orphan)) return { ok: false, checked, streams: streams.length, first_bad: `${orphan}:1`, problem: 'events belong to a stream that is not registered' }
  }
  for (const stream of streams) {
    // Walk only up to the head read above: events appended while verify runs are for next time,
    // not a break. The head is written in the same transaction as the events it points to.
    let expectedSeq = 1
    let prevHash = GENESIS_HASH
    let prevTs = stream.startedAt
    while (expectedSeq <= stream.headSeq) {
      const page = (await store.readStream(stream.id, expectedSeq - 1, PAGE)).filter((e) => e.seq <= stream.headSeq)
      for (const e of page) {
        const bad = (problem: string): VerifyResult => ({ ok: false, checked, streams: streams.length, first_bad: e.id, problem })
        if (e.seq !== expectedSeq) return { ok: false, checked, streams: streams.length, first_bad: `${stream.id}:${expectedSeq}`, problem: `event ${expectedSeq} of stream ${stream.id} is missing` }
        if (e.prevHash !== prevHash) return bad('prev_hash does not match the event before it')
        if (e.ts < prevTs) return bad(e.seq === 1 ? 'event is older than its stream' : 'event is older than the event before it')
        const { hash, ...rest } = e
        if (hashEvent(rest) !== hash) return bad('event content does not match its hash')
        checked++
        expectedSeq++
        prevHash = hash
        prevTs = e.ts
      }
      if (page.length === 0) break
    }
    if (expectedSeq - 1 !== stream.headSeq || prevHash !== stream.headHash) {
      return { ok: false, checked, streams: streams.length, first_bad: `${stream.id}:${expectedSeq}`, problem: `stream ${stream.id} ends at ${expectedSeq - 1} but its head says ${stream.headSeq}` }
    }
  }
  return { ok: true, checked, streams: streams.length }
}
