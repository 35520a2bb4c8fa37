import { isStorableText } from '../../domain/text.js'
import { InvalidClient, InvalidRequest } from '../errors.js'

export type PresentedMethod = 'client_secret_basic' | 'client_secret_post' | 'none'

/** Client credentials as presented on a request, before they are checked. */
export interface PresentedCredentials {
  method: PresentedMethod
  clientId: string
  /** Empty for `none`: a public client only names itself (RFC 6749 §2.1). */
  clientSecret: string
}

/**
 * Reads the one client authentication method a request uses (RFC 6749 §2.3: a client MUST NOT
 * use more than one). Undefined when the request carries no client credentials at all.
 */
export function presentedCredentials(authorization: string | undefined, params: ReadonlyMap<string, string>): PresentedCredentials | undefined {
  const bodySecret = params.get('client_secret')
  const bodyId = params.get('client_id')
  if (authorization !== undefined) {
    const basic = parseBasic(authorization)
    if (bodySecret !== undefined) throw new InvalidRequest('use one client authentication method, not both Basic and client_secret')
    if (bodyId !== undefined && bodyId !== basic.clientId) throw new InvalidRequest('client_id in the body does not match the Authorization header')
    return { method: 'client_secret_basic', ...basic }
  }
  if (bodySecret !== undefined) {
    if (bodyId === undefined) throw new InvalidRequest('client_secret was sent without client_id')
    return { method: 'client_secret_post', clientId: bodyId, clientSecret: bodySecret }
  }
  // RFC 6749 §3.2.1 / RFC 7591 §2 `none`: a public client sends its client_id and nothing else.
  if (bodyId !== undefined) return { method: 'none', clientId: bodyId, clientSecret: '' }
  return undefined
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * RFC 6749 §2.3.1 / RFC 7617: Basic base64(urlencode(client_id) ":" urlencode(client_secret)).
 * The id cannot contain ":" once encoded, so the first ":" separates; the secret may hold more.
 */
function parseBasic(header: string): { clientId: string; clientSecret: string } {
  const bad = (detail: string) => new InvalidClient('malformed Basic authorization header', detail)
  const match = /^Basic +(\S+) *$/i.exec(header)
  if (!match) throw new InvalidClient('unsupported authorization scheme; use Basic client authentication')
  const encoded = match[1]!
  if (encoded.length > 4096 || encoded.length % 4 !== 0 || !BASE64.test(encoded)) throw bad('not base64')
  let decoded: string
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded, 'base64'))
  } catch {
    throw bad('not UTF-8')
  }
  const colon = decoded.indexOf(':')
  if (colon < 0) throw bad('no ":" separator')
  try {
    const clientId = formDecode(decoded.slice(0, colon))
    const clientSecret = formDecode(decoded.slice(colon + 1))
    if (clientId === '' || clientSecret === '') throw bad('empty client id or secret')
    return { clientId, clientSecret }
  } catch (err) {
    if (err instanceof InvalidClient) throw err
    throw bad('bad percent-encoding')
  }
}

/** application/x-www-form-urlencoded decoding of one component. */
function formDecode(s: string): string {
  const decoded = decodeURIComponent(s.replace(/\+/g, ' '))
  if (!isStorableText(decoded)) throw new Error('U+0000 in a credential')
  return decoded
}
