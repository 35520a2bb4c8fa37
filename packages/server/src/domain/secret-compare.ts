import { timingSafeEqual } from 'node:crypto'

/** Compares two secret digests without leaking where they differ. */
export function digestsEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8')
  const bb = Buffer.from(b, 'utf8')
  return ab.length === bb.length && timingSafeEqual(ab, bb)
}
