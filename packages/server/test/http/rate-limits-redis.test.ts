import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { pino, type Logger } from 'pino'
import type { Redis } from 'ioredis'
import { loadConfig } from '../../src/config/config.js'
import { createMandate, type Mandate } from '../../src/main.js'
import { availableEngines } from '../support/engines.js'
import { requireRedis } from '../support/redis.js'
import { cuttableProxy, deleteKeys, testRedis, uniquePrefix } from '../support/redis-tools.js'
import { parseExposition } from '../support/prometheus.js'
import { ADMIN_TOKEN, MASTER_KEY, METRICS_TOKEN, startTestServer, type TestServer } from '../support/server.js'
import { registeredAgent, tokenRequest, type RegisteredAgent, type Reply } from '../support/client.js'

/*
 * Rate limits shared through Redis by several nodes, and what a node does when Redis goes away:
 * it keeps answering from its own buckets, says so once, counts it, and goes back to the shared
 * buckets by itself when Redis returns.
 */

interface Node {
  url: string
  mandate: Mandate
  logs: Array<{ level: number; msg: string }>
  close(): Promise<void>
}

/** Another server process's worth of Mandate on the same database as `first`, with its own logger. */
async function startNode(first: TestServer, env: Record<string, string>): Promise<Node> {
  const logs: Node['logs'] = []
  const logger: Logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) })
  const config = loadConfig(['--port', '0', '--db', first.db, '--data-dir', first.dataDir], { MANDATE_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_MASTER_KEY: MASTER_KEY, ...env })
  const mandate = await createMandate(config, { logger })
  const url = await mandate.listen()
  return { url, mandate, logs, close: () => mandate.close() }
}

const at = (first: TestServer, node: Node): TestServer => ({ ...first, url: node.url })
const WARN = 40
const INFO = 30
const rateLimitLines = (node: Node) => node.logs.filter((l) => /Redis/.test(l.msg) && (l.level === WARN || l.level === INFO)).map((l) => `${l.level === WARN ? 'warn' : 'info'}: ${l.msg}`)

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** This node's Prometheus metrics. */
async function metrics(node: Node) {
  const res = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  assert.equal(res.status, 200)
  return parseExposition(await res.text())
}

const statuses = (replies: Reply[]) => replies.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {})

const redisUrl = await requireRedis()

