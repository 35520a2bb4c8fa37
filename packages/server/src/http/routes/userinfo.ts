import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CredentialsMissing, OAuthError } from '../../protocol/errors.js'
import type { PersonClaims } from '../../protocol/oidc/claims.js'
import { BearerRequestInvalid } from '../../protocol/userinfo.js'
import { FormBody, MalformedForm, parseForm } from '../bodies.js'
import { bearerToken, readForm } from '../request-readers.js'
import type { HttpServices } from '../services.js'

/** OpenID Connect Core 1.0 §5.3.1: GET and POST both, with a Bearer access token. */
export function userInfoRoutes(app: FastifyInstance, s: HttpServices): void {
  const answer = async (request: FastifyRequest, reply: FastifyReply) => {
    let claims: PersonClaims
    try {
      claims = await s.userInfo(presentedToken(request))
    } catch (err) {
      await auditRefusal(s, request, err)
      throw err
    }
    // §5.3.2: a JSON object; it describes a person, so no cache keeps it.
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').type('application/json; charset=utf-8').send(claims)
  }
  app.get('/userinfo', answer)
  app.post('/userinfo', answer)
}

/** Every refusal is audited, as at the other endpoints; answers (reads) are not. */
async function auditRefusal(s: HttpServices, request: FastifyRequest, err: unknown): Promise<void> {
  if (!(err instanceof OAuthError)) return
  await s.audit.record({
    actorType: 'anonymous', actorId: null, action: 'userinfo.refused', outcome: 'failure', reason: `${err.code}: ${err.description}`,
    ip: request.ip, requestId: request.id, details: { method: request.method, ...(err.detail ? { detail: err.detail } : {}) },
  })
}

/**
 * The access token, from the Authorization header (RFC 6750 §2.1) or, on POST, a form body's
 * `access_token` (§2.2). Never from the query (§2.3 is what OAuth 2.1 §5.2 drops: URLs are logged).
 */
function presentedToken(request: FastifyRequest): string {
  if (queryHasToken(request.url)) throw new BearerRequestInvalid('send the access token in the Authorization header, not in the URL')
  const header = request.headers.authorization
  const fromHeader = header === undefined ? undefined : headerToken(header, request)
  const fromBody = request.method === 'POST' ? bodyToken(request) : undefined
  // RFC 6750 §2: one method per request; two are ambiguous even when they agree.
  if (fromHeader !== undefined && fromBody !== undefined) throw new BearerRequestInvalid('send the access token once: in the Authorization header or in the form body, not both')
  const token = fromHeader ?? fromBody
  // §3.1: a request without any credential gets a bare challenge, no error code.
  if (token === undefined) throw new CredentialsMissing('a Bearer access token is required')
  return token
}

function headerToken(header: string, request: FastifyRequest): string {
  // Another scheme (Basic, say) is no bearer credential at all.
  if (!/^bearer(\s|$)/i.test(header)) throw new CredentialsMissing('userinfo takes a Bearer access token (RFC 6750)')
  const token = bearerToken(request)
  if (token === undefined) throw new BearerRequestInvalid('the Authorization header is not "Bearer <token>" with a token of RFC 6750 §2.1 characters')
  return token
}

function bodyToken(request: FastifyRequest): string | undefined {
  // §2.2 applies only to form bodies; any other body carries no token.
  if (!(request.body instanceof FormBody) && !(request.body instanceof MalformedForm)) return undefined
  return readForm(request).params.get('access_token')
}

function queryHasToken(url: string): boolean {
  const q = url.indexOf('?')
  if (q < 0) return false
  try {
    return parseForm(url.slice(q + 1)).has('access_token')
  } catch {
    throw new BearerRequestInvalid('the query string has malformed percent-encoding or invalid UTF-8')
  }
}
