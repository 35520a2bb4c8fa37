/** Access tokens revoked before their expiry, remembered until they would have expired. */
export interface RevokedToken {
  jti: string
  clientId: string
  /** ms epoch at which the token would have expired anyway. */
  expiresAt: number
  revokedAt: number
}

export interface RevocationRepo {
  /** Idempotent: revoking a revoked token changes nothing. */
  revoke(token: RevokedToken): Promise<void>
  isRevoked(jti: string): Promise<boolean>
  /** Revocations that still matter at `now`, for warming an in-memory set. */
  listLive(now: number): Promise<RevokedToken[]>
  /** Forgets revocations of tokens that have expired anyway. */
  purgeExpired(now: number): Promise<number>
}
