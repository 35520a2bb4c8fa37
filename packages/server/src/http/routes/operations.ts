import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CredentialsMissing, InvalidToken, NotFound } from '../../protocol/errors.js'
import { bearerToken, readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'

/**
 * For operators and load balancers: liveness, readiness and Prometheus metrics. The probes are
 * unauthenticated, cheap, not audited and never cached; /metrics takes its own credential.
 */
export function operationsRoutes(app: FastifyInstance, s: HttpServices): void {
  // Liveness: the process answers. Nothing is consulted, so a database outage never restarts a node.
  app.get('/healthz', { config: { probe: true } }, (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }))

  // Readiness: send this node traffic only while its database answers and it is not shutting down.
  app.get('/readyz', { config: { probe: true } }, async (_request, reply) => {
    const { ready, checks } = await s.readiness.check()
    return reply.code(ready ? 200 : 503).header('cache-control', 'no-store').send({ status: ready ? 'ready' : 'not_ready', checks })
  })

  app.get('/metrics', async (request, reply) => {
    if (!s.metrics.credential.enabled) throw new NotFound('metrics are disabled; set MANDATE_METRICS_TOKEN (32 or more characters) and scrape with Authorization: Bearer <that token>')
    await requireMetricsCredential(request, s)
    readQuery(request, [])
    const { contentType, body } = await s.metrics.scrape()
    return reply.header('cache-control', 'no-store').type(contentType).send(body)
  })
}

/** RFC 6750 §2.1: the metrics credential as a bearer token, and no other credential (not even the admin's). */
async function requireMetricsCredential(request: FastifyRequest, s: HttpServices): Promise<void> {
  const token = bearerToken(request)
  if (token !== undefined && token.length <= 512 && s.metrics.credential.matches(token)) return
  await s.audit.record({
    actorType: 'anonymous', actorId: null, action: 'metrics.authentication_failed', outcome: 'failure',
    reason: token === undefined ? 'no bearer credential' : 'unknown credential', ip: request.ip, requestId: request.id,
  })
  // RFC 6750 §3.1: no credentials at all get a challenge without an error code.
  if (request.headers.authorization === undefined) throw new CredentialsMissing('the metrics bearer credential (MANDATE_METRICS_TOKEN) is required')
  throw new InvalidToken('the metrics bearer credential (MANDATE_METRICS_TOKEN) is required')
}
