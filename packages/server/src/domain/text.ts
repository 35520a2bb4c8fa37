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
