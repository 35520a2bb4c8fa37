import type { Discovery } from '../discovery/metadata.js'
import type { Transport } from '../http/transport.js'
import type { Logger } from '../logger.js'

/** What every agent-side object shares: one transport, one discovery cache, one logger. */
export interface ClientContext {
  issuer: string
  transport: Transport
  discovery: Discovery
  logger: Logger
}

/** A scope given as a list or a space-separated string, as the wire wants it (RFC 6749 §3.3). */
export function scopeString(scope: string | readonly string[] | undefined): string | undefined {
  if (scope === undefined) return undefined
  const s = typeof scope === 'string' ? scope.trim() : scope.join(' ')
  return s === '' ? undefined : s
}
