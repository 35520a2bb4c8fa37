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
  return createHash('sha256').update(canonicalEvent(event), 'utf8').digest('hex')
}

/**
 * The RFC 8785 form of an event, written directly: this runs for every event on the token path.
 * The top-level members are fixed, so they are emitted already sorted (§3.2.3, by UTF-16 code
 * units); strings and integers serialise as JSON.stringify does (§3.2.2.2, §3.2.2.3); only
 * `details`, whose shape varies, goes through the general canonicaliser. A unit test holds this
 * equal to canonicalising the whole object, so stored hashes verify either way.
 */
export function canonicalEvent(e: Omit<AuditEvent, 'hash'>): string {
  const details = canonicalize(e.details)
  if (details === undefined) throw new Error('audit event details cannot be canonicalised')
  return (
    `{"action":${JSON.stringify(e.action)},"actor_id":${JSON.stringify(e.actorId)},"actor_type":${JSON.stringify(e.actorType)}` +
    `,"details":${details},"id":${JSON.stringify(e.id)},"ip":${JSON.stringify(e.ip)},"outcome":${JSON.stringify(e.outcome)}` +
    `,"prev_hash":${JSON.stringify(e.prevHash)},"reason":${JSON.stringify(e.reason)},"request_id":${JSON.stringify(e.requestId)}` +
    `,"role":${JSON.stringify(e.role)},"seq":${integer(e.seq)},"stream_id":${JSON.stringify(e.streamId)}` +
    `,"target":${JSON.stringify(e.target)},"ts":${integer(e.ts)}}`
  )
}

/** The general canonical form of the same members, for the equivalence test. */
export function canonicalEventGeneral(e: Omit<AuditEvent, 'hash'>): string | undefined {
  return canonicalize({
    id: e.id, stream_id: e.streamId, seq: e.seq, ts: e.ts, actor_type: e.actorType, actor_id: e.actorId, action: e.action, outcome: e.outcome,
    reason: e.reason, target: e.target, role: e.role, ip: e.ip, request_id: e.requestId, details: e.details, prev_hash: e.prevHash,
  })
}

function integer(n: number): string {
  // A stored row read back always holds integers here; anything else would hash differently from RFC 8785's number form.
  if (!Number.isSafeInteger(n)) throw new Error(`audit event number ${n} is not an integer`)
  return String(n)
}
