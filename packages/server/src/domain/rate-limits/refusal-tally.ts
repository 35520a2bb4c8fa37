import type { RatePolicy } from '../../ports/rate-limiter.js'
import type { AuditRecorder } from '../audit/audit-log.js'

/** The limits a request can be refused by. */
export type LimitName = 'agent' | 'register' | 'auth_failures' | 'signin_account' | 'signin_address'
  // RFC 8628: device authorization requests per address, user codes typed per person and per address.
  | 'device_address'
  | 'user_code_person'
  | 'user_code_address'
  // Authorization requests (/authorize) per address: nobody has authenticated there.
  | 'authorize'

/** One request refused by a rate limit. */
export interface Refusal {
  limit: LimitName
  /** The agent whose bucket was empty; null for the address limits. */
  agentId: string | null
  role: string | null
  /** What was limited when it is neither an agent nor an address: the person a sign-in named (their id). */
  target?: string | null
  /** For address limits, the bucket's address (an IPv6 address stands for its /64); else the caller's address. */
  address: string
  /** Method and route pattern, e.g. `POST /token` (never a raw URL). */
  endpoint: string
  policy: RatePolicy
  /** When it was refused (ms since the epoch). */
  at: number
}

interface Tally {
  limit: LimitName
  agentId: string | null
  role: string | null
  target: string | null
  address: string
  policy: RatePolicy
  count: number
  endpoints: Map<string, number>
  first: number
  last: number
}

/** Subjects tallied at most per window; past it, refusals are counted together under the address `*`. */
const MAX_SUBJECTS = 10_000

/**
 * Refused requests are counted here, not audited one by one: a flood must not become a flood of
 * audit rows. `flush()` (every window, and at shutdown) writes one `rate_limit.exceeded` event
 * per agent or address refused since the last flush, with the count and the endpoints.
 */
export class RefusalTally {
  private tallies = new Map<string, Tally>()
  private total = 0

  constructor(private readonly audit: AuditRecorder) {}

  record(r: Refusal): void {
    this.total++
    let key = `${r.limit} ${r.agentId ?? r.target ?? r.address}`
    let tally = this.tallies.get(key)
    if (tally === undefined && this.tallies.size >= MAX_SUBJECTS) {
      key = `${r.limit} *`
      tally = this.tallies.get(key)
      r = { ...r, agentId: null, role: null, target: null, address: '*' }
    }
    if (tally === undefined) {
      tally = { limit: r.limit, agentId: r.agentId, role: r.role, target: r.target ?? null, address: r.address, policy: r.policy, count: 0, endpoints: new Map(), first: r.at, last: r.at }
      this.tallies.set(key, tally)
    }
    tally.count++
    tally.last = r.at
    tally.policy = r.policy
    tally.endpoints.set(r.endpoint, (tally.endpoints.get(r.endpoint) ?? 0) + 1)
  }

  /** Requests refused since start. */
  get refused(): number {
    return this.total
  }

  /**
   * Writes one event per subject tallied since the last flush. Tallies whose event could not be
   * written (the database is down) are kept for the next flush, and the first error is thrown.
   */
  async flush(): Promise<void> {
    if (this.tallies.size === 0) return
    const batch = this.tallies
    this.tallies = new Map()
    const written = await Promise.allSettled([...batch].map(([, t]) => this.audit.record(eventFor(t))))
    let failure: unknown
    ;[...batch].forEach(([key, t], i) => {
      const result = written[i]!
      if (result.status === 'fulfilled') return
      failure ??= result.reason
      this.mergeBack(key, t)
    })
    if (failure !== undefined) throw failure
  }

  private mergeBack(key: string, t: Tally): void {
    const now = this.tallies.get(key)
    if (now === undefined) {
      this.tallies.set(key, t)
      return
    }
    now.count += t.count
    now.first = Math.min(now.first, t.first)
    for (const [endpoint, n] of t.endpoints) now.endpoints.set(endpoint, (now.endpoints.get(endpoint) ?? 0) + n)
  }
}

function eventFor(t: Tally) {
  const subject = t.agentId ?? t.target ?? t.address
  return {
    actorType: t.agentId === null ? ('anonymous' as const) : ('agent' as const),
    actorId: t.agentId,
    action: 'rate_limit.exceeded',
    outcome: 'failure' as const,
    reason: `${t.count} request${t.count === 1 ? '' : 's'} refused by the ${t.limit} limit (${t.policy.perSecond}/s, burst ${t.policy.burst})`,
    target: subject,
    role: t.role,
    ip: t.address === '*' ? null : t.address,
    details: {
      limit: t.limit,
      count: t.count,
      per_second: t.policy.perSecond,
      burst: t.policy.burst,
      endpoints: Object.fromEntries(t.endpoints),
      first_refused_at: t.first,
      last_refused_at: t.last,
    },
  }
}
