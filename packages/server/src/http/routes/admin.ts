import type { FastifyInstance } from 'fastify'
import { adminNoStore, requireAdmin } from '../admin-auth.js'
import { InvalidRequest } from '../../protocol/errors.js'
import { readOptionalFields } from '../request-readers.js'
import type { HttpServices } from '../services.js'
import { adminAgentRoutes } from './admin-agents.js'
import { adminAuditRoutes } from './admin-audit.js'
import { adminConsentRoutes } from './admin-consents.js'
import { adminRoleRoutes } from './admin-roles.js'
import { adminSessionRoutes } from './admin-sessions.js'
import { adminUserRoutes } from './admin-users.js'

/** Everything under /admin, behind the admin credential guard. */
export async function adminRoutes(app: FastifyInstance, s: HttpServices): Promise<void> {
  await app.register(async (admin) => {
    admin.addHook('preHandler', requireAdmin(s.admins, s.audit))
    admin.addHook('onSend', adminNoStore)
    adminRoleRoutes(admin, s)
    adminAgentRoutes(admin, s)
    adminAuditRoutes(admin, s)
    adminSessionRoutes(admin, s)
    adminUserRoutes(admin, s)
    adminConsentRoutes(admin, s)
    admin.post('/keys/rotate', async (request, reply) => {
      const { force, withdraw_previous: withdraw } = readOptionalFields(request, ['force', 'withdraw_previous'])
      if (force !== undefined && typeof force !== 'boolean') throw new InvalidRequest('force must be true or false')
      if (withdraw !== undefined && typeof withdraw !== 'boolean') throw new InvalidRequest('withdraw_previous must be true or false')
      const rotated = await s.keys.rotate({ force: force === true, withdrawPrevious: withdraw === true })
      await s.audit.record({
        actorType: 'admin', actorId: request.admin?.id ?? null, action: 'key.rotated', outcome: 'success', target: rotated.kid,
        ip: request.ip, requestId: request.id, details: { domain: 'agent-tokens', retired_kid: rotated.retiredKid ?? null, forced: force === true, withdrawn: withdraw === true },
      })
      return reply.send({ kid: rotated.kid, retired_kid: rotated.retiredKid ?? null })
    })
  }, { prefix: '/admin' })
}
