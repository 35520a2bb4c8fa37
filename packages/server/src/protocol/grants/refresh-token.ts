import { effectiveScopes } from '../../domain/scope-token.js'
import type { SessionService } from '../../domain/sessions/session-service.js'
import type { Clock } from '../../ports/clock.js'
import type { Session } from '../../ports/session-repo.js'
import type { AccessTokenIssuer } from '../access-token.js'
import { InvalidRequest, InvalidTarget } from '../errors.js'
import { parseResources } from '../resource.js'
import { narrowScope, parseScope } from '../scopes.js'
import type { GrantHandler } from './types.js'

/**
 * RFC 6749 §6: a session's refresh token renews its access token for as long as the session is
 * live. The refresh token rotates on every use (RFC 9700 §4.14.2).
 */
export function refreshTokenGrant(deps: { sessions: Pick<SessionService, 'renew'>; tokens: AccessTokenIssuer; clock: Clock }): GrantHandler {
  return {
    grantType: 'refresh_token',
    async handle({ client, params, resources, ctx }) {
      const presented = params.get('refresh_token')
      if (presented === undefined) throw new InvalidRequest('refresh_token is required') // RFC 6749 §6
      const requested = params.get('scope')
      const requestedScope = requested === undefined ? undefined : parseScope(requested)
      const named = parseResources(resources)
      // Decided before the token rotates, so a refused request changes nothing.
      const grantFor = (session: Session) => {
        // RFC 6749 §6: the scope may narrow, never widen, and the role's current ceiling still applies.
        const scope = narrowScope(requestedScope, effectiveScopes(session.scope, client.role.scopes))
        // RFC 8707 §2.2: a resource named on renewal must be one the session was started for.
        if (named !== undefined && !named.every((r) => session.audience?.includes(r))) throw new InvalidTarget('resource is not one this session was started for')
        return { scope, audience: named ?? session.audience ?? undefined }
      }
      const { session, refreshToken } = await deps.sessions.renew(client.agent, presented, { ...ctx, actorType: 'agent', actorId: client.agent.id }, grantFor)
      const { scope, audience } = grantFor(session)
      const issued = await deps.tokens.issue({ agent: client.agent, role: client.role, scope, audience, now: deps.clock.now(), session })
      return {
        response: { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn, scope: issued.claims.scope, refresh_token: refreshToken },
        audit: {
          target: issued.claims.jti,
          details: { grant_type: 'refresh_token', jti: issued.claims.jti, sid: session.id, task: session.task, label: session.label, scope: issued.claims.scope, aud: issued.claims.aud, exp: issued.claims.exp },
        },
      }
    },
  }
}
