import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { parseHeartbeat, parseOutcome } from '../../domain/sessions/session-rules.js'
import { authenticateJson, sessionJson, unixSeconds } from '../../protocol/session-endpoint.js'
import { InvalidRequest } from '../../protocol/errors.js'
import type { EdgeRateLimits } from '../rate-limit.js'
import { actionContext, readOptionalJson, readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'
import { noStore } from './token.js'

type IdParams = { Params: { id: string } }

/** The JSON body's members other than client credentials, which authenticateJson has read. */
function withoutCredentials(body: Record<string, unknown> | undefined): Record<string, unknown> {
  const { client_id: _id, client_secret: _secret, ...rest } = body ?? {}
  return rest
}

/** Agent runtime: task-bound sessions, authenticated as at the token endpoint. */
export function sessionRoutes(app: FastifyInstance, s: HttpServices, limits: EdgeRateLimits): void {
  const caller = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = readOptionalJson(request)
    const client = await authenticateJson(limits.clientsFor(request, reply), request.headers.authorization, body)
    return { client, body: withoutCredentials(body), ctx: actionContext(request, { actorType: 'agent', actorId: client.agent.id }) }
  }

  app.post('/sessions', async (request, reply) => {
    const { client, body, ctx } = await caller(request, reply)
    if (request.body === undefined || request.body === null) throw new InvalidRequest('a JSON body is required: { "task", "duration", … }')
    const started = await s.startSession(client, body, ctx)
    return noStore(reply).code(201).header('location', `${s.issuer()}/sessions/${started.session_id}`).send(started)
  })

  app.get<IdParams>('/sessions/:id', async (request, reply) => {
    readQuery(request, [])
    const { client } = await caller(request, reply)
    return noStore(reply).send(sessionJson(await s.sessions.getOwn(client.agent, request.params.id)))
  })

  app.post<IdParams>('/sessions/:id/heartbeat', async (request, reply) => {
    const { client, body } = await caller(request, reply)
    const session = await s.sessions.heartbeat(client.agent, request.params.id, parseHeartbeat(body))
    return noStore(reply).send({
      session_id: session.id,
      state: session.state,
      heartbeat_deadline: unixSeconds(session.heartbeatDeadline),
      heartbeat_count: session.heartbeatCount,
      max_expires_at: unixSeconds(session.maxExpiresAt),
    })
  })

  app.post<IdParams>('/sessions/:id/complete', async (request, reply) => {
    const { client, body, ctx } = await caller(request, reply)
    const session = await s.sessions.complete(client.agent, request.params.id, parseOutcome(body), ctx)
    return noStore(reply).send(sessionJson(session))
  })
}
