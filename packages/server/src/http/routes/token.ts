import type { FastifyInstance, FastifyReply } from 'fastify'
import type { EdgeRateLimits } from '../rate-limit.js'
import { actionContext, readForm } from '../request-readers.js'
import type { HttpServices } from '../services.js'

/** RFC 6749 §5.1: token responses must not be cached. */
export function noStore(reply: FastifyReply): FastifyReply {
  return reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
}

export function tokenRoutes(app: FastifyInstance, s: HttpServices, limits: EdgeRateLimits): void {
  app.post('/token', async (request, reply) => {
    const response = await s.token({
      authorization: request.headers.authorization,
      // Read inside the token endpoint, so a malformed request is audited as a refusal too.
      read: () => {
        const { params, lists } = readForm(request, ['resource'])
        return { params, resources: lists.get('resource') ?? [] }
      },
      ctx: actionContext(request, { actorType: 'anonymous', actorId: null }),
      clients: limits.clientsFor(request, reply),
    })
    return noStore(reply).send(response)
  })

  app.post('/introspect', async (request, reply) => {
    const { params } = readForm(request)
    const caller = await limits.clientsFor(request, reply).authenticate(request.headers.authorization, params)
    return noStore(reply).send(await s.introspect(caller, params))
  })

  app.post('/revoke', async (request, reply) => {
    const { params } = readForm(request)
    // RFC 7009 §2.1: a public client revokes its tokens by naming its client_id.
    const caller = await limits.clientsFor(request, reply).authenticate(request.headers.authorization, params, { allowPublic: true })
    await s.revoke(caller, params, actionContext(request, { actorType: 'agent', actorId: caller.agent.id }))
    // RFC 7009 §2.2: 200 whether or not anything was revoked.
    return noStore(reply).code(200).send()
  })
}
