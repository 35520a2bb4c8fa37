import type { RefreshTokenMint } from '../../crypto/refresh-tokens.js'
import type { Agent } from '../../ports/agent-repo.js'
import type { AuthorizationCode, AuthorizationRepo, PersonGrant } from '../../ports/authorization-repo.js'
import type { Clock } from '../../ports/clock.js'
import type { Consent } from '../../ports/consent-repo.js'
import type { AuditRecorder } from '../audit/audit-log.js'
import type { ActionContext } from '../context.js'
import type { AuthorizationService } from './authorization-service.js'
import { AuthorizationRefused } from './errors.js'

/** RFC 6749 §4.1.2 recommends at most 10 minutes; OAuth 2.1 and this server: one minute. */
export const CODE_TTL_MS = 60_000
const CODE_PREFIX = 'mdc_'
const CODE = /^mdc_[A-Za-z0-9_-]{43}$/

export interface CodeDeps {
  repo: AuthorizationRepo
  grants: Pick<AuthorizationService, 'newGrant' | 'end' | 'audit'>
  consents: { get(id: string): Promise<Consent | undefined>; isLive(c: Pick<Consent, 'withdrawnAt' | 'expiresAt'>): boolean }
  mint: RefreshTokenMint
  audit: AuditRecorder
  clock: Clock
  newSecret(prefix: string): string
  newId(prefix: string): string
  digest(secret: string): string
}

export interface CodeRequest {
  userId: string
  agent: Pick<Agent, 'id' | 'role'>
  consent: Pick<Consent, 'id'>
  scope: string[]
  audience: string[] | null
  redirectUri: string
  redirectUriSent: boolean
  codeChallenge: string
  nonce: string | null
  authTime: number
}

/** Authorization codes: random, stored as digests, single use, a minute long, bound to everything they were issued for. */
export class AuthorizationCodes {
  constructor(private readonly d: CodeDeps) {}

  /** Issues a code for a person's approved request; audited as the person. */
  async issue(r: CodeRequest, ctx: ActionContext): Promise<string> {
    const now = this.d.clock.now()
    const code = this.d.newSecret(CODE_PREFIX)
    const row: AuthorizationCode = {
      id: this.d.newId('cod_'), agentId: r.agent.id, redirectUri: r.redirectUri, redirectUriSent: r.redirectUriSent, codeChallenge: r.codeChallenge,
      nonce: r.nonce, scope: r.scope, audience: r.audience, userId: r.userId, consentId: r.consent.id, authTime: r.authTime,
      createdAt: now, expiresAt: now + CODE_TTL_MS, consumedAt: null, grantId: null,
    }
    await this.d.repo.createCode(row, this.d.digest(code))
    await this.d.audit.record({
      actorType: 'human', actorId: r.userId, ip: ctx.ip, requestId: ctx.requestId, action: 'authorization.code_issued', outcome: 'success', target: row.id, role: r.agent.role,
      details: { agent: r.agent.id, consent: r.consent.id, scope: r.scope.join(' '), aud: r.audience, redirect_uri: r.redirectUri, expires_at: row.expiresAt },
    })
    return code
  }

  /** The code a client presents, if it is one of ours (shape first, then by digest). */
  async find(presented: string): Promise<AuthorizationCode | undefined> {
    if (!CODE.test(presented)) return undefined
    return this.d.repo.findCode(this.d.digest(presented))
  }

  /**
   * RFC 6749 §4.1.2 / RFC 9700 §4.2.4: a code used twice is refused, and what its first use issued
   * is revoked: the grant ends, with its refresh tokens and (through sid) its access tokens.
   */
  async replayed(code: AuthorizationCode, ctx: ActionContext): Promise<never> {
    // Consumed without a grant: voided unused (its consent withdrawn, its person suspended). Not a replay: nothing to revoke, no alarm.
    if (code.grantId === null) {
      const consent = await this.d.consents.get(code.consentId)
      if (consent?.withdrawnAt != null) throw new AuthorizationRefused('the consent behind this authorization code was withdrawn before it was used', 'consent withdrawn')
      throw new AuthorizationRefused('the authorization code was voided before it was used', 'voided')
    }
    const ended = code.grantId === null ? undefined : await this.d.grants.end({ id: code.grantId, expiresAt: Number.MAX_SAFE_INTEGER }, 'authorization_code_replayed', ctx)
    await this.d.audit.record({
      actorType: ctx.actorType, actorId: ctx.actorId, ip: ctx.ip, requestId: ctx.requestId, action: 'authorization.code_replayed', outcome: 'failure',
      reason: 'authorization code presented again', target: code.id,
      details: { agent: code.agentId, user: code.userId, grant: code.grantId, grant_ended: ended !== undefined },
    })
    throw new AuthorizationRefused('the authorization code was already used; what it issued is revoked', 'replayed')
  }

  /**
   * Redeems a code whose bindings the protocol has checked: its consent must still be live, and
   * the code is consumed and its grant stored (with the first refresh token) in one transaction.
   */
  async redeem(code: AuthorizationCode, presented: string, agent: Agent, ctx: ActionContext): Promise<{ grant: PersonGrant; refreshToken: string | undefined }> {
    const consent = await this.d.consents.get(code.consentId)
    if (!consent || !this.d.consents.isLive(consent)) throw new AuthorizationRefused('the consent behind this code was withdrawn or has expired', 'consent')
    const grant = this.d.grants.newGrant({ userId: code.userId, agent, consent, scope: code.scope, audience: code.audience, authTime: code.authTime })
    // RFC 6749 §1.5: a refresh token only for a client registered for the refresh_token grant.
    const refreshToken = agent.grantTypes.includes('refresh_token') ? this.d.mint.issue() : undefined
    const result = await this.d.repo.redeemCode(this.d.digest(presented), this.d.clock.now(), grant, refreshToken === undefined ? null : this.d.mint.digest(refreshToken))
    if (result.status === 'replayed') return this.replayed(result.code, ctx)
    if (result.status !== 'redeemed') throw new AuthorizationRefused(`the authorization code is ${result.status === 'expired' ? 'expired' : 'invalid'}`, result.status)
    await this.d.grants.audit('grant.started', result.grant, null, ctx)
    return { grant: result.grant, refreshToken }
  }
}
