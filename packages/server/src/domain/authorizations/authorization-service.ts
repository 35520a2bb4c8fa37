import type { RefreshTokenMint } from '../../crypto/refresh-tokens.js'
import type { Agent } from '../../ports/agent-repo.js'
import type { AuthorizationRepo, PersonGrant } from '../../ports/authorization-repo.js'
import type { Change, ChangeNotifier } from '../../ports/change-notifier.js'
import type { Clock } from '../../ports/clock.js'
import type { Consent } from '../../ports/consent-repo.js'
import type { Role } from '../../ports/role-repo.js'
import type { User, UserRepo } from '../../ports/user-repo.js'
import type { AuditRecorder } from '../audit/audit-log.js'
import type { ActionContext } from '../context.js'
import { LookupCache } from '../lookup-cache.js'
import { latestTokenExpiry } from '../token-lifetime.js'
import { AuthorizationRefused } from './errors.js'
import { grantTokens, type GrantTokens, type IdTokenSigner, type PersonAccessTokens, type TokenOptions } from './grant-tokens.js'

/** The default retry window of a rotation: re-presenting the parent this soon returns the same successor. */
export const DEFAULT_GRANT_REFRESH_WINDOW_MS = 30_000

export interface AuthorizationDeps {
  repo: AuthorizationRepo
  /** People's refresh tokens (prefix `mdg_`), derived like agent sessions' (crypto/refresh-tokens.ts). */
  mint: RefreshTokenMint
  tokens: PersonAccessTokens
  /** Set once the ID token signer exists (the oidc piece); without it no ID token is issued. */
  idTokens?: IdTokenSigner
  users: Pick<UserRepo, 'get'>
  consents: { get(id: string): Promise<Consent | undefined>; isLive(c: Pick<Consent, 'withdrawnAt' | 'expiresAt'>): boolean }
  audit: AuditRecorder
  clock: Clock
  newGrantId(now: number): string
  maxTokenTtlSeconds: number
  refreshWindowMs?: number
  changes?: Pick<ChangeNotifier, 'publish'>
}

export interface Client {
  agent: Agent
  role: Role
}

export interface BeginInput {
  userId: string
  agent: Agent
  role: Role
  consent: Consent
  scope: string[]
  audience: string[] | null
  authTime: number
  nonce?: string
}

/**
 * People's grants to agents: created when a person's authorization is redeemed (a code, an
 * approved device), renewed by rotating refresh tokens, ended by withdrawal, reuse or revocation.
 */
export class AuthorizationService {
  private readonly cache: LookupCache<PersonGrant>

  constructor(private readonly d: AuthorizationDeps) {
    this.cache = new LookupCache((id) => d.repo.getGrant(id), d.clock, 1000)
  }

  /** A new grant for a person's authorization (no refresh token yet; `issueTokens` adds one). */
  async begin(input: BeginInput, ctx: ActionContext): Promise<PersonGrant> {
    const grant = this.newGrant(input)
    await this.d.repo.createGrant(grant, null)
    await this.audit('grant.started', grant, null, ctx)
    return grant
  }

  newGrant(input: Omit<BeginInput, 'nonce' | 'agent' | 'role'> & { agent: Pick<Agent, 'id' | 'role'> }): PersonGrant {
    const now = this.d.clock.now()
    return {
      id: this.d.newGrantId(now), userId: input.userId, agentId: input.agent.id, role: input.agent.role, consentId: input.consent.id,
      scope: [...input.scope], audience: input.audience, authTime: input.authTime, state: 'active', endReason: null,
      // Nothing issued under a consent outlives it.
      expiresAt: input.consent.expiresAt, createdAt: now, endedAt: null,
    }
  }

  /** Tokens for a grant just begun: a refresh token when asked (and the agent may refresh), an ID token with `openid`. */
  async issueTokens(grant: PersonGrant, client: Client, o: { withRefresh: boolean; openid: boolean; nonce?: string; grantType?: string }): Promise<GrantTokens> {
    let refreshToken: string | undefined
    if (o.withRefresh) {
      refreshToken = this.d.mint.issue()
      if (!(await this.d.repo.addRefreshToken(grant.id, this.d.mint.digest(refreshToken), this.d.clock.now()))) throw new AuthorizationRefused('the grant has ended', 'ended')
    }
    const scope = o.openid ? grant.scope : grant.scope.filter((s) => s !== 'openid')
    return this.tokensFor(grant, client, { grantType: o.grantType ?? 'urn:ietf:params:oauth:grant-type:device_code', scope, refreshToken, nonce: o.nonce })
  }

