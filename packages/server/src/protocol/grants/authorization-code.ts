import type { AuthorizationCodes } from '../../domain/authorizations/authorization-codes.js'
import type { AuthorizationService } from '../../domain/authorizations/authorization-service.js'
import { InvalidGrant, InvalidRequest, InvalidTarget } from '../errors.js'
import { checkCodeVerifier } from '../pkce.js'
import type { GrantHandler } from './types.js'

/**
 * RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.5): an agent exchanges a person's authorization code.
 * Every binding is checked before the code is consumed, so a refused request changes nothing;
 * a code presented again is refused and what it issued is revoked (§4.1.2).
 */
export function authorizationCodeGrant(deps: { codes: AuthorizationCodes; grants: Pick<AuthorizationService, 'tokensFor'> }): GrantHandler {
  return {
    grantType: 'authorization_code',
    async handle({ client, params, resources, ctx }) {
      const presented = params.get('code')
      if (presented === undefined) throw new InvalidRequest('code is required') // RFC 6749 §4.1.3
      const redirectUri = params.get('redirect_uri')
      const verifier = params.get('code_verifier')
      const agentCtx = { ...ctx, actorType: 'agent' as const, actorId: client.agent.id }
      const code = await deps.codes.find(presented)
      // RFC 6749 §4.1.3: the code must have been issued to this client; another's is simply invalid.
      if (!code || code.agentId !== client.agent.id) throw new InvalidGrant('the authorization code is invalid', code ? 'issued to another client' : 'unknown')
      if (code.consumedAt !== null) return deps.codes.replayed(code, agentCtx)
      // RFC 6749 §4.1.3: redirect_uri must be identical to the one in the authorization request.
      if (code.redirectUriSent ? redirectUri !== code.redirectUri : redirectUri !== undefined && redirectUri !== code.redirectUri) {
        throw new InvalidGrant('redirect_uri does not match the authorization request', 'redirect_uri mismatch')
      }
      checkCodeVerifier(verifier, code.codeChallenge)
      // RFC 8707 §2.2: the audience was bound at /authorize; a resource here may only repeat it.
      if (resources.length > 0 && !resources.every((r) => code.audience?.includes(r))) throw new InvalidTarget('resource was not part of the authorization request')
      const { grant, refreshToken } = await deps.codes.redeem(code, presented, client.agent, agentCtx)
      return deps.grants.tokensFor(grant, client, { grantType: 'authorization_code', refreshToken, nonce: code.nonce })
    },
  }
}
