import { createHash } from 'node:crypto'
import type { Clock } from '../../ports/clock.js'
import type { PasswordHasher } from '../../ports/password-hasher.js'
import { noRateLimitEvents, type RateDecision, type RateLimitEvents, type RateLimiter, type RatePolicy } from '../../ports/rate-limiter.js'
import type { User, UserRepo } from '../../ports/user-repo.js'
import type { UserSession, UserSessionEndReason, UserSessionRepo } from '../../ports/user-session-repo.js'
import type { AuditRecorder } from '../audit/audit-log.js'
import type { LimitName, Refusal } from '../rate-limits/refusal-tally.js'
import { normalisePassword, plausiblePassword } from './password-rules.js'
import { usernameKey } from './username.js'

export interface SignInDeps {
  users: Pick<UserRepo, 'findByUsernameKey' | 'get'>
  sessions: UserSessionRepo
  hasher: PasswordHasher
  limiter: RateLimiter
  refusals: { record(r: Refusal): void }
  events?: RateLimitEvents
  policies: { account: RatePolicy; address: RatePolicy }
  audit: AuditRecorder
  clock: Clock
  idleSeconds: number
  maxSeconds: number
  newSessionId(now: number): string
  /** A new 256-bit cookie secret, and how it is stored (a digest). */
  newSecret(): string
  digest(secret: string): string
}

/** Where a sign-in attempt came from. `addressKey` is the address its bucket is keyed by (IPv6 as its /64). */
export interface Attempt {
  username: string
  password: string
  ip: string
  addressKey: string
  requestId: string
  /** The cookie secret of a session this browser already has: it is replaced. */
  previousSecret?: string
}

export type SignInResult =
  | { outcome: 'signed_in'; user: User; session: UserSession; secret: string }
  /** Wrong password or no such person: the same answer, so nobody learns which usernames exist. */
  | { outcome: 'refused' }
  /** The right password for a suspended person. */
  | { outcome: 'suspended' }
  /** Too many attempts for this account or from this address; the password was not checked. */
  | { outcome: 'throttled'; retryAfterSeconds: number }

const ENDPOINT = 'POST /login'

/**
 * People sign in with a password and get a browser session with idle and absolute timeouts.
 * Attempts are throttled per account and per address before any password is checked; an
 * unknown username costs one argon2id verification, like a wrong password, so timing tells
 * nobody which usernames exist (OWASP Authentication Cheat Sheet).
 */
export class SignInService {
  private dummyHash: Promise<string> | undefined

  constructor(private readonly d: SignInDeps) {}

  async signIn(a: Attempt): Promise<SignInResult> {
    const key = usernameKey(a.username)
    const user = key === undefined ? undefined : await this.d.users.findByUsernameKey(key)
    const throttled = await this.reserve(a, key ?? a.username.normalize('NFKC').toLowerCase(), user)
    if (throttled !== undefined) return throttled
    const password = normalisePassword(a.password)
    // Always one verification: against the person's hash, or a dummy one when there is nobody.
    const matches = await this.d.hasher.verify(user?.passwordHash ?? (await this.dummy()), plausiblePassword(password) ? password : '')
    const ctx = { ip: a.ip, requestId: a.requestId }
    if (!user || !matches || !plausiblePassword(password)) {
      await this.d.audit.record({
        actorType: 'anonymous', actorId: null, action: 'user.signin', outcome: 'failure', target: user?.id ?? null, ...ctx,
        reason: user ? 'wrong password' : 'unknown username',
      })
      return { outcome: 'refused' }
    }
    if (user.status !== 'active') {
      await this.d.audit.record({ actorType: 'anonymous', actorId: null, action: 'user.signin', outcome: 'failure', target: user.id, ...ctx, reason: `user is ${user.status}` })
      return { outcome: 'suspended' }
    }
    // A success does not count against its address: colleagues behind one address never hold each other up.
    await this.d.limiter.giveBack(`sf:${a.addressKey}`, this.d.policies.address)
    if (a.previousSecret !== undefined) await this.end(a.previousSecret, 'replaced', ctx)
    return this.startSession(user, ctx)
  }

