const MAX_REDIRECT_URI = 2000
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'about:', 'blob:'])
/** RFC 8252 §7.3: loopback IP literals, whose port the client picks at run time. */
const LOOPBACK_IPS = new Set(['127.0.0.1', '[::1]'])

/**
 * Why a redirect URI may not be registered, or undefined when it may. RFC 6749 §3.1.2: absolute,
 * no fragment. OAuth 2.1 / RFC 8252: https; plain http only for loopback (§7.3); or a
 * private-use scheme of reverse-domain form for native apps (§7.1). `http://localhost` is
 * accepted as RFC 8252 §8.3 describes it (it works like a loopback redirect, NOT RECOMMENDED),
 * but it is matched exactly, port included: only IP literals get the any-port rule, since the
 * name may resolve to an interface other than loopback.
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
  if (url.protocol === 'https:' || url.protocol === 'http:') {
    const problem = webHostProblem(uri, url.hostname)
    if (problem !== undefined) return problem
  }
  if (url.protocol === 'https:') return undefined
  if (url.protocol === 'http:') return LOOPBACK_IPS.has(url.hostname) || url.hostname === 'localhost' ? undefined : 'may use plain http only for a loopback host'
  // RFC 8252 §7.1: private-use schemes are reverse domain names, e.g. com.example.app:/cb
  return /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+:$/.test(url.protocol) ? undefined : `uses the scheme ${url.protocol} which is neither https nor a reverse-domain private-use scheme`
}

/**
 * RFC 3986 §3.2 / RFC 9110 §4.2.1-4.2.2: an http(s) URI names a non-empty host right after "//".
 * The URL parser is lenient ("https:///cb" and "https:cb" both become host "cb"; a backslash counts
 * as "/"), so the text is checked, not the parse. A wildcard is no host: redirect URIs match exactly.
 */
function webHostProblem(uri: string, hostname: string): string | undefined {
  if (!/^https?:\/\/[^/?#\\]/i.test(uri) || uri.includes('\\') || hostname === '') return 'must name a host right after the scheme (https://host/path)'
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9-]+(\.[a-z0-9-]+)*)$/.test(hostname)) return 'must name a host of letters, digits, hyphens and dots (no wildcards)'
  return undefined
}

/**
 * The registered redirect URI a request's `redirect_uri` names, or undefined when it names none.
 * OAuth 2.1 §2.3.1 / RFC 9700 §4.1.3: simple string comparison, so paths, hosts, case and
 * trailing slashes must match exactly; the one exception is RFC 8252 §7.3, where an http
 * redirect to a loopback IP literal may use any port.
 */
export function matchRedirectUri(registered: readonly string[], presented: string): string | undefined {
  if (presented.length > MAX_REDIRECT_URI) return undefined
  if (registered.includes(presented)) return presented
  const withoutPort = loopbackWithoutPort(presented)
  if (withoutPort === undefined) return undefined
  return registered.some((r) => loopbackWithoutPort(r) === withoutPort) ? presented : undefined
}

/**
 * For `http://127.0.0.1[:port]/…` or `http://[::1][:port]/…` given exactly as a client would
 * write it, the same text without the port; undefined for anything else. The text itself is
 * compared (not the parsed URL), so no normalisation can make two different strings equal.
 */
function loopbackWithoutPort(uri: string): string | undefined {
  const m = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?([/?].*)?$/.exec(uri)
  if (!m) return undefined
  if (m[2] !== undefined && (Number(m[2]) > 65535 || m[2].startsWith('0'))) return undefined
  if (/[\x00-\x20\x7f#]/.test(uri)) return undefined
  return `http://${m[1]}${m[3] ?? ''}`
}

/**
 * RFC 6749 §4.1.2 / §4.1.2.1 / RFC 9207 §2: the redirect URI with response parameters added to
 * its query. Appended to the text as registered, so its own query is kept as it was (§3.1.2).
 */
export function withResponseParams(redirectUri: string, params: Record<string, string | undefined>): string {
  const added = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined) added.append(k, v)
  const query = added.toString()
  if (query === '') return redirectUri
  return redirectUri + (redirectUri.includes('?') ? (redirectUri.endsWith('?') || redirectUri.endsWith('&') ? '' : '&') : '?') + query
}
