import type { FastifyInstance } from 'fastify'
import { requireReason } from '../../domain/agents/agent-service.js'
import type { SessionState } from '../../ports/session-repo.js'
import { sessionJson } from '../../protocol/session-endpoint.js'
import { InvalidRequest } from '../../protocol/errors.js'
import { adminActor } from '../admin-auth.js'
import { actionContext, readOptionalFields, readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'
import { parseIdCursor, parseLimit } from './admin-agents.js'

type IdParams = { Params: { id: string } }
const STATES: readonly SessionState[] = ['active', 'completed', 'expired', 'terminated']

export function adminSessionRoutes(admin: FastifyInstance, s: HttpServices): void {
  admin.get('/sessions', async (request) => {
    const q = readQuery(request, ['agent', 'role', 'label', 'state', 'limit', 'cursor'])
    const state = q.get('state')
    if (state !== undefined && !STATES.includes(state as SessionState)) throw new InvalidRequest(`state must be one of ${STATES.join(', ')}`)
    const limit = parseLimit(q.get('limit'))
    // One row more than asked for tells whether another page exists.
    const rows = await s.sessions.list({ agent: q.get('agent'), role: q.get('role'), label: q.get('label'), state: state as SessionState | undefined, limit: limit + 1, after: parseIdCursor(q.get('cursor'), 'ses_') })
    const page = rows.slice(0, limit)
    return { sessions: page.map(sessionJson), next_cursor: rows.length > limit ? page[page.length - 1]!.id : null }
  })
  admin.get<IdParams>('/sessions/:id', async (request) => {
    readQuery(request, [])
    return sessionJson(await s.sessions.get(request.params.id))
  })
  admin.post<IdParams>('/sessions/:id/terminate', async (request) => {
    const { reason } = readOptionalFields(request, ['reason'])
    return sessionJson(await s.sessions.terminate(request.params.id, requireReason(reason), actionContext(request, adminActor(request))))
  })
}
