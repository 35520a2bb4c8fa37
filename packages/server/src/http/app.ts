import { randomUUID } from 'node:crypto'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { FastifyBaseLogger } from 'fastify'
import { isStorableText } from '../domain/text.js'
import { InvalidRequest, NotFound, OAuthError } from '../protocol/errors.js'
import { registerBodyParsers } from './bodies.js'
import { sendClientError, sendError } from './error-response.js'
import { lazyRequestLogger } from './lazy-request-logger.js'
import { EdgeRateLimits } from './rate-limit.js'
import { routeMethods } from './route-methods.js'
import { adminRoutes } from './routes/admin.js'
import { authorizeRoutes } from './routes/authorize.js'
import { discoveryRoutes } from './routes/discovery.js'
import { operationsRoutes } from './routes/operations.js'
import { pageRoutes } from './routes/pages.js'
import { registerRoutes } from './routes/register.js'
import { revocationRoutes } from './routes/revocations.js'
import { sessionRoutes } from './routes/sessions.js'
import { tokenRoutes } from './routes/token.js'
import { deviceAuthorizationRoutes } from './routes/device-authorization.js'
import { userInfoRoutes } from './routes/userinfo.js'
import type { HttpServices } from './services.js'
import type { TrustProxy } from '../config/config.js'
import type { RequestMetrics } from '../ports/metrics.js'
import { recordRequestMetrics } from './request-metrics.js'

export interface HttpOptions {
  bodyLimitBytes: number
  requestTimeoutSeconds: number
  trustProxy: TrustProxy
  logger: FastifyBaseLogger
  /** Request timings and error counts; undefined when metrics are off. */
  metrics: RequestMetrics | undefined
}

/** The Fastify edge: parsing, routing, errors. No OAuth rules live here. */
export async function buildHttpApp(s: HttpServices, options: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    // Per-request log lines cost throughput on the token path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: options.bodyLimitBytes,
    // A hop count means: trust that many proxies nearest to us (what Fastify does with a number,
    // spelled as the function its types accept).
    trustProxy: typeof options.trustProxy === 'number' ? trustHops(options.trustProxy) : options.trustProxy,
    genReqId: () => randomUUID(),
    // The whole request, headers and body, must arrive in time: a client dripping its body holds no socket for long.
    requestTimeout: options.requestTimeoutSeconds * 1000,
    // Node checks that deadline only this often (every 30 s by default, so a drip could hold on
    // for a minute more), and enforces it on a body still arriving only when the headers timeout
    // is no longer than it (otherwise its default, 60 s, lets a drip go on for as long as it likes).
    http: { connectionsCheckingInterval: 1000, headersTimeout: options.requestTimeoutSeconds * 1000, requestTimeout: options.requestTimeoutSeconds * 1000 },
    // Our own hook answers requests that arrive while closing, in the same JSON error shape.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 200 },
    // Malformed URLs and over-long path segments get the same JSON errors as everything else.
    frameworkErrors: (err, request, reply) => sendError(reply, err, request),
    // Requests too broken to route (bad HTTP, oversized headers) still get a JSON error body.
    clientErrorHandler: sendClientError,
  })
  registerBodyParsers(app)
  recordRequestMetrics(app, options.metrics)
  const methods = routeMethods(app)
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onRequest', async (request, reply) => {
    // A request on a kept-alive connection during shutdown: refuse it, and close the connection.
    // Health probes still answer, so a load balancer learns the node is going away.
    if (closing && request.routeOptions.config?.probe !== true) {
      reply.header('connection', 'close')
      throw new OAuthError('temporarily_unavailable', 'the server is shutting down; retry on another node or shortly', 503)
    }
    reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff')
    // Refuse an oversized body up front, whatever the method (a GET body is otherwise left unread).
    const length = Number(request.headers['content-length'] ?? 0)
    if (length > options.bodyLimitBytes) throw new OAuthError('invalid_request', 'the request body is too large', 413)
    // Path parameters arrive percent-decoded: an id holding U+0000 names nothing and must not reach the database.
    for (const value of Object.values((request.params ?? {}) as Record<string, unknown>)) {
      if (typeof value === 'string' && !isStorableText(value)) throw new InvalidRequest('the path contains U+0000 or an unpaired surrogate')
    }
    // RFC 9110 §8.4.1: a body in a content coding we do not decode is refused, not read as if plain.
    const coding = request.headers['content-encoding']
    if (coding !== undefined && coding.trim().toLowerCase() !== 'identity') {
      throw new OAuthError('invalid_request', 'Content-Encoding is not supported; send the body uncompressed', 415)
    }
    // RFC 9110 §5.3: Authorization is not a list; two of them are ambiguous, and Node would keep only the first.
    if (countHeader(request.raw.rawHeaders, 'authorization') > 1) throw new InvalidRequest('send one Authorization header')
  })
  app.setErrorHandler((err, request, reply) => sendError(reply, err, request))
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!
    const allowed = methods.allowedFor(path)
    // RFC 9110 §15.5.6: a known resource asked with the wrong method is 405 with an Allow header.
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '))
      return sendError(reply, new OAuthError('invalid_request', `${request.method.slice(0, 16)} is not allowed here; use ${allowed.join(' or ')}`, 405), request)
    }
    return sendError(reply, new NotFound(`no route for ${request.method.slice(0, 16)} ${path.slice(0, 200)}`), request)
  })

  const limits = new EdgeRateLimits({ ...s.rateLimits, clients: s.clients, now: () => s.clock.now() })
  limits.install(app)
  discoveryRoutes(app, s)
  operationsRoutes(app, s)
  tokenRoutes(app, s, limits)
  deviceAuthorizationRoutes(app, s, limits)
  registerRoutes(app, s)
  sessionRoutes(app, s, limits)
  revocationRoutes(app, s, limits)
  userInfoRoutes(app, s)
  await adminRoutes(app, s)
  await pageRoutes(app, s)
  await authorizeRoutes(app, s)
  return app
}

function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops
}

function countHeader(rawHeaders: string[], lowerName: string): number {
  let n = 0
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === lowerName) n++
  return n
}
