import pg from 'pg'
import type { Change, ChangeNotifier } from '../../ports/change-notifier.js'
import { decodeChange, encodeChange } from './wire-change.js'

const CHANNEL = 'mandate_changes'
const RECONNECT_MS = 1000

export interface PgNotifierOptions {
  url: string
  /** This node's id: its own notifications come back to it and are ignored. */
  node: string
  onError(err: unknown): void
}

/**
 * Changes over PostgreSQL LISTEN/NOTIFY, for nodes that share a database and no Redis. One
 * dedicated connection listens; publishing uses a short-lived query on the same connection.
 * After a reconnect, listeners hear `all`: notifications sent meanwhile are lost, so caches
 * start afresh.
 */
export function pgChangeNotifier(options: PgNotifierOptions): ChangeNotifier {
  const listeners = new Set<(change: Change) => void>()
  let client: pg.Client | undefined
  let connecting: Promise<void> | undefined
  let closed = false
  let everConnected = false
  let retry: ReturnType<typeof setTimeout> | undefined

  const deliver = (change: Change) => {
    for (const l of listeners) l(change)
  }

  const connect = (): Promise<void> => {
    if (connecting || closed) return connecting ?? Promise.resolve()
    const c = new pg.Client({ connectionString: options.url })
    const lost = (err?: unknown) => {
      if (client === c) client = undefined
      c.removeAllListeners('notification')
      c.end().catch(() => undefined)
      if (err) options.onError(err)
      if (!closed && !retry) {
        retry = setTimeout(() => {
          retry = undefined
          void connect()
        }, RECONNECT_MS)
        retry.unref()
      }
    }
    c.on('error', lost)
    c.on('end', () => lost())
    c.on('notification', (msg) => {
      if (msg.channel !== CHANNEL || msg.payload === undefined) return
      const change = decodeChange(options.node, msg.payload)
      if (change) deliver(change)
    })
    connecting = c
      .connect()
      .then(() => c.query(`LISTEN ${CHANNEL}`))
      .then(() => {
        client = c
        if (everConnected) deliver({ kind: 'all' })
        everConnected = true
      })
      .catch(lost)
      .finally(() => (connecting = undefined))
    return connecting
  }

  return {
    publish(change) {
      const c = client
      if (!c) return
      c.query('SELECT pg_notify($1, $2)', [CHANNEL, encodeChange(options.node, change)]).catch(options.onError)
    },
    subscribe(listener) {
      listeners.add(listener)
      void connect()
      return () => listeners.delete(listener)
    },
    async close() {
      closed = true
      if (retry) clearTimeout(retry)
      await connecting
      await client?.end().catch(() => undefined)
      client = undefined
    },
  }
}
