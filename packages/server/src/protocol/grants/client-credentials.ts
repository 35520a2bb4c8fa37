import { effectiveScopes } from '../../domain/scope-token.js'
import type { Clock } from '../../ports/clock.js'
import type { AccessTokenIssuer } from '../access-token.js'
import { parseResources } from '../resource.js'
import { narrowScope, parseScope } from '../scopes.js'
import type { GrantHandler } from './types.js'

/** RFC 6749 §4.4: an agent asks for a token for itself. No refresh token is issued (§4.4.3). */
export function clientCredentialsGrant(deps: { tokens: AccessTokenIssuer; clock: Clock }): GrantHandler {
  return {
    grantType: 'client_credentials',
    async handle({ client, params, resources }) {
      const { agent, role } = client
      const requested = params.get('scope')
      // The agent's scopes, capped by what its role allows today.
      const scope = narrowScope(requested === undefined ? undefined : parseScope(requested), effectiveScopes(agent.scopes, role.scopes))
      const audience = parseResources(resources)
      const issued = await deps.tokens.issue({ agent, role, scope, audience, now: deps.clock.now() })
      return {
        response: { access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn, scope: issued.claims.scope },
        audit: { target: issued.claims.jti, details: { grant_type: 'client_credentials', jti: issued.claims.jti, scope: issued.claims.scope, aud: issued.claims.aud, exp: issued.claims.exp } },
      }
    },
  }
}
