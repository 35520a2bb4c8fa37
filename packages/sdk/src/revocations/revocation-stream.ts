import { basicAuthorization } from '../http/client-auth.js'
import { backoffDelay, sleep, unrefTimer, type RetryPolicy } from '../http/retry.js'
import type { FetchLike } from '../http/transport.js'
import type { Logger } from '../logger.js'
import { parseRevocation, type RevocationSet } from './revocation-set.js'
import { SseParser, type SseItem } from './sse-parser.js'

export interface RevocationStreamOptions {
  /** The mandate_revocations_stream_endpoint, or a promise of it (discovery may still be running). */
  url: () => Promise<string>
  clientId: string
  clientSecret: string
  set: RevocationSet
  fetch: FetchLike
  logger: Logger
  now: () => number
  /** docs/sessions.md: the server pings every 15 s; hearing nothing for 45 s means the stream is dead. */
  idleTimeoutMs?: number
  /** docs/sessions.md: how often the server sends something (a ping) on a quiet stream. Default 15 s. */
  keepaliveMs?: number
  /** While the stream stays down, how often to say so again (one warning when it goes down). Default 60 s. */
  downReminderMs?: number
  /** Reconnection backoff. */
  backoff?: { baseMs: number; maxMs: number }
}

/**
 * Follows GET /revocations/stream (Server-Sent Events) into a RevocationSet, reconnecting with
 * backoff and resuming from the last cursor so nothing committed meanwhile is missed.
 */
export class RevocationStream {
  /** The last cursor applied; resuming sends it as `since`. */
  cursor: string | undefined
  /** Has any connection delivered its backlog (a `synced`)? */
  private hasSynced = false
  /** Has the current connection delivered its backlog? While it has, entries arrive as they are committed. */
  private synced = false
  /** ms epoch of the last traffic (pings included) on the current connection since its `synced`. */
  private heardAt = 0
  /** ms epoch up to which the set was known to be current when the last synced connection ended. */
  private currentUntil = 0
  private closed = false
  private readonly abort = new AbortController()
  private connection: AbortController | undefined
  private readonly waiters = new Set<() => void>()
  private readonly policy: RetryPolicy
  private retryHintMs: number | undefined
  /** While the stream is down (not synced since a failure): since when, and the last warning about it. */
  private down: { since: number; remindedAt: number; attempts: number } | undefined
  /** The cursor the current connection was opened with (`since`), if any. */
  private sentCursor: string | undefined
  /** Entry types of a newer server that were ignored, each noted once. */
  private readonly unknownTypes = new Set<string>()

  constructor(private readonly o: RevocationStreamOptions) {
    const b = o.backoff ?? { baseMs: 250, maxMs: 15_000 }
    this.policy = { maxAttempts: Infinity, baseDelayMs: b.baseMs, maxDelayMs: b.maxMs, maxRetryAfterMs: b.maxMs }
  }

  private get keepaliveMs(): number {
    return this.o.keepaliveMs ?? 15_000
  }

  start(): void {
    void this.run()
  }

  close(): void {
    this.closed = true
    this.abort.abort()
    this.connection?.abort()
    for (const w of this.waiters) w()
  }

  /** Has the stream ever delivered its backlog (a first `synced`)? */
  get everSynced(): boolean {
    return this.hasSynced
  }

  /**
   * How long the set may have been missing entries, in ms; Infinity before the first sync.
   * A synced connection delivers entries as they are committed, so it is current for as long as
   * it is heard from at the server's keepalive pace; silence beyond that (a connection that died
   * without closing) counts. A connection that ended counts from when it ended, until the next
   * one has caught up.
   */
  staleness(): number {
    if (!this.hasSynced) return Number.POSITIVE_INFINITY
    const currentUntil = this.synced ? this.heardAt + this.keepaliveMs : this.currentUntil
    return Math.max(0, this.o.now() - currentUntil)
  }

