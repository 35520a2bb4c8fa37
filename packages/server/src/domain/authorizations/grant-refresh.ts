import type { RefreshTokenMint } from '../../crypto/refresh-tokens.js'
import type { Agent } from '../../ports/agent-repo.js'
import type { AuthorizationRepo, PersonGrant } from '../../ports/authorization-repo.js'
import type { Clock } from '../../ports/clock.js'
import type { ActionContext } from '../context.js'
import type { AuthorizationService } from './authorization-service.js'
import { AuthorizationRefused } from './errors.js'

export interface GrantRefreshDeps {
  repo: AuthorizationRepo
  mint: RefreshTokenMint
  grants: Pick<AuthorizationService, 'end' | 'requireLiveConsent' | 'activeUser' | 'refreshWindowMs'>
  clock: Clock
}

/**
 * People's refresh tokens (RFC 6749 §6), rotated on every use (RFC 9700 §4.14.2) with successors
 * derived as for agent sessions: a retry within the window gets the same successor; an older
 * token, or the parent after the window, ends the whole grant.
 */
export class GrantRefresh {
  constructor(private readonly d: GrantRefreshDeps) {}

  /** Whether a presented refresh token is a person's (its prefix), before any lookup. */
  owns(token: string): boolean {
    return this.d.mint.looksLike(token)
  }

  /**
   * Rotates the token. `check` sees the grant before anything changes and may refuse the request
   * (a wider scope), so a refused refresh rotates nothing.
   */
  async refresh(agent: Agent, presented: string, ctx: ActionContext, check: (grant: PersonGrant) => void): Promise<{ grant: PersonGrant; refreshToken: string }> {
    const refused = (why: string) => new AuthorizationRefused('the refresh token is invalid', why)
    if (!this.d.mint.looksLike(presented)) throw refused('unknown')
    const found = await this.d.repo.findByRefreshToken(this.d.mint.digest(presented))
    if (!found || found.grant.agentId !== agent.id) throw refused('unknown')
    if (found.grant.state === 'active') {
      check(found.grant)
      // A refresh after the consent was withdrawn (or expired), or for a suspended person, ends the grant.
      await this.d.grants.requireLiveConsent(found.grant, ctx)
      await this.d.grants.activeUser(found.grant)
    }
    const successor = this.d.mint.successor(presented)
    const result = await this.d.repo.rotateRefreshToken({
      digest: this.d.mint.digest(presented), successorDigest: this.d.mint.digest(successor), agentId: agent.id, now: this.d.clock.now(), graceMs: this.d.grants.refreshWindowMs,
    })
    if (result.status === 'unknown') throw refused('unknown')
    if (result.status === 'inactive') {
      if (result.grant.state === 'active') await this.d.grants.end(result.grant, 'expired', ctx)
      throw new AuthorizationRefused(`the grant has ended (${result.grant.endReason ?? 'expired'})`, 'ended')
    }
    if (result.status === 'reused') {
      await this.d.grants.end(result.grant, 'refresh_token_reused', ctx)
      throw new AuthorizationRefused('the refresh token was already used; every token of this grant is revoked', 'reused')
    }
    return { grant: result.grant, refreshToken: successor }
  }

  /** RFC 7009 §2.1: revoking a current refresh token ends its grant and every token issued under it. */
  async revoke(agent: Agent, token: string, ctx: ActionContext): Promise<boolean> {
    if (!this.d.mint.looksLike(token)) return false
    const found = await this.d.repo.findByRefreshToken(this.d.mint.digest(token))
    if (!found?.current || found.grant.agentId !== agent.id || found.grant.state !== 'active') return false
    await this.d.grants.end(found.grant, 'refresh_token_revoked', ctx)
    return true
  }
}
