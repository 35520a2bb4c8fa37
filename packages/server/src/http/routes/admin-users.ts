import type { FastifyInstance } from 'fastify'
import type { UserStatus } from '../../ports/user-repo.js'
import { InvalidRequest } from '../../protocol/errors.js'
import { adminActor } from '../admin-auth.js'
import { userJson } from '../presenters.js'
import { actionContext, readJson, readOptionalFields, readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'
import { parseIdCursor, parseLimit } from './admin-agents.js'

type IdParams = { Params: { id: string } }
const STATUSES: readonly UserStatus[] = ['active', 'suspended']

/** People: created with a password (or a generated one, shown once), listed, suspended, resumed. */
export function adminUserRoutes(admin: FastifyInstance, s: HttpServices): void {
  admin.post('/users', async (request, reply) => {
    const created = await s.users.create(readJson(request), actionContext(request, adminActor(request)))
    const body = created.generatedPassword === undefined ? userJson(created.user) : { ...userJson(created.user), generated_password: created.generatedPassword }
    return reply.code(201).send(body)
  })
  admin.get('/users', async (request) => {
    const q = readQuery(request, ['status', 'limit', 'cursor'])
    const status = q.get('status')
    if (status !== undefined && !STATUSES.includes(status as UserStatus)) throw new InvalidRequest(`status must be one of ${STATUSES.join(', ')}`)
    const limit = parseLimit(q.get('limit'))
    // One row more than asked for tells whether another page exists.
    const rows = await s.users.list({ status: status as UserStatus | undefined, limit: limit + 1, after: parseIdCursor(q.get('cursor'), 'usr_') })
    const page = rows.slice(0, limit)
    return { users: page.map(userJson), next_cursor: rows.length > limit ? page[page.length - 1]!.id : null }
  })
  admin.get<IdParams>('/users/:id', async (request) => {
    readQuery(request, [])
    return userJson(await s.users.get(request.params.id))
  })
  admin.post<IdParams>('/users/:id/suspend', async (request) => {
    const { reason } = readOptionalFields(request, ['reason'])
    return userJson(await s.users.suspend(request.params.id, reason, actionContext(request, adminActor(request))))
  })
  admin.post<IdParams>('/users/:id/resume', async (request) => {
    readOptionalFields(request, [])
    return userJson(await s.users.resume(request.params.id, actionContext(request, adminActor(request))))
  })
}
