import type { Logger } from '../logger.js'
import { VerifierUnavailableError } from './errors.js'

/** What a verifier does with tokens while its revocation stream has been down too long. */
export type WhenStale = 'refuse' | 'accept'

/**
 * Applies the configured choice once the revocation feed may be missing entries for longer than
 * the bound, and logs each change between fresh and stale once (not once per request).
 */
export class StalenessPolicy {
  private stale = false

  constructor(
    private readonly maxStalenessSeconds: number,
    private readonly whenStale: WhenStale,
    private readonly logger: Logger,
  ) {}

  apply(stalenessMs: number): void {
    const stale = stalenessMs > this.maxStalenessSeconds * 1000
    if (stale !== this.stale) {
      this.stale = stale
      if (stale) this.logger.warn(`revocation feed stale for over ${this.maxStalenessSeconds} s; ${this.whenStale === 'refuse' ? 'refusing' : 'accepting'} tokens until it catches up`)
      else this.logger.warn('revocation feed caught up; revocation checks are current again')
    }
    if (stale && this.whenStale === 'refuse') throw new VerifierUnavailableError('revocations cannot be checked just now', 5)
  }
}
