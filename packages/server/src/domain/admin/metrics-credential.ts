import { digestsEqual } from '../secret-compare.js'

/**
 * The scraper's credential (MANDATE_METRICS_TOKEN): it reads /metrics and nothing else, and
 * nothing else reads /metrics (least privilege: a scraper must not hold admin power). Kept as a
 * digest and compared in constant time, like the admin token.
 */
export class MetricsCredential {
  private readonly digest: string | null

  constructor(
    token: string | null,
    private readonly digestOf: (secret: string) => string,
  ) {
    this.digest = token === null ? null : digestOf(token)
  }

  /** False without MANDATE_METRICS_TOKEN: /metrics is then not served. */
  get enabled(): boolean {
    return this.digest !== null
  }

  matches(token: string): boolean {
    return this.digest !== null && digestsEqual(this.digestOf(token), this.digest)
  }
}
