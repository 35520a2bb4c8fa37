import type { FastifyInstance } from 'fastify'
import type { AuditOutcome } from '../../ports/audit-store.js'
import { InvalidRequest } from '../../protocol/errors.js'
import { auditEventJson } from '../presenters.js'
import { readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'
import { parseLimit } from './admin-agents.js'

export function adminAuditRoutes(admin: FastifyInstance, s: HttpServices): void {
  admin.get('/audit', async (request) => {
    const q = readQuery(request, ['actor', 'target', 'action', 'outcome', 'since', 'until', 'limit', 'cursor'])
    const outcome = q.get('outcome')
    if (outcome !== undefined && outcome !== 'success' && outcome !== 'failure') throw new InvalidRequest('outcome must be success or failure')
    const limit = parseLimit(q.get('limit'), 1000)
    const events = await s.auditLog.query({
      actor: q.get('actor'),
      target: q.get('target'),
      action: q.get('action'),
      outcome: outcome as AuditOutcome | undefined,
      since: parseTime(q.get('since'), 'since'),
      until: parseTime(q.get('until'), 'until'),
      // One row more than asked for tells whether another page exists.
      limit: limit + 1,
      before: parseCursor(q.get('cursor')),
    })
    const page = events.slice(0, limit)
    const last = page[page.length - 1]
    return { events: page.map(auditEventJson), next_cursor: events.length > limit && last ? encodeCursor(last.ts, last.id) : null }
  })
  admin.get('/audit/verify', async (request) => {
    readQuery(request, [])
    return s.auditLog.verify()
  })
}

function parseTime(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined
  // Unix seconds, or an RFC 3339 date-time with an explicit offset; nothing Date.parse merely guesses at.
  const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i
  const ms = /^\d{1,12}$/.test(raw) ? Number(raw) * 1000 : rfc3339.test(raw) ? Date.parse(raw) : NaN
  if (!Number.isFinite(ms)) throw new InvalidRequest(`${name} must be an RFC 3339 date-time (e.g. 2026-01-31T12:00:00Z) or Unix seconds`)
  return ms
}

function encodeCursor(ts: number, id: string): string {
  return Buffer.from(JSON.stringify([ts, id])).toString('base64url')
}

function parseCursor(raw: string | undefined): { ts: number; id: string } | undefined {
  if (raw === undefined) return undefined
  try {
    if (raw.length > 200) throw new Error('too long')
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown
    if (Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string') return { ts: v[0] as number, id: v[1] }
  } catch {
    // fall through
  }
  throw new InvalidRequest('cursor is not one this server issued')
}
