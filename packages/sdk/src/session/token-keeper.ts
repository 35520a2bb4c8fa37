import type { TokenResponse } from '../agent/token-response.js'

/** Renew when a quarter of the token's life is left, and at the latest a minute before it expires. */
const RENEW_FRACTION = 0.25
const MAX_RENEW_MARGIN_MS = 60_000

/**
 * Holds a session's access token and its refresh token, and renews them one renewal at a time:
 * callers that ask while a renewal is running share it (each renewal rotates the refresh token,
 * so two at once would look like reuse, RFC 6749 §10.4, and end the session).
 */
export class TokenKeeper {
  private current: TokenResponse
  private refreshToken: string
  private renewing: Promise<TokenResponse> | undefined

  constructor(
    initial: TokenResponse & { refreshToken: string },
    private readonly renew: (refreshToken: string) => Promise<TokenResponse>,
    private readonly now: () => number,
  ) {
    this.current = initial
    this.refreshToken = initial.refreshToken
  }

  /** A token with a comfortable part of its life left, renewing first when needed. */
  async get(): Promise<string> {
    if (!this.renewing && !this.dueForRenewal(this.current)) return this.current.accessToken
    return (await this.renewOnce()).accessToken
  }

  /**
   * A token other than `rejected` (which a resource server refused): the current one if a
   * renewal already replaced it, else a fresh one.
   */
  async replace(rejected: string): Promise<string> {
    if (!this.renewing && this.current.accessToken !== rejected) return this.current.accessToken
    return (await this.renewOnce()).accessToken
  }

  private renewOnce(): Promise<TokenResponse> {
    if (!this.renewing) {
      const running = this.renew(this.refreshToken).then((next) => {
        this.current = next
        // RFC 6749 §6: the server may issue a new refresh token; when it does the old one is dead.
        if (next.refreshToken !== undefined) this.refreshToken = next.refreshToken
        return next
      })
      this.renewing = running
      const clear = () => {
        if (this.renewing === running) this.renewing = undefined
      }
      running.then(clear, clear)
    }
    return this.renewing
  }

  private dueForRenewal(t: TokenResponse): boolean {
    const lifetime = t.expiresIn * 1000
    const margin = Math.min(MAX_RENEW_MARGIN_MS, lifetime * RENEW_FRACTION)
    return this.now() >= t.expiresAt - margin
  }
}
