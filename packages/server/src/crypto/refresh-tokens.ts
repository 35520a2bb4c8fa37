import { createHmac, hkdfSync } from 'node:crypto'
import { digestSecret, newSecret } from './secrets.js'

const PREFIX = 'mdr_'

/** How refresh tokens are minted, chained and stored. */
export interface RefreshTokenMint {
  /** A new random refresh token (the first of a session). */
  issue(): string
  /**
   * The token that replaces `token` when it is rotated. It is derived, not random, so that a
   * retry of a rotation whose response was lost can be answered with the same successor
   * although only digests are stored.
   */
  successor(token: string): string
  digest(token: string): string
  /** Whether a presented token is shaped like one of ours (cheap, before any lookup). */
  looksLike(token: string): boolean
}

/**
 * Successors are HMAC-SHA256(key, token), the key derived (HKDF, RFC 5869) from the key-encryption
 * key, so every node that shares MANDATE_MASTER_KEY derives the same chain. Knowing a successor
 * requires holding its parent, which already grants the session: nothing new is exposed.
 * `prefix` tells kinds apart before any lookup (agent sessions `mdr_`, people's grants `mdg_`).
 */
export function refreshTokenMint(kek: Uint8Array, prefix = PREFIX): RefreshTokenMint {
  const key = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'mandate refresh-token successor v1', 32))
  return {
    issue: () => newSecret(prefix),
    successor: (token) => prefix + createHmac('sha256', key).update(token, 'utf8').digest('base64url'),
    digest: digestSecret,
    looksLike: (token) => token.startsWith(prefix) && token.length === prefix.length + 43,
  }
}
