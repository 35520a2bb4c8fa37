import type { Change } from '../../ports/change-notifier.js'

const KINDS = new Set(['agent', 'role', 'session', 'keys', 'revoked-token', 'all'])

/** A change as it travels between nodes: JSON with the sending node's id, so it can ignore its own. */
export function encodeChange(node: string, change: Change): string {
  return JSON.stringify({ node, ...change })
}

/** The change in a message from another node; undefined for our own messages and anything malformed. */
export function decodeChange(node: string, text: string): Change | undefined {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof v !== 'object' || v === null) return undefined
  const m = v as { node?: unknown; kind?: unknown; id?: unknown; until?: unknown }
  if (m.node === node || typeof m.kind !== 'string' || !KINDS.has(m.kind)) return undefined
  if (m.kind === 'keys' || m.kind === 'all') return { kind: m.kind }
  if (typeof m.id !== 'string' || m.id.length > 500) return undefined
  if (m.kind === 'revoked-token') return Number.isSafeInteger(m.until) ? { kind: m.kind, id: m.id, until: m.until as number } : undefined
  return { kind: m.kind as 'agent' | 'role' | 'session', id: m.id }
}
