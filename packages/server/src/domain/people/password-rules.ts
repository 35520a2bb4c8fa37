import { randomBytes } from 'node:crypto'
import { ValidationFailed } from '../errors.js'
import { characterCount, isStorableText } from '../text.js'

/** NIST SP 800-63B §5.1.1.2: at least 8 characters; at least 64 allowed (we allow 256). */
export const MIN_PASSWORD = 8
export const MAX_PASSWORD = 256

// Controls cannot be typed into a password field; spaces and every printable character can.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/**
 * The form a password is hashed and verified in. NIST SP 800-63B §5.1.1.2: Unicode is
 * normalised (NFKC) first, so the same password typed on two keyboards matches.
 */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC')
}

/** A new password, normalised: 8 to 256 characters, any printable ones (spaces and emoji too). */
export function parsePassword(v: unknown): string {
  if (typeof v !== 'string' || !isStorableText(v) || CONTROL.test(v)) {
    throw new ValidationFailed('password', `password must be a string of ${MIN_PASSWORD} to ${MAX_PASSWORD} printable characters`)
  }
  const normalised = normalisePassword(v)
  const length = characterCount(normalised)
  if (length < MIN_PASSWORD || length > MAX_PASSWORD) {
    throw new ValidationFailed('password', `password must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters long (it has ${length})`)
  }
  return normalised
}

/** Whether a sign-in attempt's password could be a password at all (else it is wrong without hashing a novel). */
export function plausiblePassword(password: string): boolean {
  return characterCount(password) <= MAX_PASSWORD
}

/** A password for a person created without one: 144 random bits, 24 characters of base64url. */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url')
}
