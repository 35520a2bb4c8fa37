import type { AuditActorType } from '../ports/audit-store.js'

/** Who is acting and where the request came from, carried into every audit event. */
export interface ActionContext {
  actorType: AuditActorType
  actorId: string | null
  ip: string | null
  requestId: string | null
}

export function systemContext(): ActionContext {
  return { actorType: 'system', actorId: null, ip: null, requestId: null }
}
