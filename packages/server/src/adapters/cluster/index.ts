import type { Logger } from 'pino'
import type { DatabaseConfig } from '../../config/config.js'
import { soloNotifier, type ChangeNotifier } from '../../ports/change-notifier.js'
import { soloLeadership, type Leadership } from '../../ports/leadership.js'
import { pgChangeNotifier } from './pg-change-notifier.js'
import { pgLeadership } from './pg-leadership.js'
import { redisChangeNotifier } from './redis-change-notifier.js'

export interface Cluster {
  changes: ChangeNotifier
  leadership: Leadership
  close(): Promise<void>
}

/**
 * How this node works with the others. On SQLite it is alone: no notifications, always the
 * leader. On PostgreSQL, changes travel over Redis pub/sub when Redis is configured, else over
 * PostgreSQL LISTEN/NOTIFY, and the leader is whoever holds the advisory lock.
 */
export function openCluster(o: { db: DatabaseConfig; redisUrl: string | null; redisPrefix: string; node: string; logger: Logger }): Cluster {
  if (o.db.kind === 'sqlite') return { changes: soloNotifier, leadership: soloLeadership, close: async () => undefined }
  const onError = (what: string) => (err: unknown) => o.logger.debug({ err }, what)
  const changes =
    o.redisUrl !== null
      ? redisChangeNotifier({ url: o.redisUrl, prefix: o.redisPrefix, node: o.node, onError: onError('cluster notifications (Redis)') })
      : pgChangeNotifier({ url: o.db.url, node: o.node, onError: onError('cluster notifications (PostgreSQL)') })
  const leadership = pgLeadership({ url: o.db.url, onError: onError('leadership connection') })
  return {
    changes,
    leadership,
    async close() {
      await leadership.close()
      await changes.close()
    },
  }
}
