import type { Clock } from '../../ports/clock.js'
import type { HealthProber } from '../../ports/health-prober.js'
import type { Role } from '../../ports/role-repo.js'
import type { Session, SessionRepo } from '../../ports/session-repo.js'
import { ValidationFailed } from '../errors.js'
import { healthCheckTarget } from './health-check-target.js'
import type { SessionService } from './session-service.js'

const BATCH = 200
// Probes in flight at once on this node; each lasts at most the prober's timeout.
const MAX_IN_FLIGHT = 1000

/**
 * The background half of sessions: ends those whose deadline passed, and probes health checks.
 * Each step is safe to run on several nodes at once (ends and probe claims are atomic).
 */
export class SessionUpkeep {
  constructor(
    private readonly d: { repo: SessionRepo; sessions: SessionService; prober: HealthProber; roleOf(name: string): Promise<Role | undefined>; clock: Clock },
  ) {}

  /** Ends every session that is due: heartbeats missed, duration elapsed, ceiling reached. */
  async sweep(): Promise<number> {
    let ended = 0
    for (;;) {
      const due = await this.d.repo.listDue(this.d.clock.now(), BATCH)
      for (const s of due) {
        await this.d.sessions.expire(s)
        ended++
      }
      if (due.length < BATCH) return ended
    }
  }

  private inFlight = 0

  /** Probes the health checks that are due and waits for every answer; a passing probe counts as a heartbeat. */
  async probe(): Promise<number> {
    const claimed = await this.d.repo.claimDueProbes(this.d.clock.now(), BATCH)
    const alive = await Promise.all(claimed.map((s) => this.probeOne(s)))
    return alive.filter(Boolean).length
  }

  /**
   * Starts the probes that are due and returns once they are claimed, without waiting for their
   * answers: one health check that never answers must not delay the probes of other sessions.
   */
  async launchProbes(onError: (err: unknown) => void): Promise<number> {
    if (this.inFlight >= MAX_IN_FLIGHT) return 0
    const claimed = await this.d.repo.claimDueProbes(this.d.clock.now(), Math.min(BATCH, MAX_IN_FLIGHT - this.inFlight))
    for (const s of claimed) {
      this.inFlight++
      this.probeOne(s)
        .catch(onError)
        .finally(() => this.inFlight--)
    }
    return claimed.length
  }

  private async probeOne(session: Session): Promise<boolean> {
    if (session.healthCheckUrl === null) return false
    const role = await this.d.roleOf(session.role)
    let allowPrivate: boolean
    try {
      // The role's allowlist as it is now: a host the operator removed is not probed again.
      allowPrivate = healthCheckTarget({ url: session.healthCheckUrl }, role?.healthCheckHosts ?? []).allowPrivate
    } catch (err) {
      if (err instanceof ValidationFailed) return false
      throw err
    }
    const { alive } = await this.d.prober.probe(session.healthCheckUrl, { allowPrivate })
    if (!alive) return false
    await this.d.repo.heartbeat(session.id, session.agentId, { now: this.d.clock.now() })
    return true
  }
}
