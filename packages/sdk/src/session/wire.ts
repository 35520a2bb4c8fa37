import { MandateError, type EndedState } from '../errors.js'

export type SessionOutcome = 'succeeded' | 'failed' | 'cancelled'
export type SessionState = 'active' | EndedState

export interface StartSessionOptions {
  /** The task's name or id (1–200 characters). */
  task: string
  /** 'task-completion' (until completed, heartbeats missed or the ceiling), or seconds until it expires. */
  duration: 'task-completion' | number
  label?: string
  /** 1–3600; the server's default is 60. */
  heartbeatIntervalSeconds?: number
  /** At least one interval; the server's default is three. */
  heartbeatGraceSeconds?: number
  maxDurationSeconds?: number
  /** Instead of heartbeating, the server probes this https URL every interval; no heartbeat timer runs. */
  healthCheckUrl?: string
  scope?: string | readonly string[]
  /** RFC 8707 resource the session's access tokens are for (their `aud`). */
  resource?: string
  /** The same as an `error` listener: errors no caller was waiting for (the heartbeat timer, a renewal that fell back on the current token, an end nobody asked for). */
  onError?: (err: MandateError) => void
}

/** The server's view of a session (GET /sessions/:id); times are Unix seconds as on the wire. */
export interface SessionInfo {
  sessionId: string
  state: SessionState
  outcome: SessionOutcome | null
  endReason: string | null
  task: string | undefined
  label: string | null
  heartbeatIntervalSeconds: number | undefined
  heartbeatGraceSeconds: number | undefined
  heartbeatDeadline: number | undefined
  heartbeatCount: number | undefined
  maxExpiresAt: number | undefined
  raw: Record<string, unknown>
}

/** The JSON body of POST /sessions. */
export function startBody(o: StartSessionOptions, scope: string | undefined): Record<string, unknown> {
  const body: Record<string, unknown> = { task: o.task, duration: o.duration }
  if (o.label !== undefined) body.label = o.label
  if (o.heartbeatIntervalSeconds !== undefined) body.heartbeat_interval_seconds = o.heartbeatIntervalSeconds
  if (o.heartbeatGraceSeconds !== undefined) body.heartbeat_grace_seconds = o.heartbeatGraceSeconds
  if (o.maxDurationSeconds !== undefined) body.max_duration_seconds = o.maxDurationSeconds
  if (o.healthCheckUrl !== undefined) body.health_check = { url: o.healthCheckUrl }
  if (scope !== undefined) body.scope = scope
  if (o.resource !== undefined) body.resource = o.resource
  return body
}

const STATES: readonly SessionState[] = ['active', 'completed', 'expired', 'terminated']

export function parseSessionInfo(b: Record<string, unknown>): SessionInfo {
  if (typeof b.session_id !== 'string') throw new MandateError({ error: 'invalid_response', errorDescription: 'session response lacks session_id', status: 200 })
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined)
  const outcome = b.outcome === 'succeeded' || b.outcome === 'failed' || b.outcome === 'cancelled' ? b.outcome : null
  return {
    sessionId: b.session_id,
    state: STATES.includes(b.state as SessionState) ? (b.state as SessionState) : 'ended',
    outcome,
    endReason: typeof b.end_reason === 'string' ? b.end_reason : null,
    task: typeof b.task === 'string' ? b.task : undefined,
    label: typeof b.label === 'string' ? b.label : null,
    heartbeatIntervalSeconds: num(b.heartbeat_interval_seconds),
    heartbeatGraceSeconds: num(b.heartbeat_grace_seconds),
    heartbeatDeadline: num(b.heartbeat_deadline),
    heartbeatCount: num(b.heartbeat_count),
    maxExpiresAt: num(b.max_expires_at),
    raw: b,
  }
}

/** 409 session_ended carries the state in its description; find it there if it is. */
export function endedStateFrom(description: string | undefined): EndedState {
  const found = description?.match(/\b(completed|expired|terminated)\b/)
  return (found?.[1] as EndedState | undefined) ?? 'ended'
}
