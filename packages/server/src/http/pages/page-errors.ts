import type { FastifyReply, FastifyRequest } from 'fastify'
import { TooManyRequests } from '../../protocol/errors.js'
import { toOAuthError } from '../error-response.js'
import { messagePage } from './views.js'

const TITLES: Record<number, string> = { 400: 'This request could not be used', 403: 'Not allowed', 404: 'Not found', 413: 'Too large', 415: 'Not supported', 429: 'Too many attempts', 503: 'Unavailable' }

/** The pages' error handler: the same mapping as the JSON API (error-response.ts), shown as a page. */
export function sendPageError(issuer: () => string) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const e = toOAuthError(err)
    // Counted by the request metrics, as for JSON errors.
    request.errorCode = e.code
    if (e.status >= 500 && e.status !== 503) request.log.error({ err }, 'request failed')
    else if (e.detail) request.log.info({ code: e.code, detail: e.detail }, 'request refused')
    if (e.status === 503) reply.header('retry-after', '1')
    if (e instanceof TooManyRequests) reply.header('retry-after', String(e.retryAfterSeconds))
    const title = TITLES[e.status] ?? (e.status >= 500 ? 'Something went wrong' : 'This request could not be used')
    const message = e.status >= 500 && e.status !== 503 ? 'The server could not complete this request.' : e.description
    return reply.code(e.status).type('text/html; charset=utf-8').send(messagePage(issuer(), title, message))
  }
}
