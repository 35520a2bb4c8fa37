import { createHash, randomBytes } from 'node:crypto'
export { digestsEqual } from '../domain/secret-compare.js'

/** A high-entropy bearer secret: 256 random bits, base64url, with a prefix that says what it is. */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`
}

/** A short random identifier (not a secret): 128 bits. */
export function newId(prefix: string): string {
  return `${prefix}${randomBytes(16).toString('base64url')}`
}

/**
 * How secrets are stored: SHA-256, base64url. The secrets are 256-bit random values, so a
 * fast digest is enough (no dictionary to attack) and keeps client authentication cheap.
 */
export function digestSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url')
}

/**
 * A random identifier whose text sorts by creation time (to the millisecond), so lists can page
 * by id in creation order: base36 ms, zero-padded to 9 characters (good until the year 5138),
 * then 96 random bits.
 */
export function newSortableId(prefix: string, now: number): string {
  return `${prefix}${now.toString(36).padStart(9, '0')}${randomBytes(12).toString('base64url')}`
}