  /** Resolves true once synced, false after `timeoutMs` or on close. */
  whenSynced(timeoutMs: number): Promise<boolean> {
    if (this.everSynced) return Promise.resolve(true)
    if (this.closed) return Promise.resolve(false)
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.waiters.delete(done)
        resolve(this.everSynced)
      }
      const timer = setTimeout(done, timeoutMs)
      unrefTimer(timer)
      this.waiters.add(done)
    })
  }

  private async run(): Promise<void> {
    let attempt = 0
    while (!this.closed) {
      let reason: string
      try {
        await this.connectOnce()
        reason = 'closed by the server'
      } catch (err) {
        if (err instanceof CursorNotOnFeed && !this.closed) {
          this.startOver(err)
          continue
        }
        reason = describe(err)
      }
      if (this.closed) break
      // A connection that got as far as `synced` worked: the backoff starts over, however it ended.
      const reachedSync = this.synced
      if (this.synced) {
        // Current until it ended, or until it went silent for longer than a keepalive.
        this.currentUntil = Math.min(this.o.now(), this.heardAt + this.keepaliveMs)
        this.synced = false
      }
      this.noteFailure(reason, reachedSync)
      attempt = reachedSync ? 1 : attempt + 1
      const delay = Math.max(this.retryHintMs ?? 0, backoffDelay(this.policy, attempt))
      await sleep(delay, this.abort.signal).catch(() => undefined)
    }
  }

  /**
   * The server does not know our cursor: its feed was restored from a backup, or it is another
   * server. Resuming from that cursor would skip every entry it numbers up to it, so drop it and
   * reconnect at once without one: the server then sends every revocation still in force. What
   * the set already holds stays (an entry only ever makes the verifier stricter).
   */
  private startOver(err: CursorNotOnFeed): void {
    this.o.logger.warn("revocation stream cursor is ahead of the server's feed (restored from a backup, or another server?); starting over from every revocation still in force", {
      cursor: err.sent,
      reason: err.reason,
    })
    this.cursor = undefined
  }

  /**
   * Logs a connection that ended or could not be made: one warning when the stream goes down
   * (a synced connection ended, or the very first one failed), then only a reminder every
   * `downReminderMs` while it stays down; each failed reconnection is a debug line.
   */
  private noteFailure(reason: string, wasSynced: boolean): void {
    const now = this.o.now()
    const down = this.down
    if (wasSynced || !down) {
      this.down = { since: now, remindedAt: now, attempts: 1 }
      this.o.logger.warn(this.hasSynced ? 'revocation stream down; reconnecting' : 'revocation stream cannot connect; retrying', { reason, cursor: this.cursor })
      return
    }
    down.attempts++
    this.o.logger.debug?.('revocation stream reconnection failed', { reason, attempts: down.attempts })
    if (now - down.remindedAt >= (this.o.downReminderMs ?? 60_000)) {
      down.remindedAt = now
      this.o.logger.warn(`revocation stream still down after ${Math.round((now - down.since) / 1000)} s; reconnecting`, { reason, attempts: down.attempts, cursor: this.cursor })
    }
  }

  /** One connection, until it ends. */
  private async connectOnce(): Promise<void> {
    const base = await this.o.url()
    const url = new URL(base)
    const sent = (this.sentCursor = this.cursor)
    if (sent !== undefined) url.searchParams.set('since', sent)
    const connection = (this.connection = new AbortController())
    const headers = { accept: 'text/event-stream', 'cache-control': 'no-cache', authorization: basicAuthorization(this.o.clientId, this.o.clientSecret) }
    let idle: ReturnType<typeof setTimeout> | undefined
    const touch = () => {
      clearTimeout(idle)
      idle = setTimeout(() => connection.abort(new Error('revocation stream silent for too long')), this.o.idleTimeoutMs ?? 45_000)
      unrefTimer(idle)
    }
    try {
      touch()
      const res = await this.o.fetch(url.toString(), { method: 'GET', headers, signal: connection.signal })
      if (!res.ok || !res.body) {
        const code = errorCode(await res.text().catch(() => ''))
        // A 400 invalid_request to a request whose one parameter is the cursor: the server refuses
        // the cursor (docs/sessions.md: one ahead of its feed).
        if (res.status === 400 && code === 'invalid_request' && sent !== undefined) throw new CursorNotOnFeed(sent, 'HTTP 400 invalid_request')
        // Status and the RFC 6749 §5.2 code only: bodies and URLs are not for logs.
        throw new Error(`HTTP ${res.status}${code ? ` ${code}` : ''}${res.status === 401 || res.status === 403 ? ' (are the credentials right, and does the role have can_introspect?)' : ''}`)
      }
      const parser = new SseParser()
      const reader = res.body.getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        touch()
        for (const item of parser.push(value)) this.apply(item)
      }
      parser.end()
    } finally {
      clearTimeout(idle)
      connection.abort()
    }
  }

  private apply(item: SseItem): void {
    if (item.kind === 'retry') this.retryHintMs = item.ms
    else if (item.kind === 'event') {
      if (item.type === 'revocation') {
        const r = parseRevocation(item.data)
        if (r.kind === 'entry') this.o.set.add(r.entry)
        else if (r.kind === 'unknown_type') {
          // A newer server's kind of entry: ignored (docs/sessions.md), and said once per type.
          if (!this.unknownTypes.has(r.type)) {
            this.unknownTypes.add(r.type)
            this.o.logger.debug?.('revocation entries of an unknown type are ignored', { type: r.type })
          }
        } else this.o.logger.warn('revocation event not understood; ignored')
        const cursor = item.id || (r.kind === 'entry' ? r.entry.cursor : r.kind === 'unknown_type' ? r.cursor : undefined)
        if (cursor) this.cursor = cursor
      } else if (item.type === 'synced') {
        const cursor = syncedCursor(item.data) ?? item.id
        // Caught up at a point before the one we resumed from: this feed is not the one our cursor
        // came from, and what it numbers between the two would never reach us.
        if (cursor && this.sentCursor !== undefined && cursorBefore(cursor, this.sentCursor)) {
          throw new CursorNotOnFeed(this.sentCursor, `the server synced at cursor ${cursor.slice(0, 20)}, behind it`)
        }
        if (cursor) this.cursor = cursor
        if (!this.synced) this.noteSynced()
        this.synced = true
        this.hasSynced = true
      }
    }
    // Any traffic after `synced`, pings included, proves the connection still delivers.
    if (this.synced) this.heardAt = this.o.now()
    // Waiters are told once the state above is complete: they read everSynced.
    if (item.kind === 'event' && item.type === 'synced') for (const w of [...this.waiters]) w()
  }

  /** A connection has caught up: the first one, or one after the stream was down (one info line either way). */
  private noteSynced(): void {
    const fields = { cursor: this.cursor, entries: this.o.set.size }
    const down = this.down
    this.down = undefined
    if (!down) this.o.logger.info?.('revocation stream synced', fields)
    else if (!this.hasSynced) this.o.logger.info?.(`revocation stream synced after ${Math.round((this.o.now() - down.since) / 1000)} s of trying`, { ...fields, attempts: down.attempts })
    else this.o.logger.info?.(`revocation stream back and synced after ${Math.round((this.o.now() - down.since) / 1000)} s down`, { ...fields, attempts: down.attempts })
  }
}

/** The server does not know the cursor we resumed from. */
class CursorNotOnFeed extends Error {
  constructor(
    readonly sent: string,
    readonly reason: string,
  ) {
    super(`cursor ${sent} is not on the server's feed: ${reason}`)
  }
}

/** Is cursor `a` before `b`? Cursors are opaque, but Mandate's are decimal: only those are compared. */
function cursorBefore(a: string, b: string): boolean {
  if (!/^\d{1,30}$/.test(a) || !/^\d{1,30}$/.test(b)) return false
  return BigInt(a) < BigInt(b)
}

function syncedCursor(data: string): string | undefined {
  try {
    const v = JSON.parse(data) as { cursor?: unknown }
    return typeof v.cursor === 'string' ? v.cursor : typeof v.cursor === 'number' ? String(v.cursor) : undefined
  } catch {
    return undefined
  }
}

/** The RFC 6749 §5.2 `error` of a refusal, or '' when it has none. */
function errorCode(body: string): string {
  try {
    const v = JSON.parse(body) as { error?: unknown }
    return typeof v.error === 'string' ? v.error.slice(0, 60) : ''
  } catch {
    return ''
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : ''
  return `${err.message}${cause}`
}
