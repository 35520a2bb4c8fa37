import type { KeyService } from '../../crypto/key-service.js'
import type { Clock } from '../../ports/clock.js'
import { personClaims, type PersonForClaims } from './claims.js'

/**
 * The `typ` header of ID tokens. RFC 8725 §3.11 asks for explicit typing; OIDC defines no media
 * type of its own, so `JWT` (RFC 7519 §5.1) it is. Access tokens are `at+jwt`, so neither can be
 * passed off as the other: the access-token verifier requires `at+jwt`.
 */
export const ID_TOKEN_TYP = 'JWT'

export interface IdTokenRequest {
  user: PersonForClaims
  /** The agent (client) the token is for: its `aud` and `azp`. */
  clientId: string
  /** From the authorization request, echoed exactly (OIDC Core §3.1.2.1); absent when it had none. */
  nonce?: string
  /** When the person signed in, ms since the epoch (their sign-in session's `createdAt`). */
  authTime: number
  /** The granted scope: decides which claims beyond `sub` are included. */
  scope: string | readonly string[]
  /** Names the person's sign-in session, for clients that track sessions. */
  sid?: string
}

/** OIDC Core 1.0 §2. */
export interface IdTokenClaims {
  iss: string
  sub: string
  aud: string
  exp: number
  iat: number
  auth_time: number
  nonce?: string
  azp: string
  sid?: string
  name?: string
  preferred_username?: string
}

export interface IdTokenIssuer {
  issue(request: IdTokenRequest): Promise<string>
}

export interface IdTokenDeps {
  keys: Pick<KeyService, 'signer'>
  issuer(): string
  clock: Clock
  /** Short (config default 300 s): an ID token is read once, by the client, when it arrives (OIDC Core §3.1.3.7). */
  ttlSeconds: number
}

/** Signs ID tokens for people with the active key of the agent-tokens domain (the one /jwks publishes). */
export function idTokens(deps: IdTokenDeps): IdTokenIssuer {
  const ttl = deps.ttlSeconds
  return {
    async issue(request) {
      const iat = Math.floor(deps.clock.now() / 1000)
      const { sub, ...released } = personClaims(request.user, request.scope)
      const claims: IdTokenClaims = {
        iss: deps.issuer(),
        sub,
        // §2: aud holds the client_id; with one audience it is a string, and azp names that client too.
        aud: request.clientId,
        exp: iat + ttl,
        iat,
        // §2: auth_time is in seconds, like every JWT NumericDate.
        auth_time: Math.floor(request.authTime / 1000),
        // §3.1.3.6: the nonce goes back exactly as the request sent it, and only if it sent one.
        ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
        azp: request.clientId,
        ...(request.sid === undefined ? {} : { sid: request.sid }),
        ...released,
      }
      return deps.keys.signer().compact.sign(ID_TOKEN_TYP, JSON.stringify(claims))
    },
  }
}
