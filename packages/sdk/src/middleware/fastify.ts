import type { Verifier, VerifyOptions } from '../verifier/verifier.js'
import { refusal, type RequestLike } from './respond.js'

/** A Fastify reply, structurally (no fastify import). */
export interface ReplyLike {
  code(status: number): unknown
  header(name: string, value: string): unknown
  send(body: string): unknown
}

/**
 * A Fastify `onRequest` or `preHandler` hook: `app.addHook('onRequest', fastifyBearerAuth(verifier))`.
 * Verified claims go on `request.auth` (declare it with `app.decorateRequest('auth', null)`);
 * refusals are sent from the hook, which ends the request there.
 */
export function fastifyBearerAuth(verifier: Verifier, options?: VerifyOptions) {
  return async (request: RequestLike, reply: ReplyLike): Promise<unknown> => {
    try {
      ;(request as RequestLike & { auth?: unknown }).auth = await verifier.authenticate(request.headers.authorization, options)
      return undefined
    } catch (err) {
      const r = refusal(err)
      reply.code(r.status)
      for (const [name, value] of Object.entries(r.headers)) reply.header(name, value)
      // An async hook that has replied returns the reply, so Fastify stops the request there.
      return reply.send(r.body)
    }
  }
}
