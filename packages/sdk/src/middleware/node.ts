import type { AccessTokenClaims } from '../verifier/claims.js'
import type { Verifier, VerifyOptions } from '../verifier/verifier.js'
import { refusal, type RequestLike } from './respond.js'

/** A Node http ServerResponse, structurally (no node: import). Express responses fit too. */
export interface ResponseLike {
  statusCode: number
  setHeader(name: string, value: string): unknown
  end(body: string): unknown
}

export type Authenticated<Req> = Req & { auth: AccessTokenClaims }

/** Writes a refusal to a Node-style response. */
export function sendRefusal(res: ResponseLike, err: unknown): void {
  const r = refusal(err)
  res.statusCode = r.status
  for (const [name, value] of Object.entries(r.headers)) res.setHeader(name, value)
  res.end(r.body)
}

/**
 * Wraps a Node `http` (req, res) handler: the handler runs only for a verified token, with the
 * claims on `req.auth`; anything else is answered 400/401/403/503 with WWW-Authenticate and JSON.
 */
export function withBearerAuth<Req extends RequestLike, Res extends ResponseLike>(
  verifier: Verifier,
  handler: (req: Authenticated<Req>, res: Res) => unknown,
  options?: VerifyOptions,
): (req: Req, res: Res) => Promise<void> {
  return async (req, res) => {
    let claims: AccessTokenClaims
    try {
      claims = await verifier.authenticate(req.headers.authorization, options)
    } catch (err) {
      return sendRefusal(res, err)
    }
    const authed = req as Authenticated<Req>
    authed.auth = claims
    await handler(authed, res)
  }
}
