/** Longest continuation path accepted (an /authorize request with its parameters fits). */
const MAX_RETURN_TO = 4096
const BASE = 'http://return-to.invalid'

/**
 * Where to go after signing in: only ever a path on this server (OWASP Unvalidated Redirects
 * and Forwards Cheat Sheet). Refused: anything not starting with a single `/` (so no scheme,
 * `//host` or `/\host`, which browsers read as another host), backslashes, spaces, control and
 * non-ASCII characters (send them percent-encoded), fragments. Returns the normalised path and
 * query, or undefined when `raw` is not one.
 */
export function safeReturnTo(raw: string): string | undefined {
  if (raw.length > MAX_RETURN_TO || !/^\/(?![/\\])[\x21-\x7e]*$/.test(raw) || raw.includes('\\') || raw.includes('#')) return undefined
  let url: URL
  try {
    url = new URL(raw, BASE)
  } catch {
    return undefined
  }
  if (url.origin !== BASE || url.username !== '' || url.password !== '') return undefined
  const path = url.pathname + url.search
  // A dot segment that resolves to "//" would read as a host once more.
  return path.startsWith('//') ? undefined : path
}
