import type { JWTPayload } from 'jose'

/** RFC 8693 §4.1: who acts for the subject, possibly through a chain of actors. */
export interface ActorClaim {
  sub: string
  act?: ActorClaim
  [claim: string]: unknown
}

/** The claims of a verified Mandate access token (RFC 9068 §2.2 plus Mandate's own). */
export interface AccessTokenClaims {
  iss: string
  sub: string
  client_id: string
  /** Always a list, whatever the token had. */
  aud: string[]
  /** As in the token: space-separated (RFC 9068 §2.2.3). */
  scope: string
  /** The same scopes as a list. */
  scopes: string[]
  jti: string
  iat: number
  exp: number
  nbf?: number
  /** The task-bound session the token belongs to. */
  sid?: string
  act?: ActorClaim
  actor_type?: string
  role?: string
  /** Every claim, for those this type does not name. */
  payload: JWTPayload
}

/** Builds typed claims, or says which required claim is missing or malformed. */
export function typedClaims(p: JWTPayload): AccessTokenClaims | string {
  // RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat and jti are required.
  if (typeof p.iss !== 'string') return 'iss'
  if (typeof p.sub !== 'string') return 'sub'
  if (typeof p.client_id !== 'string') return 'client_id'
  if (typeof p.jti !== 'string') return 'jti'
  if (typeof p.iat !== 'number') return 'iat'
  if (typeof p.exp !== 'number') return 'exp'
  const aud = typeof p.aud === 'string' ? [p.aud] : p.aud
  if (!Array.isArray(aud)) return 'aud'
  if (p.scope !== undefined && typeof p.scope !== 'string') return 'scope'
  if (p.sid !== undefined && typeof p.sid !== 'string') return 'sid'
  if (p.act !== undefined && !isActor(p.act)) return 'act'
  const scope = typeof p.scope === 'string' ? p.scope : ''
  const claims: AccessTokenClaims = {
    iss: p.iss,
    sub: p.sub,
    client_id: p.client_id,
    aud,
    scope,
    scopes: scope.split(' ').filter((s) => s !== ''),
    jti: p.jti,
    iat: p.iat,
    exp: p.exp,
    payload: p,
  }
  if (typeof p.nbf === 'number') claims.nbf = p.nbf
  if (typeof p.sid === 'string') claims.sid = p.sid
  if (p.act !== undefined) claims.act = p.act as ActorClaim
  if (typeof p.actor_type === 'string') claims.actor_type = p.actor_type
  if (typeof p.role === 'string') claims.role = p.role
  return claims
}

function isActor(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false
  const a = v as Record<string, unknown>
  return typeof a.sub === 'string' && (a.act === undefined || isActor(a.act))
}
