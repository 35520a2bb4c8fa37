/**
 * A person's grant to an agent: what one authorization (a code redeemed, a device approved)
 * gave. Its access tokens carry its id as `sid`, its refresh tokens rotate within it, and ending
 * it ends them all. Times are ms since the epoch.
 */
export interface PersonGrant {
  /** `grt_…`, sortable by creation. */
  id: string
  userId: string
  agentId: string
  role: string
  consentId: string
  scope: string[]
  /** RFC 8707 resources its access tokens are for; null = the issuer. */
  audience: string[] | null
  /** When the person signed in for the authorization (OIDC `auth_time`). */
  authTime: number
  state: 'active' | 'ended'
  endReason: string | null
  /** Nothing issued under the grant lives past this (the consent's expiry). */
  expiresAt: number
  createdAt: number
  endedAt: number | null
}

/** An authorization code (RFC 6749 §4.1.2) and everything it is bound to; stored by digest. */
export interface AuthorizationCode {
  /** `cod_…`: names the code in audit events; never the code itself. */
  id: string
  agentId: string
  /** The redirect URI the code was sent to, and whether the request named it (RFC 6749 §4.1.3). */
  redirectUri: string
  redirectUriSent: boolean
  /** RFC 7636 S256 challenge; null only for a code issued without PKCE (never, today). */
  codeChallenge: string | null
  nonce: string | null
  scope: string[]
  audience: string[] | null
  userId: string
  consentId: string
  authTime: number
  createdAt: number
  expiresAt: number
  consumedAt: number | null
  /** The grant its redemption created; set when it was consumed. */
  grantId: string | null
}

export type Redemption =
  | { status: 'redeemed'; code: AuthorizationCode; grant: PersonGrant }
  /** Consumed before (or void): `code.grantId` names what its first redemption created, if anything. */
  | { status: 'replayed'; code: AuthorizationCode }
  | { status: 'expired' | 'unknown' }

export type GrantRefreshOutcome =
  /** The presented token was current: it is now rotated and the successor is current. */
  | { status: 'rotated'; grant: PersonGrant }
  /** Rotated moments ago and its successor is still current: a retry, answered with the same successor. */
  | { status: 'replayed'; grant: PersonGrant }
  /** Rotated earlier: a copy is in someone else's hands. */
  | { status: 'reused'; grant: PersonGrant }
  /** The grant has ended or expired: nothing was rotated. */
  | { status: 'inactive'; grant: PersonGrant }
  | { status: 'unknown' }

export interface GrantEnd {
  now: number
  reason: string
  /** Until when the end matters to resource servers: the latest expiry of a token it revokes. */
  revokeUntil: number
}

export interface AuthorizationRepo {
  createCode(code: AuthorizationCode, digest: string): Promise<void>
  findCode(digest: string): Promise<AuthorizationCode | undefined>
  /**
   * Consumes an unexpired code exactly once (`UPDATE … WHERE consumed_at IS NULL`) and stores the
   * grant it yields, with its first refresh token when given, in one transaction. Of concurrent
   * redemptions one wins; the others see `replayed`.
   */
  redeemCode(digest: string, now: number, grant: PersonGrant, refreshDigest: string | null): Promise<Redemption>
  /** Consumes every unredeemed code given under a consent (it was withdrawn); returns how many. */
  voidCodesForConsent(consentId: string, now: number): Promise<number>
  /** Stores a grant (and its first refresh token, when given) atomically. */
  createGrant(grant: PersonGrant, refreshDigest: string | null): Promise<void>
  /** Adds a first refresh token to an active grant; false when the grant is not active. */
  addRefreshToken(grantId: string, digest: string, now: number): Promise<boolean>
  getGrant(id: string): Promise<PersonGrant | undefined>
  /**
   * Ends an active grant, drops its refresh tokens and publishes it on the revocation feed (as a
   * `session` entry: its tokens carry its id as `sid`), in one transaction. Undefined when it was
   * not active (someone ended it first).
   */
  endGrant(id: string, end: GrantEnd): Promise<PersonGrant | undefined>
  listActiveForConsent(consentId: string, limit: number): Promise<PersonGrant[]>
  /**
   * Ends every active grant of a person (they were suspended) as `endGrant` ends one, all in one
   * transaction; each is published until the earlier of its own expiry and `end.revokeUntil`.
   * Their unredeemed codes are consumed in the same transaction, so none yields a grant later.
   * Returns the grants this call ended (none when called again).
   */
  endGrantsForUser(userId: string, end: GrantEnd): Promise<PersonGrant[]>
  /** Like SessionRepo.rotateRefreshToken, for people's grants: of concurrent uses exactly one rotates. */
  rotateRefreshToken(rotation: { digest: string; successorDigest: string; agentId: string; now: number; graceMs: number }): Promise<GrantRefreshOutcome>
  /** The grant a refresh token belongs to, and whether the token is still current. */
  findByRefreshToken(digest: string): Promise<{ grant: PersonGrant; current: boolean } | undefined>
  /** Deletes codes that expired before `before`; returns how many. */
  purgeCodes(before: number): Promise<number>
}
