import type { AuthorizationService } from '../../domain/authorizations/authorization-service.js'
import { effectiveScopes } from '../../domain/scope-token.js'
import { InvalidScope } from '../errors.js'
import type { DeviceTokenIssuer } from '../grants/device-code.js'
import { DEVICE_CODE_GRANT } from './device-authorization-endpoint.js'

/**
 * An approved device request becomes a person's grant, like a redeemed authorization code: the
 * access token's `sub` is the person, a rotating refresh token comes when the agent is registered
 * for refresh_token, an ID token when `openid` was granted.
 */
export function deviceTokenIssuer(authorizations: Pick<AuthorizationService, 'begin' | 'issueTokens'>): DeviceTokenIssuer {
  return {
    async issue({ code, user, consent, client }, ctx) {
      // The role's ceiling today still applies (it may have shrunk since the person approved).
      const allowed = new Set(effectiveScopes(client.agent.scopes, client.role.scopes))
      const scope = code.scope.filter((s) => allowed.has(s))
      if (scope.length === 0) throw new InvalidScope('none of the approved scopes is still allowed for this agent')
      const grant = await authorizations.begin(
        { userId: user.id, agent: client.agent, role: client.role, consent, scope, audience: code.audience, authTime: code.authTime ?? code.decidedAt ?? code.createdAt },
        ctx,
      )
      return authorizations.issueTokens(grant, client, { withRefresh: client.agent.grantTypes.includes('refresh_token'), openid: scope.includes('openid'), grantType: DEVICE_CODE_GRANT })
    },
  }
}
