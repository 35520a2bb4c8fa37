import type { Change, ChangeNotifier } from '../../ports/change-notifier.js'
import type { Clock } from '../../ports/clock.js'
import type { RevocationRepo, RevokedToken } from '../../ports/revocation-repo.js'
import type { RevocationBroadcaster } from './revocation-broadcaster.js'

const SWEEP_MS = 60_000

/**
 * The access tokens revoked before their expiry, held in memory so that introspection answers
 * without a query. Its own revocations count at once; other nodes hear of them over the change
 * notifier (milliseconds), and, should a notification be lost, from the revocation feed, which
 * the broadcaster polls every 250 ms: within a second whatever happens. Entries leave when the
 * token would have expired anyway.
 */
export class RevokedTokens implements Pick<RevocationRepo, 'revoke' | 'isRevoked'> {
  /** jti → ms epoch at which the token expires (and its revocation stops mattering). */
  private readonly until = new Map<string, number>()
  private unsubscribe: (() => void) | undefined
  private sweeper: ReturnType<typeof setInterval> | undefined

  constructor(
    private readonly repo: Pick<RevocationRepo, 'revoke' | 'listLive'>,
    private readonly feed: Pick<RevocationBroadcaster, 'subscribe'>,
    private readonly clock: Clock,
    private readonly changes: Pick<ChangeNotifier, 'publish'>,
  ) {}

  /** Listens to the feed first, then loads what is in force: nothing committed in between is missed. */
  async start(): Promise<void> {
    this.unsubscribe = await this.feed.subscribe((entries) => {
      for (const e of entries) if (e.type === 'token') this.remember(e.value, e.until)
    }, 'node')
    for (const r of await this.repo.listLive(this.clock.now())) this.remember(r.jti, r.expiresAt)
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS)
    this.sweeper.unref()
  }

  stop(): void {
    this.unsubscribe?.()
    if (this.sweeper) clearInterval(this.sweeper)
  }

  async revoke(token: RevokedToken): Promise<void> {
    await this.repo.revoke(token)
    this.remember(token.jti, token.expiresAt)
    this.changes.publish({ kind: 'revoked-token', id: token.jti, until: token.expiresAt })
  }

  /** A change heard from another node. */
  heard(change: Change): void {
    if (change.kind === 'revoked-token') this.remember(change.id, change.until)
  }

  async isRevoked(jti: string): Promise<boolean> {
    return this.until.has(jti)
  }

  /** How many revocations are held (for tests and metrics). */
  get size(): number {
    return this.until.size
  }

  private remember(jti: string, expiresAt: number): void {
    if (expiresAt > this.clock.now()) this.until.set(jti, Math.max(expiresAt, this.until.get(jti) ?? 0))
  }

  private sweep(): void {
    const now = this.clock.now()
    for (const [jti, expiresAt] of this.until) if (expiresAt <= now) this.until.delete(jti)
  }
}
