const MAX_REDIRECT_URI = 2000
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'about:', 'blob:'])
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

/**
 * Why a redirect URI may not be registered, or undefined when it may. RFC 6749 §3.1.2: absolute,
 * no fragment. OAuth 2.1 / RFC 8252: https, plain http only for loopback (§7.3), or a
 * private-use scheme of reverse-domain form (§7.1).
 */
export function redirectUriProblem(uri: string): string | undefined {
  if (uri.length > MAX_REDIRECT_URI) return 'is too long'
  if (uri.includes('#')) return 'must not contain a fragment'
  // RFC 3986 §2: no spaces or control characters. The URL parser would silently strip or
  // re-encode them, so the string checked here would differ from the one stored and compared.
  if (/[\x00-\x20\x7f]/.test(uri)) return 'must not contain spaces or control characters'
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return 'is not an absolute URI'
  }
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `uses the forbidden scheme ${url.protocol}`
  if (url.username || url.password) return 'must not contain credentials'
  if (url.protocol === 'https:') return undefined
  if (url.protocol === 'http:') return LOOPBACK_HOSTS.has(url.hostname) ? undefined : 'may use plain http only for a loopback host'
  // RFC 8252 §7.1: private-use schemes are reverse domain names, e.g. com.example.app:/cb
  return /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/.test(url.protocol) ? undefined : `uses the scheme ${url.protocol} which is neither https nor a reverse-domain private-use scheme`
}
