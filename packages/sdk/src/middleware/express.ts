import type { Verifier, VerifyOptions } from '../verifier/verifier.js'
import { sendRefusal, type ResponseLike } from './node.js'
import type { RequestLike } from './respond.js'

/**
 * Express (or Connect) middleware: `app.use(bearerAuth(verifier))`. Verified claims go on
 * `req.auth`; refusals are answered here and `next` is not called.
 */
export function expressBearerAuth(verifier: Verifier, options?: VerifyOptions) {
  return (req: RequestLike, res: ResponseLike, next: (err?: unknown) => void): void => {
    verifier.authenticate(req.headers.authorization, options).then(
      (claims) => {
        ;(req as RequestLike & { auth?: unknown }).auth = claims
        next()
      },
      (err: unknown) => sendRefusal(res, err),
    )
  }
}
