import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../../src/config/config.js'

test('without --redis, rate limits are in process; the defaults are documented values', () => {
  const c = loadConfig([], {})
  assert.equal(c.redisUrl, null)
  assert.equal(c.redisPrefix, 'mandate:')
  assert.equal(c.redisTimeoutMs, 250)
  assert.deepEqual(c.registerRateLimit, { perSecond: 20, burst: 200 })
  assert.deepEqual(c.authFailureRateLimit, { perSecond: 10, burst: 100 })
})

test('--redis and MANDATE_REDIS take redis:// and rediss:// URLs; the flag wins', () => {
  assert.equal(loadConfig(['--redis', 'redis://10.0.0.5:6379/2'], { MANDATE_REDIS: 'redis://other:6379' }).redisUrl, 'redis://10.0.0.5:6379/2')
  assert.equal(loadConfig([], { MANDATE_REDIS: 'rediss://:secret@cache.example.com:6380' }).redisUrl, 'rediss://:secret@cache.example.com:6380')
  assert.equal(loadConfig(['--redis-prefix', 'prod-eu:'], {}).redisPrefix, 'prod-eu:')
  assert.equal(loadConfig([], { MANDATE_REDIS_PREFIX: 'a:' }).redisPrefix, 'a:')
})

test('--redis-timeout and MANDATE_REDIS_TIMEOUT_MS are whole milliseconds from 10 to 10000; the flag wins', () => {
  assert.equal(loadConfig(['--redis-timeout', '1000'], { MANDATE_REDIS_TIMEOUT_MS: '50' }).redisTimeoutMs, 1000)
  assert.equal(loadConfig([], { MANDATE_REDIS_TIMEOUT_MS: '10' }).redisTimeoutMs, 10)
  for (const bad of ['9', '10001', '1.5', '-5', '1e3', 'fast', ' 250', '']) {
    assert.throws(() => loadConfig(['--redis-timeout', bad], {}), ConfigError, bad)
  }
})

test('a Redis URL that is not redis:// or rediss:// with a host and a database number is refused', () => {
  for (const bad of ['localhost:6379', 'http://cache:6379', 'redis://', 'redis:///0', 'redis://cache:6379/db', 'redis://cache:6379/0#x', 'unix:///tmp/redis.sock', 'redis://cache:99999']) {
    assert.throws(() => loadConfig(['--redis', bad], {}), ConfigError, bad)
  }
  for (const bad of ['has space', 'x'.repeat(65), 'tab\t']) {
    assert.throws(() => loadConfig(['--redis-prefix', bad], {}), ConfigError, bad)
  }
})

test('per-address limits are <per_second>:<burst>', () => {
  const c = loadConfig(['--rate-limit-register', '0.5:10'], { MANDATE_RATE_LIMIT_AUTH_FAILURES: '100:1000' })
  assert.deepEqual(c.registerRateLimit, { perSecond: 0.5, burst: 10 })
  assert.deepEqual(c.authFailureRateLimit, { perSecond: 100, burst: 1000 })
  for (const bad of ['10', '0:10', '10:0', '-1:10', '10:1.5', 'ten:10', '10:10:10', '1e3:10', '100001:10', '10:1000001', '']) {
    if (bad === '') continue
    assert.throws(() => loadConfig(['--rate-limit-register', bad], {}), ConfigError, bad)
    assert.throws(() => loadConfig([], { MANDATE_RATE_LIMIT_AUTH_FAILURES: bad }), ConfigError, bad)
  }
})
