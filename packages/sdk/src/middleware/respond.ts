import { VerificationError } from '../verifier/errors.js'

/** The headers a Node-style request has; IncomingMessage, Express and Fastify requests all fit. */
export interface RequestLike {
  headers: { authorization?: string | readonly string[] | undefined }
}

/** What a refused request is answered with. */
export interface Refusal {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * RFC 6750 §3: the status and WWW-Authenticate of the refusal, with a JSON error body. Anything
 * that is not a verification error is a bug on our side: a 500 without details.
 */
export function refusal(err: unknown): Refusal {
  const json = { 'content-type': 'application/json', 'cache-control': 'no-store' }
  if (err instanceof VerificationError) return { status: err.status, headers: { ...json, ...err.headers() }, body: JSON.stringify(err.body()) }
  return { status: 500, headers: json, body: JSON.stringify({ error: 'server_error', error_description: 'the token could not be verified' }) }
}
