import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * Every page: no script at all, styles only from this server's stylesheet, forms only to this
 * server, never framed (clickjacking: OWASP Clickjacking Defense Cheat Sheet), no <base>.
 */
export const PAGE_CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/** onSend hook for the HTML pages (sign-in, account). */
export async function pageHeaders(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('content-security-policy', PAGE_CSP)
  // For browsers that predate frame-ancestors (RFC 7034).
  reply.header('x-frame-options', 'DENY')
  reply.header('referrer-policy', 'no-referrer')
  // Pages show who is signed in and carry form tokens: never stored by a browser or a proxy.
  reply.header('cache-control', 'no-store')
  reply.header('cross-origin-opener-policy', 'same-origin')
  reply.header('cross-origin-resource-policy', 'same-origin')
}