  /** Access (and ID) tokens under a live grant, for a person who is still active. */
  async tokensFor(grant: PersonGrant, client: Client, o: TokenOptions): Promise<GrantTokens> {
    const user = await this.activeUser(grant)
    return grantTokens({ tokens: this.d.tokens, idTokens: this.d.idTokens, now: this.d.clock.now() }, grant, client, user, o)
  }

  /** The ID token signer arrives with the oidc piece; main.ts sets it. */
  useIdTokens(signer: IdTokenSigner): void {
    this.d.idTokens = signer
  }

  /** The grant if it is live at `now` (for introspection and userinfo), else undefined. */
  async live(id: string, now: number): Promise<PersonGrant | undefined> {
    const grant = await this.cache.get(id)
    return grant?.state === 'active' && grant.expiresAt > now ? grant : undefined
  }

  get(id: string): Promise<PersonGrant | undefined> {
    return this.d.repo.getGrant(id)
  }

  /** A change made on another node: grants end as sessions do, under the same change kind. */
  forget(change: Change): void {
    if (change.kind === 'session') this.cache.invalidate(change.id)
    else if (change.kind === 'all') this.cache.clear()
  }

  /** Ends everything issued under a withdrawn consent: its unredeemed codes and its grants. */
  async endForConsent(consentId: string, ctx: ActionContext): Promise<void> {
    await this.d.repo.voidCodesForConsent(consentId, this.d.clock.now())
    for (;;) {
      const batch = await this.d.repo.listActiveForConsent(consentId, 100)
      for (const grant of batch) await this.end(grant, 'consent_withdrawn', ctx)
      if (batch.length < 100) return
    }
  }

  /**
   * Ends every live grant of a person (they were suspended) in one transaction, each as `end`
   * ends one: refresh tokens gone, published on the revocation feed, dropped from every node's
   * cache, audited. Idempotent: a second call finds nothing live.
   */
  async endForUser(userId: string, reason: string, ctx: ActionContext): Promise<number> {
    const now = this.d.clock.now()
    const ended = await this.d.repo.endGrantsForUser(userId, { now, reason, revokeUntil: latestTokenExpiry(now, this.d.maxTokenTtlSeconds) })
    for (const grant of ended) {
      this.cache.invalidate(grant.id)
      this.d.changes?.publish({ kind: 'session', id: grant.id })
    }
    for (const grant of ended) await this.audit('grant.ended', grant, reason, ctx)
    return ended.length
  }

  /**
   * Ends a grant exactly once: its refresh tokens go, it is published on the revocation feed (its
   * access tokens carry its id as sid), other nodes drop it from their caches, and it is audited.
   */
  async end(grant: Pick<PersonGrant, 'id' | 'expiresAt'>, reason: string, ctx: ActionContext): Promise<PersonGrant | undefined> {
    const now = this.d.clock.now()
    const revokeUntil = Math.min(grant.expiresAt, latestTokenExpiry(now, this.d.maxTokenTtlSeconds))
    const ended = await this.d.repo.endGrant(grant.id, { now, reason, revokeUntil })
    this.cache.invalidate(grant.id)
    if (!ended) return undefined
    this.d.changes?.publish({ kind: 'session', id: grant.id })
    await this.audit('grant.ended', ended, reason, ctx)
    return ended
  }

  get refreshWindowMs(): number {
    return this.d.refreshWindowMs ?? DEFAULT_GRANT_REFRESH_WINDOW_MS
  }

  /** The person the grant is for, if they are still active; otherwise the grant ends. */
  async activeUser(grant: PersonGrant): Promise<User> {
    const user = await this.d.users.get(grant.userId)
    if (user?.status === 'active') return user
    await this.end(grant, 'user_suspended', { actorType: 'system', actorId: null, ip: null, requestId: null })
    throw new AuthorizationRefused('the person this grant is for can no longer be acted for', 'user inactive')
  }

  /** The grant's consent is still live (not withdrawn, not expired); otherwise the grant ends. */
  async requireLiveConsent(grant: PersonGrant, ctx: ActionContext): Promise<void> {
    const consent = await this.d.consents.get(grant.consentId)
    if (consent && this.d.consents.isLive(consent)) return
    await this.end(grant, consent?.withdrawnAt == null ? 'consent_expired' : 'consent_withdrawn', ctx)
    throw new AuthorizationRefused('the consent behind this grant was withdrawn or has expired', 'consent')
  }

  async audit(action: string, grant: PersonGrant, reason: string | null, ctx: ActionContext): Promise<void> {
    await this.d.audit.record({
      actorType: ctx.actorType, actorId: ctx.actorId, ip: ctx.ip, requestId: ctx.requestId, action, outcome: 'success', reason, target: grant.id, role: grant.role,
      details: { user: grant.userId, agent: grant.agentId, consent: grant.consentId, scope: grant.scope.join(' '), state: grant.state },
    })
  }
}
