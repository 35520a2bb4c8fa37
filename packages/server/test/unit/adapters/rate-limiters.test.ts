import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Redis } from 'ioredis'
import { MemoryRateLimiter } from '../../../src/adapters/shared-state/memory/memory-rate-limiter.js'
import { RedisRateLimiter } from '../../../src/adapters/shared-state/redis/redis-rate-limiter.js'
import { FallbackRateLimiter, type SharedRateLimiter } from '../../../src/adapters/shared-state/fallback-rate-limiter.js'
import type { RateDecision, RatePolicy } from '../../../src/ports/rate-limiter.js'
import { requireRedis } from '../../support/redis.js'
import { deleteKeys, uniquePrefix } from '../../support/redis-tools.js'

/** A clock the test moves by hand (milliseconds). */
function manualNow(start = 1_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

const takeAll = (limiter: { takeNow(k: string, p: RatePolicy): RateDecision }, key: string, policy: RatePolicy, n: number) =>
  Array.from({ length: n }, () => limiter.takeNow(key, policy))

describe('memory token buckets', () => {
  test('a full bucket allows its burst at once, then refuses until tokens refill at the rate', () => {
    const clock = manualNow()
    const limiter = new MemoryRateLimiter({ now: clock.now })
    const policy = { perSecond: 10, burst: 5 }
    const burst = takeAll(limiter, 'a', policy, 5)
    assert.deepEqual(burst.map((d) => d.allowed), [true, true, true, true, true])
    assert.deepEqual(burst.map((d) => d.remaining), [4, 3, 2, 1, 0])
    const refused = limiter.takeNow('a', policy)
    assert.equal(refused.allowed, false)
    assert.equal(refused.remaining, 0)
    assert.equal(refused.retryAfterMs, 100, 'one token comes back after 1/10 s')
    assert.equal(refused.resetMs, 500, 'five tokens take half a second')

    clock.advance(99)
    assert.equal(limiter.takeNow('a', policy).allowed, false, 'not quite one token yet')
    clock.advance(1)
    assert.equal(limiter.takeNow('a', policy).allowed, true, 'one token after 100 ms')
    assert.equal(limiter.takeNow('a', policy).allowed, false)

    clock.advance(10_000)
    const refilled = takeAll(limiter, 'a', policy, 6)
    assert.equal(refilled.filter((d) => d.allowed).length, 5, 'a long pause refills to the burst, never beyond')
  })

  test('the sustained rate is the refill rate: 10/s over 3 s allows burst + 30', () => {
    const clock = manualNow()
    const limiter = new MemoryRateLimiter({ now: clock.now })
    const policy = { perSecond: 10, burst: 5 }
    let allowed = 0
    for (let ms = 0; ms < 3000; ms += 10) {
      for (let i = 0; i < 3; i++) if (limiter.takeNow('a', policy).allowed) allowed++
      clock.advance(10)
    }
    assert.ok(allowed >= 34 && allowed <= 36, `allowed ${allowed}`)
  })

  test('a token given back is there for the next take, never above the burst', () => {
    const clock = manualNow()
    const limiter = new MemoryRateLimiter({ now: clock.now })
    const policy = { perSecond: 0.5, burst: 2 }
    takeAll(limiter, 'g', policy, 2)
    assert.equal(limiter.takeNow('g', policy).allowed, false)
    limiter.giveBackNow('g', policy)
    const again = limiter.takeNow('g', policy)
    assert.equal(again.allowed, true)
    assert.equal(again.remaining, 0)
    limiter.giveBackNow('g', policy)
    limiter.giveBackNow('g', policy)
    limiter.giveBackNow('g', policy)
    assert.equal(takeAll(limiter, 'g', policy, 3).filter((d) => d.allowed).length, 2, 'given back up to the burst only')
    limiter.giveBackNow('never-taken', policy)
    assert.equal(limiter.size, 1, 'giving back to a bucket not held creates none')
  })

  test('buckets are per key: one key empty, another full', () => {
    const clock = manualNow()
    const limiter = new MemoryRateLimiter({ now: clock.now })
    const policy = { perSecond: 1, burst: 2 }
    takeAll(limiter, 'noisy', policy, 10)
    assert.equal(limiter.takeNow('noisy', policy).allowed, false)
    assert.deepEqual(takeAll(limiter, 'quiet', policy, 2).map((d) => d.allowed), [true, true])
  })

  test('a fractional rate (one every 2 s) and a lowered burst are honoured', () => {
    const clock = manualNow()
    const limiter = new MemoryRateLimiter({ now: clock.now })
    assert.equal(limiter.takeNow('slow', { perSecond: 0.5, burst: 1 }).allowed, true)
    const refused = limiter.takeNow('slow', { perSecond: 0.5, burst: 1 })
    assert.equal(refused.allowed, false)
    assert.equal(refused.retryAfterMs, 2000)
    clock.advance(2000)
    assert.equal(limiter.takeNow('slow', { perSecond: 0.5, burst: 1 }).allowed, true)

    takeAll(limiter, 'b', { perSecond: 1, burst: 100 }, 10)
    // 90 left; the role is changed to burst 3: at most 3 remain.
    const lowered = limiter.takeNow('b', { perSecond: 1, burst: 3 })
    assert.equal(lowered.allowed, true)
    assert.equal(lowered.remaining, 2)
  })

  test('idle buckets are forgotten once full, and the number of buckets is bounded', () => {
    const clock = manualNow()
    const limiter = new MemoryRateLimiter({ now: clock.now, maxKeys: 100 })
    const policy = { perSecond: 10, burst: 10 }
    for (let i = 0; i < 50; i++) limiter.takeNow(`k${i}`, policy)
    assert.equal(limiter.size, 50)
    clock.advance(50)
    limiter.sweep()
    assert.equal(limiter.size, 50, 'not yet full again')
    clock.advance(60)
    limiter.sweep()
    assert.equal(limiter.size, 0)
    for (let i = 0; i < 1000; i++) limiter.takeNow(`flood${i}`, policy)
    assert.ok(limiter.size <= 100, `size ${limiter.size}`)
  })

  test('a take costs about a microsecond and allocates no bucket for a known key', () => {
    const limiter = new MemoryRateLimiter()
    const policy = { perSecond: 1e5, burst: 1e6 }
    for (let i = 0; i < 10_000; i++) limiter.takeNow(`agt_${i % 100}`, policy)
    const t0 = performance.now()
    for (let i = 0; i < 100_000; i++) limiter.takeNow(`agt_${i % 100}`, policy)
    const perTakeUs = ((performance.now() - t0) * 1000) / 100_000
    assert.equal(limiter.size, 100)
    // Generous bound (shared CI machines); in practice well under a microsecond.
    assert.ok(perTakeUs < 20, `${perTakeUs.toFixed(2)} µs per take`)
  })
})

describe('the fallback between shared and local buckets', () => {
  function fakeShared() {
    const state = { down: false, pings: 0, takes: 0 }
    const shared: SharedRateLimiter = {
      async take() {
        state.takes++
        if (state.down) throw new Error('Connection is closed.')
        return { allowed: true, remaining: 99, retryAfterMs: 0, resetMs: 10 }
      },
      async giveBack() {
        if (state.down) throw new Error('Connection is closed.')
      },
      async ping() {
        state.pings++
        if (state.down) throw new Error('Connection is closed.')
      },
    }
    return { shared, state }
  }
  function recordingLog() {
    const lines: Array<{ level: string; msg: string }> = []
    return { lines, log: { warn: (_o: object, msg: string) => lines.push({ level: 'warn', msg }), info: (_o: object, msg: string) => lines.push({ level: 'info', msg }) } }
  }

  test('a failed shared take is answered from local buckets; Redis is then left alone until a probe succeeds', async () => {
    const { shared, state } = fakeShared()
    const { lines, log } = recordingLog()
    const events: string[] = []
    const limiter = new FallbackRateLimiter(shared, new MemoryRateLimiter(), log, { limited: () => undefined, fallback: (a) => events.push(`fallback ${a}`) }, 20)
    const policy = { perSecond: 1, burst: 3 }
    assert.equal((await limiter.take('a', policy)).remaining, 99, 'shared')
    state.down = true
    const local = await Promise.all(Array.from({ length: 5 }, () => limiter.take('a', policy)))
    assert.deepEqual(local.map((d) => d.allowed), [true, true, true, false, false], 'local buckets with the same policy')
    const takesWhileDown = state.takes
    await limiter.take('a', policy)
    assert.equal(state.takes, takesWhileDown, 'no request goes to a Redis known to be down')
    assert.deepEqual(limiter.health(), { mode: 'local', fallbackTakes: 6, outages: 1 })
    assert.deepEqual(lines, [{ level: 'warn', msg: "Redis is unreachable; rate limits use this node's own buckets until it is back" }], 'one warning, not one per request')

    // Waited for rather than slept on: timers run late on a loaded machine (20 ms probes).
    const until = async (done: () => boolean) => {
      for (const end = Date.now() + 5000; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5))
    }
    await until(() => state.pings >= 2)
    assert.ok(state.pings >= 2, 'probed while down')
    state.down = false
    await until(() => limiter.health().mode === 'shared')
    assert.equal(limiter.health().mode, 'shared')
    assert.equal((await limiter.take('a', policy)).remaining, 99, 'shared again')
    assert.equal(lines.length, 2)
    assert.deepEqual(lines[1], { level: 'info', msg: 'Redis is reachable again; rate limits use the shared buckets' })
    assert.deepEqual(events, ['fallback true', 'fallback false'])
    const pings = state.pings
    await new Promise((r) => setTimeout(r, 50))
    assert.equal(state.pings, pings, 'no probing once back')
    limiter.close()
  })
})

