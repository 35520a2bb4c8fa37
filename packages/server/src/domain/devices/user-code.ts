import { randomInt } from 'node:crypto'

/**
 * RFC 8628 §6.1: twenty consonants (no vowels, so no words; no I, O or U to confuse with 1, 0
 * or V), upper case only, so a person types them without ambiguity on any keyboard.
 */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
/** 20^8 ≈ 2^34.6 codes: guessing one live code takes billions of tries, and tries are throttled (RFC 8628 §5.1). */
export const USER_CODE_LENGTH = 8
/** Longer input is refused before it is normalised: nobody types more than a code and some separators. */
export const MAX_USER_CODE_INPUT = 32

const NORMALISED = new RegExp(`^[${USER_CODE_ALPHABET}]{${USER_CODE_LENGTH}}$`)

/** A fresh user code, normalised (no separator), each character drawn uniformly. */
export function newUserCode(): string {
  let code = ''
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]
  return code
}

/** As it is shown to a person: `BCDF-GHJK` (RFC 8628 §6.1 suggests a dash to aid reading). */
export function formatUserCode(normalised: string): string {
  return `${normalised.slice(0, 4)}-${normalised.slice(4)}`
}

/**
 * What a person typed, as stored: case, dashes and white space do not matter (RFC 8628 §6.1:
 * "the characters should be normalised"). Undefined when it cannot be a user code at all, so no
 * lookup is made for it.
 */
export function normaliseUserCode(typed: string): string | undefined {
  if (typed.length > MAX_USER_CODE_INPUT) return undefined
  const letters = typed.replace(/[\s\-‐‑‒–—]/g, '')
  // ASCII only before upper-casing: 'ſ'.toUpperCase() is 'S', and no typed code needs it.
  if (!/^[A-Za-z]*$/.test(letters)) return undefined
  const code = letters.toUpperCase()
  return NORMALISED.test(code) ? code : undefined
}
