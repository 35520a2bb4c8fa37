import type { User } from '../../ports/user-repo.js'

/** OpenID Connect Core 1.0 §3.1.2.1: the scope value that makes a request an OpenID request. */
export const OPENID_SCOPE = 'openid'

/**
 * OIDC Core 1.0 §5.4: the scope values that ask for claims, and the claims each yields. People
 * have a username and a display name and nothing else, so `profile` is the only one: `email`,
 * `address` and `phone` are not offered, since there is nothing to release under them.
 */
export const CLAIMS_BY_SCOPE: Readonly<Record<string, readonly string[]>> = Object.freeze({
  profile: Object.freeze(['name', 'preferred_username']),
})

/** The OpenID scope values this server understands (advertised in discovery). */
export const OIDC_SCOPES: readonly string[] = Object.freeze([OPENID_SCOPE, ...Object.keys(CLAIMS_BY_SCOPE)])

/** Every claim an ID token or the UserInfo response may carry (OIDC Discovery 1.0 §3 `claims_supported`). */
export const SUPPORTED_CLAIMS: readonly string[] = Object.freeze([
  'sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'azp', 'sid',
  ...Object.values(CLAIMS_BY_SCOPE).flat(),
])

export type PersonForClaims = Pick<User, 'id' | 'username' | 'displayName'>

export interface PersonClaims {
  sub: string
  name?: string
  preferred_username?: string
}

/** Space-delimited or already split: both forms reach here (RFC 6749 §3.3 on the wire, arrays inside). */
export function scopeList(scope: string | readonly string[]): readonly string[] {
  return typeof scope === 'string' ? scope.split(' ').filter((s) => s !== '') : scope
}

/**
 * The person's claims released under the granted scope: `sub` always (OIDC Core §5.3.2), the
 * rest only for the scope values that ask for them.
 */
export function personClaims(user: PersonForClaims, scope: string | readonly string[]): PersonClaims {
  const granted = new Set(scopeList(scope))
  const claims: PersonClaims = { sub: user.id }
  if (granted.has('profile')) {
    // §5.1: `name` is the full name for display; `preferred_username` the short name the person goes by.
    claims.name = user.displayName
    claims.preferred_username = user.username
  }
  return claims
}
