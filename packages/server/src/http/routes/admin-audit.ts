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
  const ms = /^\d{1,12}$/.test(raw) ? Number(raw) * 1000 : parseRfc3339(raw)
  if (ms === undefined || !Number.isFinite(ms)) throw new InvalidRequest(`${name} must be an RFC 3339 date-time (e.g. 2026-01-31T12:00:00Z) or Unix seconds`)
  return ms
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i

/** RFC 3339 §5.6 date-time, with §5.7's limits: no 30 February, and a leap second (:60) counts as the next second. */
function parseRfc3339(raw: string): number | undefined {
  const m = RFC3339.exec(raw)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) return undefined
  const leap = second === 60 ? 1000 : 0
  return Date.parse(raw.slice(0, 17) + (leap ? '59' : m[6]) + raw.slice(19)) + leap
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
