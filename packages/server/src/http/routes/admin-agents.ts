import type { FastifyInstance } from 'fastify'
import type { AgentStatus } from '../../ports/agent-repo.js'
import { InvalidRequest } from '../../protocol/errors.js'
import { adminActor } from '../admin-auth.js'
import { agentJson } from '../presenters.js'
import { actionContext, readOptionalFields, readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'

type IdParams = { Params: { id: string } }
const STATUSES: readonly AgentStatus[] = ['active', 'suspended', 'retired']

export function adminAgentRoutes(admin: FastifyInstance, s: HttpServices): void {
  admin.get('/agents', async (request) => {
    const q = readQuery(request, ['role', 'status', 'limit', 'cursor'])
    const status = q.get('status')
    if (status !== undefined && !STATUSES.includes(status as AgentStatus)) throw new InvalidRequest(`status must be one of ${STATUSES.join(', ')}`)
    const limit = parseLimit(q.get('limit'))
    // One row more than asked for tells whether another page exists, so a full last page says next: null.
    const rows = await s.agents.list({ role: q.get('role'), status: status as AgentStatus | undefined, limit: limit + 1, after: parseIdCursor(q.get('cursor'), 'agt_') })
    const agents = rows.slice(0, limit)
    return { agents: agents.map(agentJson), next_cursor: rows.length > limit ? agents[agents.length - 1]!.id : null }
  })
  admin.get<IdParams>('/agents/:id', async (request) => {
    readQuery(request, [])
    return agentJson(await s.agents.get(request.params.id))
  })
  admin.post<IdParams>('/agents/:id/suspend', async (request) => {
    const body = readOptionalFields(request, ['reason'])
    return agentJson(await s.agents.suspend(request.params.id, body.reason, actionContext(request, adminActor(request))))
  })
  admin.post<IdParams>('/agents/:id/resume', async (request) => {
    readOptionalFields(request, [])
    return agentJson(await s.agents.resume(request.params.id, actionContext(request, adminActor(request))))
  })
}

/** A cursor that is an id this server handed out as next_cursor; anything else would silently page nowhere. */
export function parseIdCursor(raw: string | undefined, prefix: string): string | undefined {
  if (raw === undefined) return undefined
  if (!raw.startsWith(prefix) || !/^[A-Za-z0-9_-]{1,100}$/.test(raw)) throw new InvalidRequest('cursor is not one this server issued')
  return raw
}

export function parseLimit(raw: string | undefined, max = 500, fallback = 100): number {
  if (raw === undefined) return fallback
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new InvalidRequest(`limit must be an integer from 1 to ${max}`)
  return Number(raw)
}
