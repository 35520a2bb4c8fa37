import { isAgentUsable, type AgentDirectory } from '../domain/agents/agent-directory.js'
import type { Clock } from '../ports/clock.js'
import type { RevocationRepo } from '../ports/revocation-repo.js'
import type { UserRepo } from '../ports/user-repo.js'
import type { AccessTokenClaims, AccessTokenVerifier } from './access-token.js'
import { InsufficientScope, InvalidToken, OAuthError } from './errors.js'
import { OPENID_SCOPE, personClaims, scopeList, type PersonClaims } from './oidc/claims.js'

export interface UserInfoDeps {
  verifier: AccessTokenVerifier
  /** The in-memory revocation set introspection reads: revoked tokens are refused here at once too. */
  revocations: Pick<RevocationRepo, 'isRevoked'>
  directory: Pick<AgentDirectory, 'find'>
  users: Pick<UserRepo, 'get'>
  /** Whether the person's grant the token was issued under (its `sid`) is still in force: ended grants kill their tokens. */
  grantLive(claims: AccessTokenClaims, now: number): Promise<boolean>
  issuer(): string
  clock: Clock
}

/**
 * OpenID Connect Core 1.0 §5.3: the claims about the person an access token was issued for.
 * The token must be live (signed here, unexpired, not revoked, its agent and grant still in
 * force), meant for this server, issued for a person, and carry the `openid` scope.
 * Errors are RFC 6750 §3.1 (OIDC Core §5.3.3).
 */
export function userInfo(deps: UserInfoDeps) {
  return async function claimsFor(token: string): Promise<PersonClaims> {
    const now = deps.clock.now()
    const claims = await deps.verifier.verify(token, now)
    if (!claims) throw new InvalidToken('the access token is invalid or has expired')
    // RFC 9068 §4: a resource server accepts only tokens whose aud names it; here, the issuer.
    const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
    if (!audience.includes(deps.issuer())) throw new InvalidToken('the access token is for another resource server', `aud ${audience.join(' ')}`)
    // actor_type labels who `sub` is; an agent's own token names no person to describe.
    const actorType: string = claims.actor_type
    if (actorType !== 'human') throw new InsufficientScope('this is an agent\'s own access token; userinfo needs one issued for a person with the openid scope')
    if (!scopeList(claims.scope).includes(OPENID_SCOPE)) throw new InsufficientScope('the access token lacks the openid scope')
    if (!(await stillInForce(deps, claims, now))) throw new InvalidToken('the access token has been revoked')
    const user = await deps.users.get(claims.sub)
    // A suspended person's tokens die with their sessions, whatever the grant says.
    if (!user || user.status !== 'active') throw new InvalidToken('the access token has been revoked', `person ${claims.sub} is ${user ? user.status : 'gone'}`)
    return personClaims(user, claims.scope)
  }
}

/** As introspection judges liveness: not revoked, the agent usable and not suspended since, the grant in force. */
async function stillInForce(deps: UserInfoDeps, claims: AccessTokenClaims, now: number): Promise<boolean> {
  if (await deps.revocations.isRevoked(claims.jti)) return false
  const agent = await deps.directory.find(claims.client_id)
  if (!agent || !isAgentUsable(agent, now)) return false
  // iat has whole seconds: a token from the suspension's own second counts as issued before it.
  if (agent.tokensNotBefore !== null && claims.iat * 1000 <= agent.tokensNotBefore) return false
  return deps.grantLive(claims, now)
}

/**
 * RFC 6750 §3.1 invalid_request (400), with a Bearer challenge: the token was sent in a way this
 * endpoint does not take (twice, in the query, malformed).
 */
export class BearerRequestInvalid extends OAuthError {
  constructor(description: string) {
    super('invalid_request', description, 400, undefined, 'Bearer')
  }
}
