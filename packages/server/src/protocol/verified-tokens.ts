/**
 * Access tokens already verified by this node, kept until they expire, so that a resource server
 * introspecting the same token on every call costs one signature check, not one per call
 * (RFC 7662 §4 expects introspection results to be cached; here the server does it for them).
 *
 * Keyed by the exact token text, so only a token this node has verified can hit. A hit still
 * requires the token unexpired and its signing key still published: a withdrawn key's tokens stop
 * verifying at once. Revocation and the agent's status are checked by the caller on every call.
 */
export class VerifiedTokens<C extends { exp: number }> {
  private readonly entries = new Map<string, { claims: C; kid: string }>()

  constructor(private readonly maxEntries = 10_000) {}

  get(token: string, now: number, keyPublished: (kid: string) => boolean): C | undefined {
    const hit = this.entries.get(token)
    if (hit === undefined) return undefined
    // As jose judges expiry: expired once exp is at or before the current whole second.
    if (hit.claims.exp <= Math.floor(now / 1000) || !keyPublished(hit.kid)) {
      this.entries.delete(token)
      return undefined
    }
    return hit.claims
  }

  set(token: string, kid: string, claims: C): void {
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(token, { claims: Object.freeze(claims), kid })
  }
}
