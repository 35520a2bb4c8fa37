import { noRateLimitEvents, type RateDecision, type RateLimitEvents, type RateLimiter, type RatePolicy } from '../../ports/rate-limiter.js'
import type { LimitName, Refusal } from '../rate-limits/refusal-tally.js'

export interface UserCodeThrottleDeps {
  limiter: RateLimiter
  refusals: { record(r: Refusal): void }
  events?: RateLimitEvents
  policies: { person: RatePolicy; address: RatePolicy }
  /** Wall-clock ms, for the refusal tally. */
  now(): number
}

/** Who is typing a user code, and from where (`addressKey`: IPv6 as its /64). */
export interface Typist {
  userId: string
  addressKey: string
  endpoint: string
}

/**
 * RFC 8628 §5.1: user codes are short enough to guess at scale, so every lookup spends a token
 * from the person's bucket and from the address's, before the database is asked; a code that
 * is found gives both back. Only misses count, so a person who types their code right is never
 * held up, whatever their colleagues behind the same address mistype.
 */
export class UserCodeThrottle {
  private readonly events: RateLimitEvents

  constructor(private readonly d: UserCodeThrottleDeps) {
    this.events = d.events ?? noRateLimitEvents
  }

  /** Reserves one attempt; the seconds to wait when either bucket is empty (nothing is then spent). */
  async reserve(t: Typist): Promise<number | undefined> {
    const [person, address] = await Promise.all([this.d.limiter.take(personKey(t), this.d.policies.person), this.d.limiter.take(addressKey(t), this.d.policies.address)])
    if (person.allowed && address.allowed) return undefined
    // A refusal by one bucket gives the other's token back: only the empty one holds the person up.
    if (person.allowed) await this.d.limiter.giveBack(personKey(t), this.d.policies.person)
    if (address.allowed) await this.d.limiter.giveBack(addressKey(t), this.d.policies.address)
    const refused: Array<[LimitName, RatePolicy, RateDecision]> = [
      ['user_code_person', this.d.policies.person, person],
      ['user_code_address', this.d.policies.address, address],
    ]
    let wait = 1
    for (const [limit, policy, decision] of refused) {
      if (decision.allowed) continue
      this.events.limited(limit)
      this.d.refusals.record({
        limit, agentId: null, role: null, target: limit === 'user_code_person' ? t.userId : null,
        address: t.addressKey, endpoint: t.endpoint, policy, at: this.d.now(),
      })
      // RFC 9110 §10.2.3: whole seconds, at least one.
      wait = Math.max(wait, Math.ceil(decision.retryAfterMs / 1000))
    }
    return wait
  }

  /** The code was found: the attempt does not count. */
  async found(t: Typist): Promise<void> {
    await Promise.all([this.d.limiter.giveBack(personKey(t), this.d.policies.person), this.d.limiter.giveBack(addressKey(t), this.d.policies.address)])
  }
}

function personKey(t: Typist): string {
  return `ucp:${t.userId}`
}

function addressKey(t: Typist): string {
  return `uca:${t.addressKey}`
}
