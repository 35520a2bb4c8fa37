import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { DomainError } from '../domain/errors.js'
import { AuditLogClosed } from '../domain/audit/audit-log.js'
import { oauthErrorFor } from '../protocol/domain-errors.js'
import { Conflict, CredentialsMissing, OAuthError, TooManyRequests } from '../protocol/errors.js'
import { StorageUnavailable } from '../ports/storage-errors.js'

const REALM = 'mandate'

/** The one place errors become HTTP: RFC 6749 §5.2 JSON bodies and RFC 6750 §3 challenges. */
export function sendError(reply: FastifyReply, err: unknown, request: FastifyRequest): FastifyReply {
  const oauth = toOAuthError(err)
  // Counted by the request metrics once the answer is sent.
  request.errorCode = oauth.code
  // The request logger already carries reqId. Details never include URLs or bodies, which may hold secrets.
  if (oauth.status >= 500 && oauth.status !== 503) request.log.error({ err }, 'request failed')
  else if (oauth.status === 503) request.log.warn({ detail: oauth.detail }, 'service unavailable')
  else if (oauth.detail) request.log.info({ code: oauth.code, detail: oauth.detail }, 'request refused')
  // Set here too: errors raised before routing (malformed URLs) skip the onRequest hook.
  reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff')
  reply.code(oauth.status).header('cache-control', 'no-store').header('pragma', 'no-cache')
  if (oauth.status === 503) reply.header('retry-after', '1')
  else if ((oauth instanceof Conflict || oauth instanceof TooManyRequests) && oauth.retryAfterSeconds !== undefined) reply.header('retry-after', String(oauth.retryAfterSeconds))
  if (oauth.challenge === 'Basic') reply.header('www-authenticate', `Basic realm="${REALM}"`)
  if (oauth instanceof CredentialsMissing) reply.header('www-authenticate', `Bearer realm="${REALM}"`)
  else if (oauth.challenge === 'Bearer') {
    reply.header('www-authenticate', `Bearer realm="${REALM}", error="${oauth.code}", error_description="${headerSafe(oauth.description)}"`)
  }
  return reply.send({ error: oauth.code, error_description: oauth.description })
}

const FRAMEWORK_DESCRIPTIONS: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'the request body is too large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'the Content-Length does not match the body',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'the Content-Type header is malformed',
  FST_ERR_BAD_URL: 'the URL has malformed percent-encoding',
  FST_ERR_MAX_PARAM_LENGTH: 'a path segment is too long',
}

/** The wire error for anything thrown; the HTML pages render the same error as a page. */
export function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err
  if (err instanceof DomainError) return oauthErrorFor(err)
  if (err instanceof AuditLogClosed) return new OAuthError('temporarily_unavailable', 'the server is shutting down', 503)
  if (err instanceof StorageUnavailable) return new OAuthError('temporarily_unavailable', 'the database is unavailable; retry shortly', 503, err.message)
  const fe = err as Partial<FastifyError> | null
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const description = FRAMEWORK_DESCRIPTIONS[fe.code ?? ''] ?? 'the request is malformed'
    // fe.message can quote the request URL (query string included): log only the code.
    return new OAuthError('invalid_request', description, fe.statusCode, fe.code)
  }
  return new OAuthError('server_error', 'internal error', 500)
}

/** RFC 6750 §3: error_description may only hold %x20-21 / %x23-5B / %x5D-7E. */
function headerSafe(s: string): string {
  return s.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?')
}

/**
 * For requests Node's HTTP parser refuses before any route sees them (malformed HTTP, headers
 * over the size limit, timeouts): the same JSON error shape, then the connection is closed.
 */
export function sendClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, description] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'the request headers are too large']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'the request was not received in time']
    : [400, 'the request is not valid HTTP']
  const body = JSON.stringify({ error: 'invalid_request', error_description: description })
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n${body}`)
  }
  socket.destroy(err)
}
