import type { Consent, ConsentStatus } from '../../ports/consent-repo.js'
import type { Purpose } from '../../ports/role-repo.js'
import { ValidationFailed } from '../errors.js'
import { isScopeToken, MAX_SCOPES } from '../scope-token.js'

/** SHA-256 in base64url without padding: 43 characters. */
const DIGEST = /^[A-Za-z0-9_-]{43}$/

/** What a consent record says about itself at `now`. */
export function consentStatus(c: Pick<Consent, 'withdrawnAt' | 'expiresAt'>, now: number): ConsentStatus {
  if (c.withdrawnAt !== null) return 'withdrawn'
  return c.expiresAt <= now ? 'expired' : 'active'
}

/** Every scope asked for is among those the person consented to. */
export function coversScopes(c: Pick<Consent, 'scopes'>, asked: readonly string[]): boolean {
  const given = new Set(c.scopes)
  return asked.every((s) => given.has(s))
}

/**
 * Every purpose the role declares now was shown to the person in these very words and on this
 * lawful basis (GDPR Art. 6(1)(a): consent is given for specific purposes). A role that adds a
 * purpose, rewords one or changes its basis needs new consent; one that drops a purpose does not.
 */
export function coversPurposes(c: Pick<Consent, 'purposes'>, current: readonly Purpose[]): boolean {
  return current.every((p) => c.purposes.some((q) => q.id === p.id && q.description === p.description && q.lawfulBasis === p.lawfulBasis))
}

/** The scopes of a grant: scope tokens (RFC 6749 §3.3), at least one, duplicates dropped. */
export function grantScopes(scopes: readonly string[]): string[] {
  if (scopes.length === 0 || scopes.length > MAX_SCOPES) throw new ValidationFailed('scopes', `a consent covers 1 to ${MAX_SCOPES} scopes`)
  for (const s of scopes) if (!isScopeToken(s)) throw new ValidationFailed('scopes', 'each scope must be a scope token (RFC 6749 §3.3)')
  return [...new Set(scopes)]
}

export function checkTextDigest(digest: string): string {
  if (!DIGEST.test(digest)) throw new ValidationFailed('text_digest', 'the text digest must be SHA-256 in base64url (43 characters)')
  return digest
}
