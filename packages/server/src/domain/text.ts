import { ValidationFailed } from './errors.js'

// A lone UTF-16 surrogate cannot be encoded as UTF-8: databases store U+FFFD instead.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Text every store keeps exactly as given: no U+0000 (PostgreSQL text refuses it) and no lone
 * surrogates (UTF-8 cannot hold them). Input that fails this is refused at the edge.
 */
export function isStorableText(s: string): boolean {
  return !s.includes('\u0000') && !LONE_SURROGATE.test(s)
}

/** The storable form of any text: U+0000 and lone surrogates become U+FFFD. */
export function storableText(s: string): string {
  return isStorableText(s) ? s : s.replace(/\u0000/g, '\uFFFD').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD')
}

// C0 and C1 controls, line and paragraph separators, and bidirectional controls: in a log line or
// a console they break lines or reorder what an operator reads, so names and reasons may not hold them.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/

/** Storable text that reads as one line, the same in a log as in a console. */
export function isPrintableLine(s: string): boolean {
  return isStorableText(s) && !UNPRINTABLE.test(s)
}

/** Length as people count it: code points, so an emoji is one character, not two UTF-16 units. */
export function characterCount(s: string): number {
  let n = 0
  for (const _ of s) n++
  return n
}

/** A required one-line text field of 1 to `max` printable characters; returned trimmed. */
export function requiredLine(v: unknown, field: string, max: number): string {
  if (typeof v !== 'string' || v.trim() === '' || characterCount(v) > max || !isPrintableLine(v)) {
    throw new ValidationFailed(field, `${field} is required: 1 to ${max} printable characters on one line`)
  }
  return v.trim()
}
