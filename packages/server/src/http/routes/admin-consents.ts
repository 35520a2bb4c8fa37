import type { FastifyInstance } from 'fastify'
import type { ConsentStatus } from '../../ports/consent-repo.js'
import { InvalidRequest } from '../../protocol/errors.js'
import { consentReceiptJson } from '../consent-json.js'
import { readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'
import { parseIdCursor, parseLimit } from './admin-agents.js'

const STATUSES: readonly ConsentStatus[] = ['active', 'withdrawn', 'expired']

/** GET /admin/consents: people's consent receipts, filtered by person, agent and status, paged by id. */
export function adminConsentRoutes(admin: FastifyInstance, s: HttpServices): void {
  admin.get('/consents', async (request) => {
    const q = readQuery(request, ['user', 'agent', 'status', 'limit', 'cursor'])
    const status = q.get('status')
    if (status !== undefined && !STATUSES.includes(status as ConsentStatus)) throw new InvalidRequest(`status must be one of ${STATUSES.join(', ')}`)
    const limit = parseLimit(q.get('limit'))
    const rows = await s.consents.list({
      userId: idParam(q.get('user'), 'usr_', 'user'),
      agentId: idParam(q.get('agent'), 'agt_', 'agent'),
      status: status as ConsentStatus | undefined,
      // One row more than asked for tells whether another page exists.
      limit: limit + 1,
      after: parseIdCursor(q.get('cursor'), 'cns_'),
    })
    const page = rows.slice(0, limit)
    return { consents: page.map((c) => consentReceiptJson(c, s.consents.status(c))), next_cursor: rows.length > limit ? page[page.length - 1]!.id : null }
  })
}

function idParam(raw: string | undefined, prefix: string, name: string): string | undefined {
  if (raw === undefined) return undefined
  if (!raw.startsWith(prefix) || !/^[A-Za-z0-9_-]{1,100}$/.test(raw)) throw new InvalidRequest(`${name} must be an id starting with ${prefix}`)
  return raw
}
