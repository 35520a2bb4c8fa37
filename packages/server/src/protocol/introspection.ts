import { isAgentUsable, type AgentDirectory } from '../domain/agents/agent-directory.js'
import type { SessionService } from '../domain/sessions/session-service.js'
import type { Clock } from '../ports/clock.js'
import type { RevocationRepo } from '../ports/revocation-repo.js'
import type { AccessTokenVerifier } from './access-token.js'
import type { AuthenticatedClient } from './client-auth/authenticate.js'
import { InvalidRequest } from './errors.js'

export type IntrospectionResponse = { active: false } | ({ active: true; token_type: 'Bearer' } & Record<string, unknown>)

const INACTIVE: IntrospectionResponse = { active: false }

/**
 * RFC 7662 §2. A token is active when this server signed it, it has not expired or been
 * revoked, and its agent is still active. An agent sees its own tokens; a role with
 * can_introspect (a resource server) sees any. Everything else is just inactive (§2.2).
 */
export function introspection(deps: {
  verifier: AccessTokenVerifier; directory: AgentDirectory; revocations: Pick<RevocationRepo, 'isRevoked'>; sessions: Pick<SessionService, 'live'>; clock: Clock
  /** People's grants: a token issued for a person (actor_type human) carries its grant's id as sid. */
  grants?: { live(id: string, now: number): Promise<{ id: string } | undefined> }
}) {
  return async function introspect(caller: AuthenticatedClient, params: ReadonlyMap<string, string>): Promise<IntrospectionResponse> {
    const token = params.get('token')
    if (token === undefined) throw new InvalidRequest('token is required') // RFC 7662 §2.1
    const now = deps.clock.now()
    const claims = await deps.verifier.verify(token, now)
    if (!claims) return INACTIVE
    if (!caller.role.canIntrospect && claims.client_id !== caller.agent.id) return INACTIVE
    const agent = await deps.directory.find(claims.client_id)
    if (!agent || !isAgentUsable(agent, now)) return INACTIVE
    // Tokens issued before a suspension stay dead after the agent is resumed. `iat` has whole
    // seconds, so a token from the suspension's own second counts as issued before it.
    if (agent.tokensNotBefore !== null && claims.iat * 1000 <= agent.tokensNotBefore) return INACTIVE
    if (await deps.revocations.isRevoked(claims.jti)) return INACTIVE
    // A session's token dies with the session, whatever its exp says; a person's token with its grant.
    const forPerson = claims.actor_type === 'human'
    const session = claims.sid === undefined || forPerson ? undefined : await deps.sessions.live(claims.sid, now)
    const grant = claims.sid === undefined || !forPerson ? undefined : await deps.grants?.live(claims.sid, now)
    if (claims.sid !== undefined && !session && !grant) return INACTIVE
    return {
      active: true,
      token_type: 'Bearer',
      scope: claims.scope,
      client_id: claims.client_id,
      sub: claims.sub,
      aud: claims.aud,
      iss: claims.iss,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      actor_type: claims.actor_type,
      role: claims.role,
      ...(session ? { sid: session.id, session: { id: session.id, task: session.task, label: session.label, state: session.state } } : {}),
      ...(grant ? { sid: grant.id } : {}),
    }
  }
}
