import { createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { digestsEqual } from './secrets.js'

/**
 * CSRF tokens for the server's own forms: OWASP CSRF Prevention Cheat Sheet, "signed
 * double-submit cookie". The browser holds a random binding value in an HttpOnly cookie; every
 * form carries HMAC-SHA256(key, binding), the key derived (HKDF, RFC 5869) from the
 * key-encryption key, so every node that shares MANDATE_MASTER_KEY accepts the same tokens and
 * nobody without it can make one for a cookie they planted.
 */
export interface CsrfTokens {
  /** A new browser binding: 256 random bits, base64url. */
  newBinding(): string
  /** Whether a cookie value could be a binding this server made (cheap shape check). */
  looksLikeBinding(value: string): boolean
  tokenFor(binding: string): string
  /** Constant-time comparison of a submitted token with the one for this binding. */
  matches(binding: string, token: string): boolean
}

export function csrfTokens(kek: Uint8Array): CsrfTokens {
  const key = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'mandate csrf token v1', 32))
  const tokenFor = (binding: string) => createHmac('sha256', key).update(binding, 'utf8').digest('base64url')
  return {
    newBinding: () => randomBytes(32).toString('base64url'),
    looksLikeBinding: (value) => /^[A-Za-z0-9_-]{43}$/.test(value),
    tokenFor,
    matches: (binding, token) => token.length <= 64 && digestsEqual(tokenFor(binding), token),
  }
}
