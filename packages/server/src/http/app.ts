import { randomUUID } from 'node:crypto'
import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { FastifyBaseLogger } from 'fastify'
import { NotFound } from '../protocol/errors.js'
import { registerBodyParsers } from './bodies.js'
import { sendError } from './error-response.js'
import { adminRoutes } from './routes/admin.js'
import { discoveryRoutes } from './routes/discovery.js'
import { registerRoutes } from './routes/register.js'
import { tokenRoutes } from './routes/token.js'
import type { HttpServices } from './services.js'

export interface HttpOptions {
  bodyLimitBytes: number
  trustProxy: boolean
  logger: FastifyBaseLogger
}

/** The Fastify edge: parsing, routing, errors. No OAuth rules live here. */
export async function buildHttpApp(s: HttpServices, options: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger,
    // Per-request log lines cost throughput on the token path; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    trustProxy: options.trustProxy,
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { maxParamLength: 200 },
  })
  registerBodyParsers(app)
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff')
  })
  app.setErrorHandler((err, request, reply) => sendError(reply, err, request))
  app.setNotFoundHandler((request, reply) => sendError(reply, new NotFound(`no route for ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`), request))

  discoveryRoutes(app, s)
  tokenRoutes(app, s)
  registerRoutes(app, s)
  await adminRoutes(app, s)
  return app
}
