/**
 * The value of one cookie, or undefined when it is absent or sent more than once (a second copy
 * is how a sibling host plants a cookie: RFC 6265bis §8.5; neither copy is trusted).
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  let found: string | undefined
  let seen = 0
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue
    seen++
    found = part.slice(eq + 1).trim()
  }
  return seen === 1 ? found : undefined
}

export interface CookieOptions {
  /** Seconds; 0 deletes the cookie; undefined: until the browser closes. */
  maxAge?: number
  secure: boolean
}

/**
 * RFC 6265bis: HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site POSTs),
 * Path=/, and Secure when the issuer is https (the name then carries the __Host- prefix, §4.1.3.2,
 * so no other host or path can set it).
 */
export function setCookieHeader(name: string, value: string, o: CookieOptions): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax']
  if (o.secure) parts.push('Secure')
  if (o.maxAge !== undefined) parts.push(`Max-Age=${o.maxAge}`)
  return parts.join('; ')
}
