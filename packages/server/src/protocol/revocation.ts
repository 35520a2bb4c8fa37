import { auditActor } from '../domain/agents/agent-service.js'
import type { AuditRecorder } from '../domain/audit/audit-log.js'
import type { ActionContext } from '../domain/context.js'
import type { SessionService } from '../domain/sessions/session-service.js'
import type { Clock } from '../ports/clock.js'
import type { RevocationRepo } from '../ports/revocation-repo.js'
import type { AccessTokenVerifier } from './access-token.js'
import type { AuthenticatedClient } from './client-auth/authenticate.js'
import { InvalidRequest } from './errors.js'

/**
 * RFC 7009 §2. A client revokes its own access tokens; the token stays revoked until it would
 * have expired. Unknown, expired, malformed or another client's tokens get the same 200 and
 * change nothing (§2.2), so the endpoint reveals nothing about tokens the caller does not own.
 */
export function revocation(deps: {
  verifier: AccessTokenVerifier; revocations: Pick<RevocationRepo, 'revoke'>; sessions: Pick<SessionService, 'revokeRefreshToken'>; audit: AuditRecorder; clock: Clock
  /** People's grants: revoking a person's refresh token ends the grant (and its access tokens). */
  grants?: { revoke(agent: AuthenticatedClient['agent'], token: string, ctx: ActionContext): Promise<boolean> }
}) {
  return async function revoke(caller: AuthenticatedClient, params: ReadonlyMap<string, string>, ctx: ActionContext): Promise<void> {
    const token = params.get('token')
    if (token === undefined) throw new InvalidRequest('token is required') // RFC 7009 §2.1
    // RFC 7009 §2.1: token_type_hint is only a hint; both kinds are tried. A refresh token ends its
    // session, and with it every access token issued for the session.
    if (await deps.sessions.revokeRefreshToken(caller.agent, token, ctx)) return
    if (await deps.grants?.revoke(caller.agent, token, ctx)) return
    const now = deps.clock.now()
    const claims = await deps.verifier.verify(token, now)
    if (!claims || claims.client_id !== caller.agent.id) return
    await deps.revocations.revoke({ jti: claims.jti, clientId: claims.client_id, expiresAt: claims.exp * 1000, revokedAt: now })
    await deps.audit.record({
      ...auditActor({ ...ctx, actorType: 'agent', actorId: caller.agent.id }),
      action: 'token.revoked', outcome: 'success', target: claims.jti, role: caller.role.name,
      details: { token_type: 'access_token', exp: claims.exp },
    })
  }
}
