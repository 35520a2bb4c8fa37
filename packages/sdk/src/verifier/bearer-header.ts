/** RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

export type BearerExtraction = { token: string } | { missing: true } | { malformed: string }

/**
 * Reads the token from an Authorization header value (RFC 6750 §2.1). No header, or another
 * scheme, is "missing" (a bare challenge, §3.1); a Bearer header without a proper token is malformed.
 */
export function extractBearer(header: string | readonly string[] | undefined | null): BearerExtraction {
  if (header === undefined || header === null) return { missing: true }
  if (typeof header !== 'string') {
    if (header.length > 1) return { malformed: 'more than one Authorization header' }
    return extractBearer(header[0])
  }
  const value = header.trim()
  const space = value.indexOf(' ')
  const scheme = space === -1 ? value : value.slice(0, space)
  // RFC 9110 §11.1: the scheme is case-insensitive.
  if (scheme.toLowerCase() !== 'bearer') return { missing: true }
  const token = space === -1 ? '' : value.slice(space + 1).trim()
  if (token === '') return { malformed: 'the Bearer credentials are empty' }
  if (!B64TOKEN.test(token)) return { malformed: 'the Bearer credentials are not a b64token' }
  return { token }
}
