import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../../src/config/config.js'

test('/authorize is limited per address: 10/s with bursts of 100 by default, set by flag or env', () => {
  assert.deepEqual(loadConfig([], {}).authorizeRateLimit, { perSecond: 10, burst: 100 })
  assert.deepEqual(loadConfig(['--rate-limit-authorize', '0.5:10'], {}).authorizeRateLimit, { perSecond: 0.5, burst: 10 })
  assert.deepEqual(loadConfig([], { MANDATE_RATE_LIMIT_AUTHORIZE: '100:1000' }).authorizeRateLimit, { perSecond: 100, burst: 1000 })
  assert.deepEqual(loadConfig(['--rate-limit-authorize', '2:20'], { MANDATE_RATE_LIMIT_AUTHORIZE: '100:1000' }).authorizeRateLimit, { perSecond: 2, burst: 20 })
  for (const bad of ['10', '0:10', '10:0', 'ten:10', '10:1.5']) {
    assert.throws(() => loadConfig(['--rate-limit-authorize', bad], {}), ConfigError, bad)
  }
  // The refresh retry window beside it is read as before.
  assert.equal(loadConfig(['--refresh-retry-window', '5'], {}).refreshRetryWindowSeconds, 5)
})
