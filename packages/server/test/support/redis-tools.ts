import { randomBytes } from 'node:crypto'
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net'
import { Redis } from 'ioredis'
import { REDIS_URL } from './redis.js'

/** A key prefix no other test (or test run) uses. */
export function uniquePrefix(): string {
  return `mandate-test:${process.pid}:${randomBytes(6).toString('hex')}:`
}

/** A client for looking at (and cleaning up) what the server stored. */
export function testRedis(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    if (keys.length > 0) await redis.del(...keys)
    cursor = next
  } while (cursor !== '0')
}

/**
 * A TCP proxy in front of Redis that a test can break: `cut()` drops every connection and
 * refuses new ones (Redis is gone); `stall()` keeps connections open but never answers (a
 * network black hole); `restore()` brings Redis back.
 */
export async function cuttableProxy(targetUrl = REDIS_URL) {
  const target = new URL(targetUrl)
  const pairs = new Set<{ client: Socket; upstream: Socket }>()
  let mode: 'up' | 'down' | 'stalled' = 'up'
  const server = createServer((client) => {
    if (mode === 'down') return client.destroy()
    client.on('error', () => client.destroy())
    if (mode === 'stalled') return void client.resume()
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 6379) })
    const pair = { client, upstream }
    pairs.add(pair)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      pairs.delete(pair)
    }
    client.on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `redis://127.0.0.1:${port}${target.pathname === '/' ? '' : target.pathname}`,
    cut() {
      mode = 'down'
      for (const { client, upstream } of pairs) {
        client.destroy()
        upstream.destroy()
      }
      pairs.clear()
    },
    stall() {
      mode = 'stalled'
      for (const { client, upstream } of pairs) {
        client.unpipe(upstream)
        upstream.unpipe(client)
        client.resume()
      }
    },
    restore() {
      mode = 'up'
      // Stalled connections stay dead; the client reconnects through the proxy.
      for (const { client, upstream } of pairs) {
        client.destroy()
        upstream.destroy()
      }
      pairs.clear()
    },
    async close() {
      this.cut()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}
