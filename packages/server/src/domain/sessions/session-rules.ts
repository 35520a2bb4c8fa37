import type { Role } from '../../ports/role-repo.js'
import type { SessionOutcome } from '../../ports/session-repo.js'
import { ValidationFailed } from '../errors.js'
import { requiredLine } from '../text.js'
import { healthCheckTarget } from './health-check-target.js'

export const DEFAULT_HEARTBEAT_INTERVAL_SECONDS = 60
export const DEFAULT_GRACE_INTERVALS = 3
// A heartbeat sent every interval arrives a little after it; a grace of one interval would race it.
const MIN_GRACE_INTERVALS = 2
const MAX_HEARTBEAT_INTERVAL_SECONDS = 3600
const MAX_GRACE_SECONDS = 86_400
const MAX_TASK = 200
const MAX_LABEL = 100
const MAX_NOTE = 300
// Longer than any role's ceiling; the bound only keeps the arithmetic exact.
const MAX_REQUESTED_SECONDS = 100 * 365 * 86_400
export const OUTCOMES: readonly SessionOutcome[] = ['succeeded', 'failed', 'cancelled']

/** What an agent asked for when starting a session, checked against its role. */
export interface SessionPlan {
  task: string
  label: string | null
  /** null for "task-completion". */
  durationSeconds: number | null
  heartbeatIntervalSeconds: number
  heartbeatGraceSeconds: number
  /** The absolute end: the shortest of duration, max_duration_seconds and the role's ceiling. */
  maxLifetimeSeconds: number
  healthCheckUrl: string | null
}

const START_FIELDS = new Set(['task', 'label', 'duration', 'heartbeat_interval_seconds', 'heartbeat_grace_seconds', 'max_duration_seconds', 'health_check'])

/**
 * Validates the session members of POST /sessions (`fields` names the members the caller
 * handles itself, such as scope and client credentials). Durations beyond the role's ceiling
 * are cut to it, not refused: the response's max_expires_at tells the agent.
 */
export function parseSessionPlan(body: Record<string, unknown>, role: Role, otherFields: readonly string[]): SessionPlan {
  const unknown = Object.keys(body).find((k) => !START_FIELDS.has(k) && !otherFields.includes(k))
  if (unknown !== undefined) throw new ValidationFailed(unknown, `unknown field: ${unknown.slice(0, 64)}`)
  const task = requiredText(body.task, 'task', MAX_TASK)
  const label = body.label === undefined || body.label === null ? null : requiredText(body.label, 'label', MAX_LABEL)
  const durationSeconds = parseDuration(body.duration)
  const heartbeatIntervalSeconds = optionalInt(body.heartbeat_interval_seconds, 'heartbeat_interval_seconds', 1, MAX_HEARTBEAT_INTERVAL_SECONDS) ?? DEFAULT_HEARTBEAT_INTERVAL_SECONDS
  const heartbeatGraceSeconds =
    optionalInt(body.heartbeat_grace_seconds, 'heartbeat_grace_seconds', heartbeatIntervalSeconds * MIN_GRACE_INTERVALS, MAX_GRACE_SECONDS) ?? heartbeatIntervalSeconds * DEFAULT_GRACE_INTERVALS
  const maxDuration = optionalInt(body.max_duration_seconds, 'max_duration_seconds', 1, MAX_REQUESTED_SECONDS)
  const maxLifetimeSeconds = Math.min(durationSeconds ?? Infinity, maxDuration ?? Infinity, role.maxSessionSeconds)
  const healthCheckUrl = body.health_check === undefined || body.health_check === null ? null : healthCheckTarget(body.health_check, role.healthCheckHosts).url
  return { task, label, durationSeconds, heartbeatIntervalSeconds, heartbeatGraceSeconds, maxLifetimeSeconds, healthCheckUrl }
}

/** The body of POST /sessions/:id/heartbeat. undefined members are left as they were. */
export function parseHeartbeat(body: Record<string, unknown>): { progress?: number | null; note?: string | null } {
  const unknown = Object.keys(body).find((k) => k !== 'progress' && k !== 'note')
  if (unknown !== undefined) throw new ValidationFailed(unknown, `unknown field: ${unknown.slice(0, 64)}`)
  const out: { progress?: number | null; note?: string | null } = {}
  if (body.progress !== undefined) {
    const p = body.progress
    if (p !== null && (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1)) throw new ValidationFailed('progress', 'progress must be a number from 0 to 1')
    out.progress = p as number | null
  }
  if (body.note !== undefined) out.note = body.note === null ? null : requiredText(body.note, 'note', MAX_NOTE)
  return out
}

export function parseOutcome(body: Record<string, unknown>): SessionOutcome {
  const unknown = Object.keys(body).find((k) => k !== 'outcome')
  if (unknown !== undefined) throw new ValidationFailed(unknown, `unknown field: ${unknown.slice(0, 64)}`)
  if (typeof body.outcome !== 'string' || !OUTCOMES.includes(body.outcome as SessionOutcome)) throw new ValidationFailed('outcome', `outcome must be one of ${OUTCOMES.join(', ')}`)
  return body.outcome as SessionOutcome
}

function parseDuration(v: unknown): number | null {
  if (v === 'task-completion') return null
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_REQUESTED_SECONDS) return v
  throw new ValidationFailed('duration', `duration is required: "task-completion" or a whole number of seconds from 1 to ${MAX_REQUESTED_SECONDS}`)
}

function requiredText(v: unknown, field: string, max: number): string {
  requiredLine(v, field, max)
  return v as string // kept as sent (not trimmed): a task id is matched exactly
}

function optionalInt(v: unknown, field: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new ValidationFailed(field, `${field} must be an integer from ${min} to ${max}`)
  return v
}
