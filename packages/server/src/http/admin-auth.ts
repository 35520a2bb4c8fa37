import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AdminCredentials, AdminIdentity } from '../domain/admin/admin-credentials.js'
import type { AuditRecorder } from '../domain/audit/audit-log.js'
import { CredentialsMissing, InvalidToken } from '../protocol/errors.js'
import { bearerToken } from './request-readers.js'

declare module 'fastify' {
  interface FastifyRequest {
    admin?: AdminIdentity
  }
}

/** preHandler for /admin/*: an admin bearer credential, and nothing else, gets in. */
export function requireAdmin(admins: AdminCredentials, audit: AuditRecorder) {
  return async function adminGuard(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const token = bearerToken(request)
    const admin = token === undefined || token.length > 512 ? undefined : await admins.authenticate(token)
    if (!admin) {
      await audit.record({
        actorType: 'anonymous', actorId: null, action: 'admin.authentication_failed', outcome: 'failure',
        reason: token === undefined ? 'no bearer credential' : 'unknown credential', ip: request.ip, requestId: request.id,
        details: { method: request.method, path: request.routeOptions.url ?? null },
      })
      const sentNothing = request.headers.authorization === undefined
      throw sentNothing ? new CredentialsMissing('an admin bearer credential is required') : new InvalidToken('an admin bearer credential is required')
    }
    request.admin = admin
    // Changes are audited by the services that make them; reads are audited here, so the log also
    // says who looked at agents, roles and the audit log itself.
    if (request.method === 'GET' || request.method === 'HEAD') {
      await audit.record({
        actorType: 'admin', actorId: admin.id, action: 'admin.read', outcome: 'success', target: request.routeOptions.url ?? null,
        ip: request.ip, requestId: request.id, details: { params: request.params ?? {} },
      })
    }
  }
}

/** onSend hook for /admin/*: admin answers (roles, agents, audit) are never cached. */
export async function adminNoStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('cache-control', 'no-store')
}

export function adminActor(request: FastifyRequest) {
  return { actorType: 'admin' as const, actorId: request.admin?.id ?? null }
}