const redisUrl = await requireRedis()

describe('Redis token buckets (the Lua script)', { skip: redisUrl === undefined && 'Redis is not reachable' }, () => {
  let redis: Redis
  let prefix: string
  let limiter: RedisRateLimiter
  before(async () => {
    redis = new Redis(redisUrl!, { maxRetriesPerRequest: 1 })
    prefix = uniquePrefix()
    limiter = new RedisRateLimiter(redis, prefix)
    await limiter.load()
  })
  after(async () => {
    await deleteKeys(redis, prefix)
    redis.disconnect()
  })

  test('burst, then refusal with the time until the next token, then refill', async () => {
    const policy = { perSecond: 10, burst: 5 }
    const burst = []
    for (let i = 0; i < 5; i++) burst.push(await limiter.take('a', policy))
    assert.deepEqual(burst.map((d) => d.allowed), [true, true, true, true, true])
    assert.deepEqual(burst.map((d) => d.remaining), [4, 3, 2, 1, 0])
    const refused = await limiter.take('a', policy)
    assert.equal(refused.allowed, false)
    assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 100, `retry after ${refused.retryAfterMs} ms`)
    assert.ok(refused.resetMs > 400 && refused.resetMs <= 500, `reset ${refused.resetMs} ms`)
    await new Promise((r) => setTimeout(r, refused.retryAfterMs + 5))
    assert.equal((await limiter.take('a', policy)).allowed, true)
  })

  test('concurrent takes are atomic: 200 at once from a burst of 50 allow exactly 50 (the rate adds at most a few)', async () => {
    const policy = { perSecond: 1, burst: 50 }
    const results = await Promise.all(Array.from({ length: 200 }, () => limiter.take('race', policy)))
    const allowed = results.filter((d) => d.allowed).length
    assert.ok(allowed >= 50 && allowed <= 51, `allowed ${allowed}`)
  })

  test('a token given back is there for the next take, never above the burst', async () => {
    const policy = { perSecond: 0.01, burst: 2 }
    assert.equal((await limiter.take('give', policy)).allowed, true)
    assert.equal((await limiter.take('give', policy)).allowed, true)
    assert.equal((await limiter.take('give', policy)).allowed, false)
    await limiter.giveBack('give', policy)
    assert.equal((await limiter.take('give', policy)).allowed, true)
    for (let i = 0; i < 4; i++) await limiter.giveBack('give', policy)
    const after = [await limiter.take('give', policy), await limiter.take('give', policy), await limiter.take('give', policy)]
    assert.deepEqual(after.map((d) => d.allowed), [true, true, false], 'given back up to the burst only')
  })

  test('a bucket key expires once it would be full again', async () => {
    await limiter.take('idle', { perSecond: 100, burst: 10 })
    const ttl = await redis.pttl(`${prefix}rl:idle`)
    assert.ok(ttl > 0 && ttl <= 1010, `pttl ${ttl}`)
    assert.deepEqual(await redis.hkeys(`${prefix}rl:idle`), ['tokens', 'at'])
  })

  test('the script is loaded again when Redis has forgotten it (restart, SCRIPT FLUSH)', async () => {
    await redis.script('FLUSH')
    assert.equal((await limiter.take('after-flush', { perSecond: 1, burst: 1 })).allowed, true)
    assert.equal((await limiter.take('after-flush', { perSecond: 1, burst: 1 })).allowed, false)
  })
})
