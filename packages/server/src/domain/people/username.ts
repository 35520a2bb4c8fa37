import { ValidationFailed } from '../errors.js'
import { characterCount, isPrintableLine } from '../text.js'

/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so an email address used as a username fits. */
export const MAX_USERNAME = 254

// RFC 8265 §3.3 (PRECIS UsernameCaseMapped) forbids spaces; we also refuse every Unicode space separator.
const SPACE = /[\s\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000\ufeff]/

export interface Username {
  /** As given, NFKC-normalised and trimmed: what people and operators see. */
  display: string
  /** What usernames are compared by: NFKC, lower case, NFKC again (lower-casing can denormalise). */
  key: string
}

/** The comparison key of a username, or undefined when it could not be one (too long, spaces, controls). */
export function usernameKey(raw: string): string | undefined {
  const display = raw.normalize('NFKC').trim()
  if (display === '' || characterCount(display) > MAX_USERNAME || SPACE.test(display) || !isPrintableLine(display)) return undefined
  return display.toLowerCase().normalize('NFKC')
}

/** A username for a new person: 1 to 254 printable characters without spaces, e.g. `alice` or `alice@example.com`. */
export function parseUsername(v: unknown): Username {
  const key = typeof v === 'string' ? usernameKey(v) : undefined
  if (typeof v !== 'string' || key === undefined) {
    throw new ValidationFailed('username', `username is required: 1 to ${MAX_USERNAME} printable characters without spaces or line breaks`)
  }
  return { display: v.normalize('NFKC').trim(), key }
}
