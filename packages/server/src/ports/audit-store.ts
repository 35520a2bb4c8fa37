/** `human`: a person signed in through the sign-in page (never an agent acting for them). */
export type AuditActorType = 'agent' | 'admin' | 'system' | 'anonymous' | 'human'
export type AuditOutcome = 'success' | 'failure'

/** What a caller records; the audit log adds ids, time, stream position and hashes. */
export interface AuditEntry {
  actorType: AuditActorType
  actorId: string | null
  action: string
  outcome: AuditOutcome
  reason?: string | null
  target?: string | null
  role?: string | null
  ip?: string | null
  requestId?: string | null
  details?: Record<string, unknown>
}

export interface AuditEvent {
  id: string
  streamId: string
  seq: number
  ts: number
  actorType: AuditActorType
  actorId: string | null
  action: string
  outcome: AuditOutcome
  reason: string | null
  target: string | null
  role: string | null
  ip: string | null
  requestId: string | null
  details: Record<string, unknown>
  prevHash: string
  hash: string
}

export interface AuditStream {
  id: string
  startedAt: number
  headSeq: number
  headHash: string
}

export interface AuditQuery {
  actor?: string
  target?: string
  action?: string
  outcome?: AuditOutcome
  since?: number
  until?: number
  limit: number
  /** Continue after this (ts, id), newest first. */
  before?: { ts: number; id: string }
}

export interface AuditStore {
  openStream(stream: AuditStream): Promise<void>
  /** Appends events and moves the stream head in one transaction. */
  append(streamId: string, events: AuditEvent[]): Promise<void>
  streams(): Promise<AuditStream[]>
  /** One stream's head as stored (after a failed append, it may or may not have moved). */
  stream(streamId: string): Promise<AuditStream | undefined>
  /** Distinct stream ids that have events (to catch events of an unregistered stream). */
  eventStreamIds(): Promise<string[]>
  /** Every event of a stream in seq order, in pages. */
  readStream(streamId: string, afterSeq: number, limit: number): Promise<AuditEvent[]>
  query(q: AuditQuery): Promise<AuditEvent[]>
}
