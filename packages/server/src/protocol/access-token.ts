import { randomUUID } from 'node:crypto'
import { jwtVerify, errors as joseErrors, type JWTPayload } from 'jose'
import type { KeyService } from '../crypto/key-service.js'
import { tokenExpiry } from '../domain/token-lifetime.js'
import type { Agent } from '../ports/agent-repo.js'
import type { Role } from '../ports/role-repo.js'
import { VerifiedTokens } from './verified-tokens.js'

/** RFC 9068 §2.1: the media type of JWT access tokens, in the `typ` header. */
export const ACCESS_TOKEN_TYP = 'at+jwt'

export interface AccessTokenClaims extends JWTPayload {
  iss: string
  sub: string
  client_id: string
  aud: string | string[]
  scope: string
  iat: number
  exp: number
  jti: string
  /** Who `sub` is: the agent itself, or a person the agent acts for (a person's grant). */
  actor_type: 'agent' | 'human'
  role: string
  /** The session the token was issued for, if any. */
  sid?: string
}

export interface IssuedAccessToken {
  token: string
  claims: AccessTokenClaims
  expiresIn: number
}

export interface AccessTokenIssuer {
  issue(input: {
    agent: Agent
    role: Role
    scope: string[]
    audience: string[] | undefined
    now: number
    /** A session's (or a person's grant's) token carries its id as `sid` and never outlives it. */
    session?: { id: string; maxExpiresAt: number }
    /** For a person's grant: the person (`sub`, actor_type human); the agent stays `client_id`. */
    personId?: string
  }): Promise<IssuedAccessToken>
}

export interface AccessTokenVerifier {
  /** The claims of a token this server signed and that has not expired, else undefined. */
  verify(token: string, now: number): Promise<AccessTokenClaims | undefined>
}

/** Signs and verifies agent access tokens with the agent-tokens key domain. */
export function accessTokens(keys: KeyService, issuer: () => string): AccessTokenIssuer & AccessTokenVerifier {
  const verified = new VerifiedTokens<AccessTokenClaims>()
  return {
    async issue({ agent, role, scope, audience, now, session, personId }) {
      const iat = Math.floor(now / 1000)
      // A token never outlives the credentials it was issued on (ephemeral agents' secrets expire),
      // nor the session it was issued for.
      const exp = Math.min(
        tokenExpiry(now, role.tokenTtlSeconds),
        agent.secretExpiresAt === null ? Infinity : Math.floor(agent.secretExpiresAt / 1000),
        session === undefined ? Infinity : Math.floor(session.maxExpiresAt / 1000),
      )
      const claims: AccessTokenClaims = {
        iss: issuer(),
        sub: personId ?? agent.id,
        client_id: agent.id,
        // Without a resource indicator the token is for this server's own agent APIs.
        aud: audience === undefined ? issuer() : audience.length === 1 ? audience[0]! : audience,
        scope: scope.join(' '),
        iat,
        exp,
        // 122 random bits; randomUUID draws from a cached entropy pool, cheaper per token than randomBytes.
        jti: randomUUID(),
        actor_type: personId === undefined ? 'agent' : 'human',
        role: role.name,
        ...(session === undefined ? {} : { sid: session.id }),
      }
      // The claims are built and validated above, so the JWS is signed directly: SignJWT would
      // copy and re-validate them on every token (measurably, on the hot path).
      const token = await keys.signer().compact.sign(ACCESS_TOKEN_TYP, JSON.stringify(claims))
      // RFC 6749 §5.1: the lifetime from now, in whole seconds, never more than the token has left.
      return { token, claims, expiresIn: Math.max(0, Math.floor((exp * 1000 - now) / 1000)) }
    },

    async verify(token, now) {
      if (token.length > 8192) return undefined
      const known = verified.get(token, now, (kid) => keys.verificationKey(kid) !== undefined)
      if (known) return known
      if (token.split('.').length !== 3) return undefined
      try {
        const { payload, protectedHeader } = await jwtVerify(
          token,
          (header) => {
            const key = header.kid === undefined ? undefined : keys.verificationKey(header.kid)
            if (!key) throw new joseErrors.JWKSNoMatchingKey()
            return key
          },
          { issuer: issuer(), typ: ACCESS_TOKEN_TYP, algorithms: ['ES256'], currentDate: new Date(now), clockTolerance: 0 },
        )
        if (typeof payload.jti !== 'string' || typeof payload.client_id !== 'string' || typeof payload.exp !== 'number') return undefined
        verified.set(token, protectedHeader.kid!, payload as AccessTokenClaims)
        return payload as AccessTokenClaims
      } catch {
        return undefined
      }
    },
  }
}
