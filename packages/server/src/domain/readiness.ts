/** `not_checked`: the node is shutting down, and its database is about to be closed. */
export type DatabaseCheck = 'ok' | 'unavailable' | 'timeout' | 'not_checked'

export interface ReadinessReport {
  ready: boolean
  checks: { database: DatabaseCheck; server: 'serving' | 'shutting_down' }
}

/**
 * Is this node fit to be sent traffic? Only when the database answers a trivial query within
 * `timeoutMs` and the node is not shutting down. Probes that arrive while a query is in flight
 * share it, so a crowd of load balancers costs one query, and a hung database no pile-up.
 */
export class Readiness {
  private shuttingDown = false
  private inFlight: Promise<DatabaseCheck> | undefined

  constructor(
    private readonly ping: () => Promise<unknown>,
    private readonly timeoutMs = 1000,
  ) {}

  /** From now on the node reports itself not ready. */
  shutdownStarted(): void {
    this.shuttingDown = true
  }

  async check(): Promise<ReadinessReport> {
    const server = this.shuttingDown ? 'shutting_down' : 'serving'
    const database = this.shuttingDown ? 'not_checked' : await this.database()
    return { ready: server === 'serving' && database === 'ok', checks: { database, server } }
  }

  private database(): Promise<DatabaseCheck> {
    this.inFlight ??= this.ping().then(
      () => 'ok' as const,
      () => 'unavailable' as const,
    ).finally(() => (this.inFlight = undefined))
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<DatabaseCheck>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs)
    })
    return Promise.race([this.inFlight, late]).finally(() => clearTimeout(timer))
  }
}
