import type { RevocationEntry, RevocationFeed } from '../../ports/revocation-feed.js'

export type RevocationListener = (entries: readonly RevocationEntry[]) => void

const PAGE = 500

/** Cursors are decimal sequence numbers; compared as numbers. */
export const cursorValue = (cursor: string): number => (/^\d{1,15}$/.test(cursor) ? Number(cursor) : 0)

/**
 * Fans the revocation feed out to this node's stream subscribers. While anyone listens, one
 * poller reads what was committed since the last read (by any node) every `pollMs`, so N
 * streams cost one query per interval, not N.
 */
export class RevocationBroadcaster {
  private readonly listeners = new Set<RevocationListener>()
  /** Listeners that are revocation streams (the rest are this node's own, such as the revoked-token set). */
  private streams = 0
  private head: string | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private polling: Promise<void> | undefined
  private closed = false

  constructor(
    private readonly feed: RevocationFeed,
    private readonly pollMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /**
   * Starts delivering entries committed from now on; returns the unsubscribe function. `stream`:
   * an open revocation stream (counted in `subscribers`), rather than this node's own use.
   */
  async subscribe(listener: RevocationListener, kind: 'stream' | 'node' = 'stream'): Promise<() => void> {
    if (this.closed) throw new Error('revocation broadcaster is closed')
    if (this.listeners.has(listener)) throw new Error('already subscribed')
    this.listeners.add(listener)
    if (kind === 'stream') this.streams++
    // The first subscriber fixes where delivery starts; later ones start wherever it is now.
    if (this.head === undefined) this.head = await this.feed.head()
    this.schedule()
    return () => {
      if (!this.listeners.delete(listener)) return
      if (kind === 'stream') this.streams--
      if (this.listeners.size === 0) this.stop()
    }
  }

  /** How many revocation streams listen now. */
  get subscribers(): number {
    return this.streams
  }

  /** Stops polling; subscribers are told nothing more. */
  async close(): Promise<void> {
    this.closed = true
    this.stop()
    this.listeners.clear()
    this.streams = 0
    await this.polling
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    // Without listeners nobody needs the position; the next subscriber reads the head afresh.
    if (this.listeners.size === 0) this.head = undefined
  }

  private schedule(): void {
    if (this.timer || this.closed || this.listeners.size === 0) return
    const timer = setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.polling = undefined
        // stop() may have run, and a new subscriber scheduled its own timer, meanwhile.
        if (this.timer === timer) this.timer = undefined
        this.schedule()
      })
    }, this.pollMs)
    timer.unref?.()
    this.timer = timer
  }

  private async poll(): Promise<void> {
    try {
      for (;;) {
        if (this.head === undefined) return
        const entries = await this.feed.since(this.head, PAGE)
        if (entries.length === 0 || this.head === undefined) return
        this.head = entries[entries.length - 1]!.cursor
        for (const listener of this.listeners) listener(entries)
        if (entries.length < PAGE) return
      }
    } catch (err) {
      this.onError(err)
    }
  }
}