for (const engine of await availableEngines()) {
  describe(`rate limits shared through Redis on ${engine}`, { skip: redisUrl === undefined && 'Redis is not reachable' }, () => {
    let server: TestServer
    let redis: Redis
    const prefix = uniquePrefix()
    const nodes: Node[] = []
    const proxies: Array<Awaited<ReturnType<typeof cuttableProxy>>> = []
    before(async () => {
      redis = testRedis()
      server = await startTestServer(engine, { env: { MANDATE_REDIS: redisUrl!, MANDATE_REDIS_PREFIX: prefix, MANDATE_REDIS_TIMEOUT_MS: '5000' } })
    })
    after(async () => {
      for (const n of nodes) await n.close()
      for (const p of proxies) await p.close()
      await server.close()
      await deleteKeys(redis, prefix)
      redis.disconnect()
    })
    const node = async (env: Record<string, string>) => {
      const n = await startNode(server, { MANDATE_REDIS_PREFIX: prefix, ...env })
      nodes.push(n)
      return n
    }
    const proxy = async () => {
      const p = await cuttableProxy(redisUrl)
      proxies.push(p)
      return p
    }

    test('two nodes sharing one Redis share each agent\'s bucket: the sum across both stays within the limit', async () => {
      // A generous Redis timeout: on a loaded machine a 250 ms command timeout can send a node to
      // its own buckets (by design), and this test is about the shared bucket, not the fallback.
      const second = await node({ MANDATE_REDIS: redisUrl!, MANDATE_REDIS_TIMEOUT_MS: '5000' })
      const agent = await registeredAgent(server, { role: { rate_limit: { per_second: 0.01, burst: 20 } } })
      // 30 requests at each node at once; either node alone would have allowed 20 of its 30.
      const replies = await Promise.all(Array.from({ length: 60 }, (_, i) => tokenRequest(i % 2 === 0 ? server : at(server, second), agent)))
      assert.deepEqual(statuses(replies), { 200: 20, 429: 40 })
      const fromEach = [0, 1].map((n) => replies.filter((r, i) => i % 2 === n && r.status === 200).length)
      assert.ok(fromEach.every((k) => k > 0), `both nodes served some: ${fromEach.join(' + ')}`)
      assert.deepEqual(await redis.hkeys(`${prefix}rl:a:${agent.clientId}`), ['tokens', 'at'], 'the bucket lives in Redis')
      assert.equal(server.mandate.rateLimits.health().backend, 'redis')
      assert.deepEqual(second.mandate.rateLimits.health(), { backend: 'redis', mode: 'shared', fallbackTakes: 0, outages: 0 })
    })

    test('a node whose Redis is unreachable at start serves on its own buckets, says so once, and joins the shared buckets when Redis comes', async () => {
      const p = await proxy()
      p.cut()
      const lonely = await node({ MANDATE_REDIS: p.url })
      assert.deepEqual(lonely.mandate.rateLimits.health(), { backend: 'redis', mode: 'local', fallbackTakes: 0, outages: 1 })
      assert.deepEqual(rateLimitLines(lonely), ["warn: Redis is unreachable at start; rate limits use this node's own buckets until it answers"])

      const agent = await registeredAgent(server, { role: { rate_limit: { per_second: 0.01, burst: 5 } } })
      const t0 = performance.now()
      const local = []
      for (let i = 0; i < 6; i++) local.push(await tokenRequest(at(server, lonely), agent))
      assert.deepEqual(local.map((r) => r.status), [200, 200, 200, 200, 200, 429], 'the limit holds on local buckets')
      assert.ok(performance.now() - t0 < 3000, 'no request waited for Redis')
      assert.equal(lonely.mandate.rateLimits.health().fallbackTakes, 6)

      p.restore()
      await until('the node uses Redis again', () => lonely.mandate.rateLimits.health().mode === 'shared')
      assert.deepEqual(rateLimitLines(lonely), [
        "warn: Redis is unreachable at start; rate limits use this node's own buckets until it answers",
        'info: Redis is reachable again; rate limits use the shared buckets',
      ])
      // From now on the bucket is the shared one: both nodes together get its burst of 5, once.
      const shared = await Promise.all(Array.from({ length: 12 }, (_, i) => tokenRequest(i % 2 === 0 ? server : at(server, lonely), agent)))
      assert.deepEqual(statuses(shared), { 200: 5, 429: 7 })
      assert.ok(await redis.exists(`${prefix}rl:a:${agent.clientId}`))
    })

    test('when Redis goes away under load, no request fails or waits on it; one warning, counted; back to shared buckets when it returns', async () => {
      const p = await proxy()
      const n = await node({ MANDATE_REDIS: p.url, MANDATE_METRICS_TOKEN: METRICS_TOKEN })
      assert.equal(n.mandate.rateLimits.health().mode, 'shared')
      assert.equal((await metrics(n)).value('mandate_rate_limiter_local_fallback'), 0)
      const agent = await registeredAgent(server, { role: { rate_limit: { per_second: 0.01, burst: 1000 } } })
      const key = `${prefix}rl:a:${agent.clientId}`
      for (let i = 0; i < 3; i++) assert.equal((await tokenRequest(at(server, n), agent)).status, 200)
      assert.equal(Math.round(Number(await redis.hget(key, 'tokens'))), 997)

      p.cut()
      const t0 = performance.now()
      const during = await Promise.all(Array.from({ length: 50 }, () => tokenRequest(at(server, n), agent)))
      assert.deepEqual(statuses(during), { 200: 50 }, 'every request served while Redis was gone')
      assert.ok(performance.now() - t0 < 3000, `50 requests took ${(performance.now() - t0).toFixed(0)} ms`)
      const health = n.mandate.rateLimits.health()
      assert.deepEqual(health, { backend: 'redis', mode: 'local', outages: 1, fallbackTakes: 50 })
      assert.deepEqual(rateLimitLines(n), ['info: rate limits are shared through Redis', "warn: Redis is unreachable; rate limits use this node's own buckets until it is back"], 'one warning, not one per request')
      assert.equal((await metrics(n)).value('mandate_rate_limiter_local_fallback'), 1, 'the fallback shows in the metrics')

      p.restore()
      await until('the node uses Redis again', () => n.mandate.rateLimits.health().mode === 'shared')
      assert.equal((await tokenRequest(at(server, n), agent)).status, 200)
      assert.equal(Math.round(Number(await redis.hget(key, 'tokens'))), 996, 'the shared bucket is spent again (the 50 local takes never reached it)')
      assert.equal(rateLimitLines(n).at(-1), 'info: Redis is reachable again; rate limits use the shared buckets')
      assert.equal((await metrics(n)).value('mandate_rate_limiter_local_fallback'), 0)
    })

    test('a Redis that accepts connections but never answers costs a request at most the command timeout, then none', async () => {
      const p = await proxy()
      const n = await node({ MANDATE_REDIS: p.url })
      const agent: RegisteredAgent = await registeredAgent(server, { role: { rate_limit: { per_second: 0.01, burst: 1000 } } })
      assert.equal((await tokenRequest(at(server, n), agent)).status, 200)
      p.stall()
      const t0 = performance.now()
      assert.equal((await tokenRequest(at(server, n), agent)).status, 200)
      const first = performance.now() - t0
      assert.ok(first < 1500, `the request that found Redis silent took ${first.toFixed(0)} ms`)
      const t1 = performance.now()
      const later = await Promise.all(Array.from({ length: 20 }, () => tokenRequest(at(server, n), agent)))
      assert.deepEqual(statuses(later), { 200: 20 })
      assert.ok(performance.now() - t1 < 1000, 'later requests do not wait for Redis at all')
      assert.equal(n.mandate.rateLimits.health().outages, 1)
      p.restore()
      await until('the node uses Redis again', () => n.mandate.rateLimits.health().mode === 'shared')
    })
  })
}
