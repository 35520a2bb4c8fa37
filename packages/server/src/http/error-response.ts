import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { DomainError } from '../domain/errors.js'
import { AuditLogClosed } from '../domain/audit/audit-log.js'
import { oauthErrorFor } from '../protocol/domain-errors.js'
import { OAuthError } from '../protocol/errors.js'

const REALM = 'mandate'

/** The one place errors become HTTP: RFC 6749 §5.2 JSON bodies and RFC 6750 §3 challenges. */
export function sendError(reply: FastifyReply, err: unknown, request: FastifyRequest): FastifyReply {
  const oauth = toOAuthError(err)
  if (oauth.status >= 500) request.log.error({ err, reqId: request.id }, 'request failed')
  else if (oauth.detail) request.log.info({ reqId: request.id, code: oauth.code, detail: oauth.detail }, 'request refused')
  reply.code(oauth.status).header('cache-control', 'no-store').header('pragma', 'no-cache')
  if (oauth.challenge === 'Basic') reply.header('www-authenticate', `Basic realm="${REALM}"`)
  if (oauth.challenge === 'Bearer') {
    reply.header('www-authenticate', `Bearer realm="${REALM}", error="${oauth.code}", error_description="${headerSafe(oauth.description)}"`)
  }
  return reply.send({ error: oauth.code, error_description: oauth.description })
}

function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err
  if (err instanceof DomainError) return oauthErrorFor(err)
  if (err instanceof AuditLogClosed) return new OAuthError('temporarily_unavailable', 'the server is shutting down', 503)
  const fe = err as Partial<FastifyError> | null
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new OAuthError('invalid_request', 'the request body is too large', 413)
    return new OAuthError('invalid_request', 'the request is malformed', fe.statusCode, fe.message)
  }
  return new OAuthError('server_error', 'internal error', 500)
}

/** RFC 6750 §3: error_description may only hold %x20-21 / %x23-5B / %x5D-7E. */
function headerSafe(s: string): string {
  return s.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?')
}
