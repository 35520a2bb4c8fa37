import { randomBytes } from 'node:crypto'
import type { AuditEntry, AuditEvent, AuditStore } from '../../ports/audit-store.js'
import type { Clock } from '../../ports/clock.js'
import { noMetrics, type AuditMetrics } from '../../ports/metrics.js'
import { storableText } from '../text.js'
import { GENESIS_HASH, hashEvent } from './hash-chain.js'

export class AuditLogClosed extends Error {}

interface Pending {
  entry: AuditEntry
  ts: number
  resolve: (e: AuditEvent) => void
  reject: (err: unknown) => void
}

/** What code that records events depends on. */
export interface AuditRecorder {
  /** Resolves once the event is durable; callers await it before answering. */
  record(entry: AuditEntry): Promise<AuditEvent>
}

/**
 * This node's hash-chained audit stream with group commit: every event recorded while a
 * write is in flight joins the next batch, so one transaction (and one fsync) serves many
 * requests. Sequence numbers and hashes are assigned at flush time, in order.
 */
export class AuditLog implements AuditRecorder {
  private pending: Pending[] = []
  private flushing: Promise<void> | null = null
  private headSeq = 0
  private headHash = GENESIS_HASH
  private headUncertain = false
  private closed = false
  /** The latest ts handed out: a stream's times never go backwards, even if the clock does. */
  private lastTs = 0
  /** Events in the batch being written. */
  private writing = 0
  /** Ends every event id of this stream: ids are unique across streams by it, and within one by seq. */
  private readonly idSuffix = randomBytes(12).toString('base64url')

  private constructor(
    private readonly store: AuditStore,
    private readonly clock: Clock,
    readonly streamId: string,
    private readonly metrics: AuditMetrics,
  ) {}

  /** Opens a new stream for this process; each node appends only to its own. */
  static async open(store: AuditStore, clock: Clock, metrics: AuditMetrics = noMetrics.audit): Promise<AuditLog> {
    const streamId = `str_${randomBytes(12).toString('base64url')}`
    const startedAt = clock.now()
    await store.openStream({ id: streamId, startedAt, headSeq: 0, headHash: GENESIS_HASH })
    const log = new AuditLog(store, clock, streamId, metrics)
    log.lastTs = startedAt
    return log
  }

  record(entry: AuditEntry): Promise<AuditEvent> {
    if (this.closed) return Promise.reject(new AuditLogClosed('audit log is closed'))
    return new Promise<AuditEvent>((resolve, reject) => {
      // Monotonic per stream, so every stream reads in time order and streams merge by time.
      this.lastTs = Math.max(this.lastTs, this.clock.now())
      this.pending.push({ entry, ts: this.lastTs, resolve, reject })
      this.flushing ??= this.flushLoop()
    })
  }

  /** Events recorded and not yet durable: waiting for the next batch or in the one being written. */
  get queued(): number {
    return this.pending.length + this.writing
  }

  /** Writes what is pending and refuses new events. */
  async close(): Promise<void> {
    this.closed = true
    while (this.flushing) await this.flushing
  }

  private async flushLoop(): Promise<void> {
    // Let the requests of this turn of the event loop join the first batch.
    await new Promise<void>((r) => setImmediate(r))
    try {
      while (this.pending.length > 0) {
        const batch = this.pending
        this.pending = []
        this.writing = batch.length
        await this.writeBatch(batch)
        this.writing = 0
      }
    } finally {
      this.writing = 0
      this.flushing = null
    }
  }

  private async writeBatch(batch: Pending[]): Promise<void> {
    if (this.headUncertain) {
      // The last append failed, possibly after its commit reached the database (a connection cut
      // mid-COMMIT). Continue from the head as stored, so no sequence number is used twice.
      try {
        const stored = await this.store.stream(this.streamId)
        if (!stored) throw new Error(`audit stream ${this.streamId} is missing`)
        this.headSeq = stored.headSeq
        this.headHash = stored.headHash
        this.headUncertain = false
      } catch (err) {
        for (const p of batch) p.reject(err)
        return
      }
    }
    let seq = this.headSeq
    let prev = this.headHash
    const events: AuditEvent[] = []
    for (const p of batch) {
      const e = p.entry
      // Hash exactly what the store will keep: text it cannot hold exactly is made storable first.
      const unhashed: Omit<AuditEvent, 'hash'> = {
        // The sequence number first, so events of one stream written in the same millisecond list
        // in the order they happened ("newest first" sorts by ts, then id); the stream's random
        // suffix keeps ids unique across streams without drawing randomness per event.
        id: `evt_${(seq + 1).toString(36).padStart(11, '0')}${this.idSuffix}`,
        streamId: this.streamId,
        seq: ++seq,
        ts: p.ts,
        actorType: e.actorType,
        actorId: text(e.actorId),
        action: storableText(e.action),
        outcome: e.outcome,
        reason: text(e.reason),
        target: text(e.target),
        role: text(e.role),
        ip: text(e.ip),
        requestId: text(e.requestId),
        details: JSON.parse(JSON.stringify(e.details ?? {}, (_k, v: unknown) => (typeof v === 'string' ? storableText(v) : v))) as Record<string, unknown>,
        prevHash: prev,
      }
      const event = { ...unhashed, hash: hashEvent(unhashed) }
      prev = event.hash
      events.push(event)
    }
    const started = performance.now()
    try {
      await this.store.append(this.streamId, events)
    } catch (err) {
      this.metrics.failed(events.length)
      // The batch may or may not have been written; the next batch re-reads the head first.
      this.headUncertain = true
      for (const p of batch) p.reject(err)
      return
    }
    this.metrics.committed(events.length, (performance.now() - started) / 1000)
    this.headSeq = seq
    this.headHash = prev
    events.forEach((event, i) => batch[i]!.resolve(event))
  }
}

function text(v: string | null | undefined): string | null {
  return v === undefined || v === null ? null : storableText(v)
}
