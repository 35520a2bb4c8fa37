import type { FastifyInstance, FastifyRequest } from 'fastify'
import { BadRegistrationCredential, ValidationFailed } from '../../domain/errors.js'
import { parseClientMetadata, registrationResponse } from '../../protocol/client-metadata.js'
import { CredentialsMissing, InvalidClientMetadata } from '../../protocol/errors.js'
import { actionContext, bearerToken, readJson } from '../request-readers.js'
import type { HttpServices } from '../services.js'
import { noStore } from './token.js'

/** RFC 7591 self-registration and RFC 7592 management of one's own registration. */
export function registerRoutes(app: FastifyInstance, s: HttpServices): void {
  const metadataError = (d: string) => new InvalidClientMetadata(d)
  // Domain validation of metadata (a scope outside the role) is invalid_client_metadata here (RFC 7591 §3.2.2).
  const asMetadataError = (err: unknown): never => {
    if (err instanceof ValidationFailed) throw new InvalidClientMetadata(err.message)
    throw err
  }
  // RFC 6750 §3.1: a request with no credentials at all gets a challenge without an error code.
  const asMissing = (request: FastifyRequest) => (err: unknown): never => {
    if (err instanceof BadRegistrationCredential && request.headers.authorization === undefined) throw new CredentialsMissing(err.message)
    throw err
  }

  app.post('/register', async (request, reply) => {
    const token = bearerToken(request)
    const ctx = actionContext(request, { actorType: 'anonymous', actorId: null })
    const readRequest = () => parseClientMetadata(readJson(request, metadataError))
    const registered = await s.registration.register(token, readRequest, ctx).catch(asMissing(request)).catch(asMetadataError)
    return noStore(reply).code(201).send({
      ...registrationResponse(registered.agent, registered.role, s.issuer()),
      // RFC 7591 §3.2.1: a public client (token_endpoint_auth_method none) gets no secret.
      ...(registered.agent.authMethod === 'none' ? {} : { client_secret: registered.clientSecret }),
      registration_access_token: registered.registrationAccessToken,
    })
  })

  const authenticated = (request: FastifyRequest<{ Params: { client_id: string } }>) =>
    s.registration.authenticate(request.params.client_id, bearerToken(request)).catch(asMissing(request))
  // RFC 7592 §3: the response carries the registration access token. Only its digest is kept,
  // so it is the one just presented (and proved) on this request.
  const withToken = (request: FastifyRequest, body: Record<string, unknown>) => ({ ...body, registration_access_token: bearerToken(request) })

  app.get<{ Params: { client_id: string } }>('/register/:client_id', async (request, reply) => {
    const agent = await authenticated(request)
    return noStore(reply).send(withToken(request, registrationResponse(agent, await s.roles.get(agent.role).catch(() => undefined), s.issuer())))
  })

  app.put<{ Params: { client_id: string } }>('/register/:client_id', async (request, reply) => {
    const agent = await authenticated(request)
    const body = readJson(request, metadataError) as Record<string, unknown>
    // RFC 7592 §2.2: the body carries the client_id, and a client_secret only if it is the current one.
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      if (body.client_id !== agent.id) throw new InvalidClientMetadata('client_id in the body must match the registration')
      if (body.client_secret !== undefined && (typeof body.client_secret !== 'string' || !s.registration.secretMatches(agent, body.client_secret))) {
        throw new InvalidClientMetadata('client_secret does not match the current secret')
      }
    }
    const requested = parseClientMetadata(body)
    const ctx = actionContext(request, { actorType: 'agent', actorId: agent.id })
    const { agent: updated, role } = await s.registration.update(agent, requested, ctx).catch(asMetadataError)
    return noStore(reply).send(withToken(request, registrationResponse(updated, role, s.issuer())))
  })

  app.delete<{ Params: { client_id: string } }>('/register/:client_id', async (request, reply) => {
    const agent = await authenticated(request)
    await s.registration.deregister(agent, actionContext(request, { actorType: 'agent', actorId: agent.id }))
    return reply.code(204).send()
  })
}
