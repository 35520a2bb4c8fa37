import { Redis } from 'ioredis'
import type { Change, ChangeNotifier } from '../../ports/change-notifier.js'
import { decodeChange, encodeChange } from './wire-change.js'

export interface RedisNotifierOptions {
  url: string
  /** The deployment's key prefix; the channel is `<prefix>changes`. */
  prefix: string
  /** This node's id: its own messages come back to it and are ignored. */
  node: string
  onError(err: unknown): void
}

/**
 * Changes over Redis pub/sub: one connection subscribes, another publishes. Publishing while
 * Redis is down drops the message (no offline queue): other nodes then see the change when
 * their cache entry expires. After a reconnect, listeners hear `all`, since messages sent
 * meanwhile are lost.
 */
export function redisChangeNotifier(options: RedisNotifierOptions): ChangeNotifier {
  const channel = `${options.prefix}changes`
  const common = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
    protocol: 2 as const,
  }
  const publisher = new Redis(options.url, { ...common, connectionName: 'mandate-changes-pub' })
  // A subscriber re-subscribes by itself after a reconnect; its commands may wait for that.
  const subscriber = new Redis(options.url, { ...common, enableOfflineQueue: true, autoResubscribe: true, connectionName: 'mandate-changes-sub' })
  const listeners = new Set<(change: Change) => void>()
  let readyOnce = false
  let started = false
  const quiet = (err: Error) => options.onError(err)
  publisher.on('error', quiet)
  subscriber.on('error', quiet)
  subscriber.on('message', (ch: string, text: string) => {
    if (ch !== channel) return
    const change = decodeChange(options.node, text)
    if (change) for (const l of listeners) l(change)
  })
  subscriber.on('ready', () => {
    if (readyOnce) for (const l of listeners) l({ kind: 'all' })
    readyOnce = true
  })

  const start = () => {
    if (started) return
    started = true
    publisher.connect().catch(quiet)
    subscriber
      .connect()
      .then(() => subscriber.subscribe(channel))
      .catch(quiet)
  }

  return {
    publish(change) {
      if (publisher.status !== 'ready') return
      publisher.publish(channel, encodeChange(options.node, change)).catch(quiet)
    },
    subscribe(listener) {
      listeners.add(listener)
      start()
      return () => listeners.delete(listener)
    },
    async close() {
      listeners.clear()
      publisher.disconnect()
      subscriber.disconnect()
    },
  }
}
