import { Redis } from 'ioredis'

/** Where the tests find Redis; they use key prefixes of their own. */
export const REDIS_URL = process.env.MANDATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

async function reachable(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  client.on('error', () => undefined)
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

let cached: Promise<string | undefined> | undefined

/**
 * The Redis URL when Redis answers; undefined (and a warning) when it does not. In CI (CI=true)
 * a missing Redis is a failure, never a silent skip.
 */
export function requireRedis(): Promise<string | undefined> {
  cached ??= reachable(REDIS_URL).then((ok) => {
    if (ok) return REDIS_URL
    if (process.env.CI === 'true') throw new Error(`Redis is required in CI but ${REDIS_URL} is not reachable`)
    process.stderr.write(`warning: Redis at ${REDIS_URL} is not reachable; skipping Redis tests\n`)
    return undefined
  })
  return cached
}
