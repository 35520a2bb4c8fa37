import type { FastifyInstance } from 'fastify'
import type { RequestMetrics } from '../ports/metrics.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A response that lasts as long as the client listens (Server-Sent Events): not timed. */
    streaming?: boolean
    /** A health probe: answered even while the server shuts down, so it can say so. */
    probe?: boolean
  }
  interface FastifyRequest {
    /** The OAuth error code this request was answered with, set by the error serialiser. */
    errorCode?: string
  }
}

/**
 * Times every answered request by its route pattern (never the raw URL: ids would explode the
 * label set) and counts error answers by their OAuth error code.
 */
export function recordRequestMetrics(app: FastifyInstance, metrics: RequestMetrics | undefined): void {
  app.decorateRequest('errorCode', undefined)
  // Without a metrics token nothing is recorded, and the token path pays for no hook.
  if (metrics === undefined) return
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions
    // A stream that was answered lasts as long as its reader listens: its duration is no latency.
    if (route.config?.streaming !== true || reply.statusCode !== 200) metrics.request(route.url, request.method, reply.statusCode, reply.elapsedTime / 1000)
    if (request.errorCode !== undefined) metrics.refused(route.url, request.errorCode)
    done()
  })
}
