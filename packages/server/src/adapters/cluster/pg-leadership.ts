import pg from 'pg'
import type { Leadership } from '../../ports/leadership.js'

// Any constant will do: every node of one database campaigns for the same lock.
const LEADER_LOCK = 7_001_003

export interface PgLeadershipOptions {
  url: string
  /** How often a follower tries to take the lead. */
  campaignMs?: number
  onError(err: unknown): void
}

/**
 * Leadership through a session-level PostgreSQL advisory lock held on a dedicated connection.
 * The lock lives exactly as long as that connection: a leader that dies (or is cut off) loses
 * it, and a follower's next campaign takes it. A leader checks its connection on every campaign
 * tick, so one whose connection broke silently stops leading within a tick.
 */
export function pgLeadership(options: PgLeadershipOptions): Leadership {
  const campaignMs = options.campaignMs ?? 2000
  let client: pg.Client | undefined
  let leading = false
  let timer: ReturnType<typeof setInterval> | undefined
  let running: Promise<void> | undefined
  let onChange: ((leading: boolean) => void) | undefined

  const setLeading = (v: boolean) => {
    if (leading === v) return
    leading = v
    onChange?.(v)
  }

  const drop = () => {
    const c = client
    client = undefined
    setLeading(false)
    c?.end().catch(() => undefined)
  }

  const campaign = async () => {
    try {
      if (!client) {
        const c = new pg.Client({ connectionString: options.url })
        c.on('error', (err) => {
          options.onError(err)
          if (client === c) drop()
        })
        await c.connect()
        client = c
      }
      if (leading) {
        // Still connected, so still holding the lock.
        await client.query('SELECT 1')
        return
      }
      const res = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [LEADER_LOCK])
      setLeading(res.rows[0]?.locked === true)
    } catch (err) {
      options.onError(err)
      drop()
    }
  }

  const tick = () => {
    if (!running) running = campaign().finally(() => (running = undefined))
    return running
  }

  return {
    isLeader: () => leading,
    start(listener) {
      onChange = listener
      if (timer) return
      timer = setInterval(tick, campaignMs)
      timer.unref()
      void tick()
    },
    async close() {
      if (timer) clearInterval(timer)
      timer = undefined
      await running
      const c = client
      client = undefined
      setLeading(false)
      // Closing the connection releases the lock at once for the next leader.
      await c?.end().catch(() => undefined)
    },
  }
}
