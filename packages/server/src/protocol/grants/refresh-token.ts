import { effectiveScopes } from '../../domain/scope-token.js'
import type { GrantRefresh } from '../../domain/authorizations/grant-refresh.js'
import type { AuthorizationService } from '../../domain/authorizations/authorization-service.js'
import type { PersonGrant } from '../../ports/authorization-repo.js'
import type { SessionService } from '../../domain/sessions/session-service.js'
import type { Clock } from '../../ports/clock.js'
import type { Session } from '../../ports/session-repo.js'
import type { AccessTokenIssuer } from '../access-token.js'
import { InvalidRequest, InvalidTarget } from '../errors.js'
import { parseResources } from '../resource.js'
import { narrowScope, parseScope } from '../scopes.js'
import type { GrantHandler, TokenRequest } from './types.js'

export interface PeopleRefresh {
  refresh: Pick<GrantRefresh, 'owns' | 'refresh'>
  grants: Pick<AuthorizationService, 'tokensFor'>
}

/**
 * RFC 6749 §6: a session's refresh token renews its access token for as long as the session is
 * live. The refresh token rotates on every use (RFC 9700 §4.14.2).
 */
export function refreshTokenGrant(deps: { sessions: Pick<SessionService, 'renew'>; tokens: AccessTokenIssuer; clock: Clock; people?: PeopleRefresh }): GrantHandler {
  return {
    grantType: 'refresh_token',
    async handle(request) {
      const { client, params, resources, ctx } = request
      const presented = params.get('refresh_token')
      if (presented === undefined) throw new InvalidRequest('refresh_token is required') // RFC 6749 §6
      // A person's grant's token (its own prefix, checked before any lookup); agents' sessions take the path below unchanged.
      if (deps.people?.refresh.owns(presented)) return refreshPersonGrant(deps.people, request, presented)
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

/** RFC 6749 §6 for a person's grant: the scope may narrow, never widen; an omitted scope keeps the grant's. */
async function refreshPersonGrant(people: PeopleRefresh, { client, params, resources, ctx }: TokenRequest, presented: string) {
  const requested = params.get('scope')
  const requestedScope = requested === undefined ? undefined : parseScope(requested)
  const named = parseResources(resources)
  // Decided before the token rotates, so a refused request changes nothing.
  const grantFor = (grant: PersonGrant) => {
    // The role's current ceiling still applies; what the person consented to is the most it can be.
    const scope = narrowScope(requestedScope, effectiveScopes(grant.scope, client.role.scopes))
    if (named !== undefined && !named.every((r) => grant.audience?.includes(r))) throw new InvalidTarget('resource is not one this grant was given for')
    return { scope, audience: named ?? grant.audience }
  }
  const agentCtx = { ...ctx, actorType: 'agent' as const, actorId: client.agent.id }
  const { grant, refreshToken } = await people.refresh.refresh(client.agent, presented, agentCtx, grantFor)
  const { scope, audience } = grantFor(grant)
  return people.grants.tokensFor(grant, client, { grantType: 'refresh_token', scope, audience, refreshToken })
}
