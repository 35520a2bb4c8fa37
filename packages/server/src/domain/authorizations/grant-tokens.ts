import type { Agent } from '../../ports/agent-repo.js'
import type { PersonGrant } from '../../ports/authorization-repo.js'
import type { Role } from '../../ports/role-repo.js'
import type { User } from '../../ports/user-repo.js'

/** Signs a person's access token (the protocol's access-token issuer, by its shape). */
export interface PersonAccessTokens {
  issue(input: {
    agent: Agent
    role: Role
    scope: string[]
    audience: string[] | undefined
    now: number
    session: { id: string; maxExpiresAt: number }
    personId: string
  }): Promise<{ token: string; expiresIn: number; claims: { jti: string; scope: string; aud: string | string[]; exp: number } }>
}

/** Signs ID tokens (the oidc piece's `idTokens`, by its shape). */
export interface IdTokenSigner {
  issue(request: { user: Pick<User, 'id' | 'username' | 'displayName'>; clientId: string; nonce?: string; authTime: number; scope: readonly string[]; sid?: string }): Promise<string>
}

/** RFC 6749 §5.1 (+ OIDC Core §3.1.3.3 `id_token`). */
export interface GrantTokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  scope: string
  refresh_token?: string
  id_token?: string
}

/** What the token endpoint sends, and what its `token.issued` audit event records. */
export interface GrantTokens {
  response: GrantTokenResponse
  audit: { target: string; details: Record<string, unknown> }
}

export interface TokenOptions {
  grantType: string
  /** Narrower than the grant's on a refresh (RFC 6749 §6); the grant's own otherwise. */
  scope?: string[]
  audience?: string[] | null
  refreshToken?: string
  /** OIDC: the request's nonce, echoed in the ID token. */
  nonce?: string | null
}

export const OPENID = 'openid'

/**
 * The tokens of one issuance under a person's grant: an access token whose `sub` is the person
 * and whose `sid` is the grant (so ending the grant ends it at once everywhere), the refresh
 * token if one was minted, and an ID token when `openid` was granted and an ID token signer is set.
 */
export async function grantTokens(
  d: { tokens: PersonAccessTokens; idTokens: IdTokenSigner | undefined; now: number },
  grant: PersonGrant,
  client: { agent: Agent; role: Role },
  user: Pick<User, 'id' | 'username' | 'displayName'>,
  o: TokenOptions,
): Promise<GrantTokens> {
  const scope = o.scope ?? grant.scope
  const audience = o.audience === undefined ? grant.audience : o.audience
  const issued = await d.tokens.issue({
    agent: client.agent, role: client.role, scope, audience: audience ?? undefined, now: d.now,
    session: { id: grant.id, maxExpiresAt: grant.expiresAt }, personId: grant.userId,
  })
  // OIDC Core §3.1.3.3: an ID token with the code grant; §12.2: one may come with a refresh too.
  const idToken = scope.includes(OPENID) && d.idTokens
    ? await d.idTokens.issue({ user, clientId: client.agent.id, nonce: o.nonce ?? undefined, authTime: grant.authTime, scope, sid: grant.id })
    : undefined
  return {
    response: {
      access_token: issued.token, token_type: 'Bearer', expires_in: issued.expiresIn, scope: issued.claims.scope,
      ...(o.refreshToken === undefined ? {} : { refresh_token: o.refreshToken }),
      ...(idToken === undefined ? {} : { id_token: idToken }),
    },
    audit: {
      target: issued.claims.jti,
      details: {
        grant_type: o.grantType, jti: issued.claims.jti, sub: grant.userId, client_id: client.agent.id, sid: grant.id, consent: grant.consentId,
        scope: issued.claims.scope, aud: issued.claims.aud, exp: issued.claims.exp, refresh_token: o.refreshToken !== undefined, id_token: idToken !== undefined,
      },
    },
  }
}
