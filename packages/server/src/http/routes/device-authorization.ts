import type { FastifyInstance } from 'fastify'
import type { EdgeRateLimits } from '../rate-limit.js'
import { actionContext, readForm } from '../request-readers.js'
import type { HttpServices } from '../services.js'
import { noStore } from './token.js'

/** RFC 8628 §3.1: POST /device_authorization, a form authenticated like the token endpoint. */
export function deviceAuthorizationRoutes(app: FastifyInstance, s: HttpServices, limits: EdgeRateLimits): void {
  app.post('/device_authorization', async (request, reply) => {
    // Every request stores a row, and public clients present no secret: limited per address first.
    await limits.spendForAddress('device_address', s.device.addressRateLimit, request, reply)
    const response = await s.device.authorize({
      authorization: request.headers.authorization,
      read: () => {
        const { params, lists } = readForm(request, ['resource'])
        return { params, resources: lists.get('resource') ?? [] }
      },
      ctx: actionContext(request, { actorType: 'anonymous', actorId: null }),
      clients: limits.clientsFor(request, reply),
    })
    // RFC 8628 §3.2 answers as RFC 6749 §5.1 does: never cached.
    return noStore(reply).send(response)
  })
}
