import type { FastifyInstance } from 'fastify'
import { serverMetadata } from '../../protocol/discovery.js'
import { JWKS_MAX_AGE_SECONDS } from '../../crypto/key-service.js'
import type { HttpServices } from '../services.js'

export function discoveryRoutes(app: FastifyInstance, s: HttpServices): void {
  const metadata = (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('cache-control', 'public, max-age=300').send(serverMetadata(s.issuer()))
  // RFC 8414 §3 and OpenID Connect Discovery 1.0 §4: the same document at both addresses.
  app.get('/.well-known/oauth-authorization-server', metadata)
  app.get('/.well-known/openid-configuration', metadata)
  app.get('/jwks', (_req, reply) =>
    // Short caching is safe: the next signer is published at least this long before it signs
    // (PUBLISH_AHEAD_SECONDS), and verifiers refetch on an unknown kid.
    reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`).type('application/jwk-set+json').send(s.keys.jwks()),
  )
}
