/** One entry of the revocation feed (docs/sessions.md); times are Unix seconds. */
export interface Revocation {
  cursor: string
  type: 'token' | 'session' | 'agent' | 'key'
  /** A jti, a session id (sid), an agent id (sub) or a withdrawn signing key's kid. */
  value: string
  revokedAt: number
  /** After this no token the entry applies to is still valid, so it may be forgotten. */
  until: number
}

export type RevokedBy = Revocation['type']

const TYPES: readonly string[] = ['token', 'session', 'agent', 'key'] satisfies readonly RevokedBy[]

/**
 * What one `data:` payload of a revocation event holds: an entry, an entry of a type this SDK
 * does not know (a newer server's; ignored, docs/sessions.md), or nothing usable.
 */
export type ParsedRevocation = { kind: 'entry'; entry: Revocation } | { kind: 'unknown_type'; type: string; cursor: string | undefined } | { kind: 'malformed' }

export function parseRevocation(data: string): ParsedRevocation {
  let v: unknown
  try {
    v = JSON.parse(data)
  } catch {
    return { kind: 'malformed' }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { kind: 'malformed' }
  const r = v as Record<string, unknown>
  const cursor = typeof r.cursor === 'string' ? r.cursor : typeof r.cursor === 'number' ? String(r.cursor) : undefined
  if (typeof r.type !== 'string') return { kind: 'malformed' }
  if (!TYPES.includes(r.type)) return { kind: 'unknown_type', type: r.type.slice(0, 40), cursor }
  if (typeof r.value !== 'string' || typeof r.revoked_at !== 'number' || typeof r.until !== 'number') return { kind: 'malformed' }
  return { kind: 'entry', entry: { cursor: cursor ?? '', type: r.type as RevokedBy, value: r.value, revokedAt: r.revoked_at, until: r.until } }
}

const SWEEP_EVERY_SECONDS = 60

/**
 * What a verifier must refuse: revoked tokens (jti), ended sessions (sid), revoked agents (sub)
 * and tokens signed with a withdrawn key (the JWS header's kid).
 */
export class RevocationSet {
  private readonly tokens = new Map<string, number>()
  private readonly sessions = new Map<string, number>()
  private readonly agents = new Map<string, { revokedAt: number; until: number }>()
  /**
   * Withdrawn signing keys, kept for as long as the verifier runs: an entry's `until` says when
   * the tokens signed before the withdrawal have expired, but whoever holds the compromised key
   * can sign new ones, and a JWKS cached before the withdrawal still lists it. Withdrawals are
   * rare (an operator's emergency), so this stays tiny.
   */
  private readonly keys = new Set<string>()
  private lastSweep = 0

  /**
   * @param graceSeconds how long past `until` an entry is kept: the verifier's clock tolerance,
   *   during which it still accepts a token whose `exp` has just passed.
   */
  constructor(private readonly graceSeconds: number) {}

  add(r: Revocation): void {
    if (r.type === 'token') this.tokens.set(r.value, Math.max(r.until, this.tokens.get(r.value) ?? 0))
    else if (r.type === 'session') this.sessions.set(r.value, Math.max(r.until, this.sessions.get(r.value) ?? 0))
    else if (r.type === 'key') this.keys.add(r.value)
    else {
      // Suspended, resumed, suspended again: the latest revocation covers the earlier ones.
      const prev = this.agents.get(r.value)
      this.agents.set(r.value, { revokedAt: Math.max(r.revokedAt, prev?.revokedAt ?? 0), until: Math.max(r.until, prev?.until ?? 0) })
    }
  }

  /** Has the signing key with this kid been withdrawn? */
  isWithdrawnKey(kid: string): boolean {
    return this.keys.has(kid)
  }

  /** Why a token is revoked, or undefined. `iat` in whole seconds; `kid` from the JWS protected header. */
  check(claims: { jti: string; sid?: string | undefined; sub: string; iat: number; kid?: string | undefined }, nowSeconds: number): RevokedBy | undefined {
    this.maybeSweep(nowSeconds)
    // Whatever its iat: a withdrawn key's signature proves nothing.
    if (claims.kid !== undefined && this.keys.has(claims.kid)) return 'key'
    if (this.tokens.has(claims.jti)) return 'token'
    if (claims.sid !== undefined && this.sessions.has(claims.sid)) return 'session'
    const agent = this.agents.get(claims.sub)
    // A resumed agent's new tokens are fine: only those issued at or before the revocation.
    if (agent && claims.iat <= agent.revokedAt) return 'agent'
    return undefined
  }

  get size(): number {
    return this.tokens.size + this.sessions.size + this.agents.size + this.keys.size
  }

  /** Forgets entries whose `until` has passed (plus the grace); withdrawn keys are kept. */
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
