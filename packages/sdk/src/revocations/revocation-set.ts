/** One entry of the revocation feed (docs/sessions.md); times are Unix seconds. */
export interface Revocation {
  cursor: string
  type: 'token' | 'session' | 'agent'
  /** A jti, a session id (sid) or an agent id (sub). */
  value: string
  revokedAt: number
  /** After this no token the entry applies to is still valid, so it may be forgotten. */
  until: number
}

export type RevokedBy = 'token' | 'session' | 'agent'

/** Parses one `data:` payload of a revocation event; undefined when it is not one. */
export function parseRevocation(data: string): Revocation | undefined {
  let v: unknown
  try {
    v = JSON.parse(data)
  } catch {
    return undefined
  }
  if (typeof v !== 'object' || v === null) return undefined
  const r = v as Record<string, unknown>
  if (r.type !== 'token' && r.type !== 'session' && r.type !== 'agent') return undefined
  if (typeof r.value !== 'string' || typeof r.revoked_at !== 'number' || typeof r.until !== 'number') return undefined
  return { cursor: typeof r.cursor === 'string' ? r.cursor : String(r.cursor ?? ''), type: r.type, value: r.value, revokedAt: r.revoked_at, until: r.until }
}

const SWEEP_EVERY_SECONDS = 60

/** What a verifier must refuse: revoked tokens (jti), ended sessions (sid), revoked agents (sub). */
export class RevocationSet {
  private readonly tokens = new Map<string, number>()
  private readonly sessions = new Map<string, number>()
  private readonly agents = new Map<string, { revokedAt: number; until: number }>()
  private lastSweep = 0

  /**
   * @param graceSeconds how long past `until` an entry is kept: the verifier's clock tolerance,
   *   during which it still accepts a token whose `exp` has just passed.
   */
  constructor(private readonly graceSeconds: number) {}

  add(r: Revocation): void {
    if (r.type === 'token') this.tokens.set(r.value, Math.max(r.until, this.tokens.get(r.value) ?? 0))
    else if (r.type === 'session') this.sessions.set(r.value, Math.max(r.until, this.sessions.get(r.value) ?? 0))
    else {
      // Suspended, resumed, suspended again: the latest revocation covers the earlier ones.
      const prev = this.agents.get(r.value)
      this.agents.set(r.value, { revokedAt: Math.max(r.revokedAt, prev?.revokedAt ?? 0), until: Math.max(r.until, prev?.until ?? 0) })
    }
  }

  /** Why a token is revoked, or undefined. `iat` in whole seconds. */
  check(claims: { jti: string; sid?: string | undefined; sub: string; iat: number }, nowSeconds: number): RevokedBy | undefined {
    this.maybeSweep(nowSeconds)
    if (this.tokens.has(claims.jti)) return 'token'
    if (claims.sid !== undefined && this.sessions.has(claims.sid)) return 'session'
    const agent = this.agents.get(claims.sub)
    // A resumed agent's new tokens are fine: only those issued at or before the revocation.
    if (agent && claims.iat <= agent.revokedAt) return 'agent'
    return undefined
  }

  get size(): number {
    return this.tokens.size + this.sessions.size + this.agents.size
  }

  /** Forgets entries whose `until` has passed (plus the grace). */
  sweep(nowSeconds: number): void {
    const horizon = nowSeconds - this.graceSeconds
    for (const [k, until] of this.tokens) if (until < horizon) this.tokens.delete(k)
    for (const [k, until] of this.sessions) if (until < horizon) this.sessions.delete(k)
    for (const [k, a] of this.agents) if (a.until < horizon) this.agents.delete(k)
    this.lastSweep = nowSeconds
  }

  private maybeSweep(nowSeconds: number): void {
    if (nowSeconds - this.lastSweep >= SWEEP_EVERY_SECONDS) this.sweep(nowSeconds)
  }
}
