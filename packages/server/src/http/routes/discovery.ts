import type { FastifyInstance } from 'fastify'
import { serverMetadata } from '../../protocol/discovery.js'
import type { HttpServices } from '../services.js'

export function discoveryRoutes(app: FastifyInstance, s: HttpServices): void {
  const metadata = (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('cache-control', 'public, max-age=300').send(serverMetadata(s.issuer()))
  // RFC 8414 §3 and OpenID Connect Discovery 1.0 §4: the same document at both addresses.
  app.get('/.well-known/oauth-authorization-server', metadata)
  app.get('/.well-known/openid-configuration', metadata)
  app.get('/jwks', (_req, reply) =>
    // Short caching is safe: the next signer is published ahead of use (see KeyService), and
    // verifiers refetch on an unknown kid.
    reply.header('cache-control', 'public, max-age=60').type('application/jwk-set+json').send(s.keys.jwks()),
  )
}