  /** The person signed in with this cookie secret, their session seen now; undefined when it is not live. */
  async current(secret: string, ctx: { ip: string | null; requestId: string | null }): Promise<{ user: User; session: UserSession } | undefined> {
    const digest = this.d.digest(secret)
    const session = await this.d.sessions.touch(digest, this.d.clock.now(), this.d.idleSeconds * 1000)
    if (!session) {
      // Not live. Past an expiry but not yet marked ended: the repo records it now, with the
      // expiry's reason and time (an ended or unknown session is left alone).
      await this.end(secret, 'signed_out', ctx)
      return undefined
    }
    const user = await this.d.users.get(session.userId)
    if (!user || user.status !== 'active') {
      await this.end(secret, 'user_suspended', ctx)
      return undefined
    }
    return { user, session }
  }

  /** Ends the session of this cookie secret, server-side. */
  async signOut(secret: string, ctx: { ip: string | null; requestId: string | null }): Promise<void> {
    await this.end(secret, 'signed_out', ctx)
  }

  private async startSession(user: User, ctx: { ip: string; requestId: string }): Promise<SignInResult> {
    const now = this.d.clock.now()
    const secret = this.d.newSecret()
    const session: UserSession = {
      id: this.d.newSessionId(now), userId: user.id, ip: ctx.ip, createdAt: now, lastSeenAt: now,
      idleExpiresAt: now + this.d.idleSeconds * 1000, absoluteExpiresAt: now + this.d.maxSeconds * 1000, endedAt: null, endReason: null,
    }
    await this.d.sessions.create(session, this.d.digest(secret))
    await this.d.audit.record({
      actorType: 'human', actorId: user.id, action: 'user.signin', outcome: 'success', target: session.id, ...ctx,
      details: { idle_timeout_seconds: this.d.idleSeconds, absolute_timeout_seconds: this.d.maxSeconds, absolute_expires_at: session.absoluteExpiresAt },
    })
    return { outcome: 'signed_in', user, session, secret }
  }

  /** Ends a session once, whoever asks, and audits how it ended (a timeout as the system, anything else as the person). */
  private async end(secret: string, reason: UserSessionEndReason, ctx: { ip: string | null; requestId: string | null }): Promise<void> {
    const ended = await this.d.sessions.end(this.d.digest(secret), this.d.clock.now(), reason)
    if (!ended) return
    const timedOut = ended.endReason === 'idle_timeout' || ended.endReason === 'absolute_timeout'
    await this.d.audit.record({
      actorType: timedOut ? 'system' : 'human', actorId: timedOut ? null : ended.userId,
      action: ended.endReason === 'signed_out' ? 'user.signout' : 'user.session_ended', outcome: 'success',
      reason: ended.endReason, target: ended.id, ...ctx, details: { user: ended.userId, ended_at: ended.endedAt },
    })
  }

  /**
   * Takes one token from the account's bucket and one from the address's before any password is
   * checked, atomically, so concurrent guesses cannot all slip past a check. A refusal gives the
   * other token back (no password was tried) and is tallied, not audited one by one.
   */
  private async reserve(a: Attempt, accountKey: string, user: User | undefined): Promise<SignInResult | undefined> {
    const account = `sa:${createHash('sha256').update(accountKey).digest('base64url')}`
    const address = `sf:${a.addressKey}`
    const [byAccount, byAddress] = await Promise.all([this.d.limiter.take(account, this.d.policies.account), this.d.limiter.take(address, this.d.policies.address)])
    if (byAccount.allowed && byAddress.allowed) return undefined
    if (byAccount.allowed) await this.d.limiter.giveBack(account, this.d.policies.account)
    if (byAddress.allowed) await this.d.limiter.giveBack(address, this.d.policies.address)
    const refused: Array<[LimitName, RatePolicy, RateDecision]> = [['signin_account', this.d.policies.account, byAccount], ['signin_address', this.d.policies.address, byAddress]]
    let retryMs = 0
    for (const [limit, policy, decision] of refused) {
      if (decision.allowed) continue
      retryMs = Math.max(retryMs, decision.retryAfterMs)
      ;(this.d.events ?? noRateLimitEvents).limited(limit)
      this.d.refusals.record({
        limit, agentId: null, role: null, target: limit === 'signin_account' ? (user?.id ?? null) : null,
        address: a.addressKey, endpoint: ENDPOINT, policy, at: this.d.clock.now(),
      })
    }
    // RFC 9110 §10.2.3: whole seconds.
    return { outcome: 'throttled', retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)) }
  }

  private dummy(): Promise<string> {
    // Computed once, with the same parameters as real hashes, so it costs what a real one does.
    this.dummyHash ??= this.d.hasher.hash(`dummy ${this.d.newSecret()}`)
    return this.dummyHash
  }
}
