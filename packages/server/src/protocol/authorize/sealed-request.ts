import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { InvalidRequest } from '../errors.js'
import type { AuthorizeRequest } from './request-steps.js'

/** How long the consent page's form stays usable. */
export const SEAL_TTL_MS = 10 * 60_000
const MAX_SEALED = 12_000

/** What the consent form carries back: the checked request, for whom, and the words they were shown. */
export interface SealedRequest {
  /** This form's own id: its answer is recorded under it, so the form is answered at most once. */
  formId: string
  clientId: string
  redirectUri: string
  redirectUriSent: boolean
  state: string | undefined
  scope: string[]
  audience: string[] | null
  codeChallenge: string
  nonce: string | undefined
  userId: string
  /** The person's sign-in session: a form from another session (or person) is refused. */
  sessionId: string
  authTime: number
  textDigest: string
  expiresAt: number
}

/**
 * The consent form keeps the checked request in a hidden field, MACed (HMAC-SHA256 under a key
 * derived from the key-encryption key) and expiring, rather than in a table: any node that
 * shares the master key can take the answer, and a request nobody answers leaves nothing behind
 * to clean up (unauthenticated callers can open /authorize as often as they like). The MAC makes
 * it tamper-proof; it names the person's session, and the form is CSRF-protected besides.
 */
export function requestSeal(kek: Uint8Array) {
  // Its own key (HKDF, RFC 5869), so no other MAC made under the master key can pass for a seal.
  const key = Buffer.from(hkdfSync('sha256', kek, Buffer.alloc(0), 'mandate authorization request seal v1', 32))
  const mac = (payload: string) => createHmac('sha256', key).update(payload, 'utf8').digest('base64url')
  return {
    seal(request: AuthorizeRequest, person: { userId: string; sessionId: string; authTime: number }, textDigest: string, now: number): string {
      const body: SealedRequest = {
        formId: randomBytes(16).toString('base64url'),
        clientId: request.agent.id, redirectUri: request.redirectUri, redirectUriSent: request.redirectUriSent, state: request.state,
        scope: request.scope, audience: request.audience, codeChallenge: request.codeChallenge, nonce: request.nonce,
        ...person, textDigest, expiresAt: now + SEAL_TTL_MS,
      }
      const payload = Buffer.from(JSON.stringify(body), 'utf8').toString('base64url')
      return `${payload}.${mac(payload)}`
    },

    /** The sealed request if the MAC holds and it has not expired; otherwise invalid_request. */
    open(sealed: string | undefined, now: number): SealedRequest {
      if (sealed === undefined || sealed.length > MAX_SEALED) throw new InvalidRequest('the consent form is missing its request; start again from the application')
      const dot = sealed.indexOf('.')
      const payload = sealed.slice(0, dot)
      const expected = Buffer.from(mac(payload))
      const given = Buffer.from(sealed.slice(dot + 1))
      if (dot < 0 || expected.length !== given.length || !timingSafeEqual(expected, given)) throw new InvalidRequest('the consent form was altered; start again from the application')
      const body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as SealedRequest
      // A form sealed before forms had ids cannot be made single-use: it counts as expired.
      if (body.expiresAt <= now || typeof body.formId !== 'string') throw new InvalidRequest('the consent form has expired; start again from the application')
      return body
    },
  }
}

export type RequestSeal = ReturnType<typeof requestSeal>
