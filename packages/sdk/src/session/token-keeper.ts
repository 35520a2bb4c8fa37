import type { TokenResponse } from '../agent/token-response.js'
import { MandateError } from '../errors.js'

/** Renew when a quarter of the token's life is left, and at the latest a minute before it expires. */
const RENEW_FRACTION = 0.25
const MAX_RENEW_MARGIN_MS = 60_000

/**
 * After a failed renewal the next one waits at least this long, doubling with each failure in a
 * row up to RETRY_MAX_GAP_MS, so callers in a loop do not hammer a server that is down. The cap
 * stays well inside the server's 30 s window for presenting a just-rotated refresh token again
 * (a renewal whose answer was lost may have rotated it).
 */
const RETRY_MIN_GAP_MS = 1_000
const RETRY_MAX_GAP_MS = 10_000

export interface TokenKeeperOptions {
  renew(refreshToken: string): Promise<TokenResponse>
  now(): number
  /**
   * A renewal failed transiently while the current token still had life left, and callers were
   * given that token instead: nobody saw the error, so it is reported here, once per failure.
   */
  onHiddenFailure(error: MandateError, current: TokenResponse): void
}

/** How a renewal went; shared by everyone who waited for it. */
type Outcome = { ok: true; token: TokenResponse } | { ok: false; error: unknown; transient: boolean; reported: boolean }

/**
 * Holds a session's access token and its refresh token, and renews them one renewal at a time:
 * callers that ask while a renewal is running share it (each renewal rotates the refresh token,
 * so two at once would look like reuse, RFC 6749 §10.4, and end the session).
 *
 * A renewal that fails for a reason that may pass (network, 5xx, 429) does not hide a token
 * that is still valid: callers get the current token and the next renewal is tried after a gap.
 * Only once the token has expired do callers get the error.
 */
export class TokenKeeper {
  private current: TokenResponse
  private refreshToken: string
  private renewing: Promise<Outcome> | undefined
  /** The last renewal's failure, handed out again instead of a new request until `retryAt`. */
  private lastFailure: (Outcome & { ok: false }) | undefined
  private retryAt = 0
  private failuresInARow = 0

  constructor(
    initial: TokenResponse & { refreshToken: string },
    private readonly o: TokenKeeperOptions,
  ) {
    this.current = initial
    this.refreshToken = initial.refreshToken
  }

  /** A token with a comfortable part of its life left, renewing first when needed. */
  async get(): Promise<string> {
    const renewal = this.renewing ?? (this.dueForRenewal() ? this.renewUnlessTooSoon() : undefined)
    if (!renewal) return this.current.accessToken
    const outcome = await renewal
    if (outcome.ok) return outcome.token.accessToken
    if (outcome.transient && this.o.now() < this.current.expiresAt) {
      if (!outcome.reported && outcome.error instanceof MandateError) {
        outcome.reported = true
        this.o.onHiddenFailure(outcome.error, this.current)
      }
      return this.current.accessToken
    }
    throw outcome.error
  }

  /**
   * A token other than `rejected` (which a resource server refused): the current one if a
   * renewal already replaced it, else a fresh one. There is nothing to fall back on here, so a
   * failed renewal is thrown.
   */
  async replace(rejected: string): Promise<string> {
    if (!this.renewing && this.current.accessToken !== rejected) return this.current.accessToken
    const outcome = await (this.renewing ?? this.renewUnlessTooSoon())
    if (outcome.ok) return outcome.token.accessToken
    throw outcome.error
  }

  private renewUnlessTooSoon(): Promise<Outcome> {
    if (this.lastFailure && this.o.now() < this.retryAt) return Promise.resolve(this.lastFailure)
    const running = this.o.renew(this.refreshToken).then(
      (next): Outcome => {
        this.current = next
        // RFC 6749 §6: the server may issue a new refresh token; when it does the old one is dead.
        if (next.refreshToken !== undefined) this.refreshToken = next.refreshToken
        this.lastFailure = undefined
        this.failuresInARow = 0
        return { ok: true, token: next }
      },
      (error: unknown): Outcome => {
        const failure = { ok: false as const, error, transient: isTransient(error), reported: false }
        this.failuresInARow++
        this.lastFailure = failure
        this.retryAt = this.o.now() + this.retryGap(error)
        return failure
      },
    )
    this.renewing = running
    void running.then(() => {
      if (this.renewing === running) this.renewing = undefined
    })
    return running
  }

  /** How long to wait before the next renewal after a failure. */
  private retryGap(error: unknown): number {
    const backoff = Math.min(RETRY_MAX_GAP_MS, RETRY_MIN_GAP_MS * 2 ** (this.failuresInARow - 1))
    const left = this.current.expiresAt - this.o.now()
    // While the token lasts, try again before it runs out (but never more than once a second).
    const gap = left > 0 ? Math.min(backoff, Math.max(RETRY_MIN_GAP_MS, left / 2)) : backoff
    // A 429 or 503 whose Retry-After was too long for the transport to wait: the server's word goes.
    const retryAfterMs = error instanceof MandateError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : 0
    return Math.max(gap, retryAfterMs)
  }

  private dueForRenewal(): boolean {
    const t = this.current
    const lifetime = t.expiresIn * 1000
    const margin = Math.min(MAX_RENEW_MARGIN_MS, lifetime * RENEW_FRACTION)
    return this.o.now() >= t.expiresAt - margin
  }
}

/** A failure that may pass: the server was unreachable, failed (5xx) or asked us to slow down (429). */
export function isTransient(error: unknown): boolean {
  return error instanceof MandateError && (error.status === 0 || error.status === 429 || error.status >= 500)
}
