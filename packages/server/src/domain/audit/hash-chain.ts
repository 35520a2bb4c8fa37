import { createHash } from 'node:crypto'
import canonicalizeModule from 'canonicalize'
import type { AuditEvent } from '../../ports/audit-store.js'

// The package is CommonJS whose module.exports is the function itself.
const canonicalize = canonicalizeModule as unknown as typeof canonicalizeModule.default

/** The prev_hash of the first event of every stream. */
export const GENESIS_HASH = '0'.repeat(64)

/**
 * SHA-256 over the event's canonical form (RFC 8785 JSON canonicalisation) including its
 * prev_hash, so editing, inserting or removing any event breaks every hash after it.
 */
export function hashEvent(event: Omit<AuditEvent, 'hash'>): string {
  const canonical = canonicalize({
    id: event.id,
    stream_id: event.streamId,
    seq: event.seq,
    ts: event.ts,
    actor_type: event.actorType,
    actor_id: event.actorId,
    action: event.action,
    outcome: event.outcome,
    reason: event.reason,
    target: event.target,
    role: event.role,
    ip: event.ip,
    request_id: event.requestId,
    details: event.details,
    prev_hash: event.prevHash,
  })
  if (canonical === undefined) throw new Error('audit event cannot be canonicalised')
  return createHash('sha256').update(canonical, 'utf8').digest('hex')
}
