import type { Logger } from 'pino'
import type { Storage } from './adapters/storage/sql/index.js'
import { KEY_REFRESH_SECONDS, type KeyService } from './crypto/key-service.js'
import type { AgentService } from './domain/agents/agent-service.js'
import type { AuditRecorder } from './domain/audit/audit-log.js'
import type { SessionUpkeep } from './domain/sessions/session-upkeep.js'
import type { Clock } from './ports/clock.js'
import type { Leadership } from './ports/leadership.js'

export interface BackgroundDeps {
  keys: KeyService
  storage: Storage
  agents: AgentService
  sessionUpkeep: SessionUpkeep
  audit: AuditRecorder
  leadership: Leadership
  clock: Clock
  logger: Logger
  /** 0: no rotation schedule. */
  keyRotationDays: number
}

/**
 * Periodic upkeep. Every node re-reads the keys; the cluster's chores (sweeping sessions,
 * probing health checks, reaping, purging, the rotation schedule) run on the leader only, so
 * they happen once whatever the node count, and move when the leader dies.
 */
export function startBackgroundWork(d: BackgroundDeps): ReturnType<typeof setInterval>[] {
  const every = (ms: number, work: () => Promise<unknown>, leaderOnly = true) => {
    let running = false
    const t = setInterval(() => {
      // A run that outlasts its interval (a slow database) is not overlapped by the next one.
      if (running || (leaderOnly && !d.leadership.isLeader())) return
      running = true
      work()
        .catch((err: unknown) => d.logger.warn({ err }, 'background task failed'))
        .finally(() => (running = false))
    }, ms)
    t.unref()
    return t
  }
  const timers = [
    every(KEY_REFRESH_SECONDS * 1000, () => d.keys.refresh(), false),
    every(60_000, () => d.agents.reapExpired()),
    // Often, so a session that stopped heartbeating loses access within its grace plus half a second.
    every(500, () => d.sessionUpkeep.sweep()),
    every(1000, () => d.sessionUpkeep.launchProbes((err) => d.logger.warn({ err }, 'health check failed'))),
    every(3_600_000, async () => {
      const now = d.clock.now()
      await d.storage.revocations.purgeExpired(now)
      await d.storage.revocationFeed.purge(now)
      await d.storage.keys.purge(now)
      // People's sessions are kept 30 days after they end or expire, then deleted (the audit log keeps what happened).
      await d.storage.userSessions.purge(now - 30 * 86_400_000)
      // Device authorization requests a day after they expired (the audit log keeps what happened).
      await d.storage.deviceCodes.purge(now - 86_400_000)
      // Authorization codes a day after they expired: until then a replay is still recognised as one.
      await d.storage.authorizations.purgeCodes(now - 86_400_000)
      // Answered consent forms once the forms have expired: an expired form is refused without them.
      await d.storage.consentForms.purge(now)
    }),
  ]
  if (d.keyRotationDays > 0) {
    timers.push(
      every(60_000, async () => {
        const rotated = await d.keys.rotateIfDue(d.keyRotationDays * 86_400_000)
        if (!rotated) return
        await d.audit.record({
          actorType: 'system', actorId: null, action: 'key.rotated', outcome: 'success', reason: `rotation schedule (every ${d.keyRotationDays} days)`, target: rotated.kid,
          details: { domain: 'agent-tokens', retired_kid: rotated.retiredKid ?? null, forced: false, withdrawn: false },
        })
      }),
    )
  }
  return timers
}
