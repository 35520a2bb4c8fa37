import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../../src/config/config.js'

const BASE = ['--data-dir', '/tmp/mandate-config-test']

test('device defaults: codes live 10 minutes, devices poll every 5 s, limits as documented', () => {
  const c = loadConfig(BASE, {})
  assert.equal(c.deviceCodeTtlSeconds, 600)
  assert.equal(c.devicePollIntervalSeconds, 5)
  assert.deepEqual(c.deviceAuthorizationRateLimit, { perSecond: 2, burst: 60 })
  assert.deepEqual(c.userCodePersonRateLimit, { perSecond: 1 / 60, burst: 10 })
  assert.deepEqual(c.userCodeAddressRateLimit, { perSecond: 0.5, burst: 50 })
})

test('flags and env set them; flags win', () => {
  const c = loadConfig([...BASE, '--device-code-ttl', '900', '--rate-limit-user-code-person', '1:5'], { MANDATE_DEVICE_CODE_TTL_SECONDS: '120', MANDATE_DEVICE_POLL_INTERVAL_SECONDS: '10' })
  assert.equal(c.deviceCodeTtlSeconds, 900)
  assert.equal(c.devicePollIntervalSeconds, 10)
  assert.deepEqual(c.userCodePersonRateLimit, { perSecond: 1, burst: 5 })
})

test('out-of-range or malformed values are refused with a message naming them', () => {
  for (const [argv, pattern] of [
    [['--device-code-ttl', '59'], /device code lifetime/],
    [['--device-code-ttl', '3601'], /device code lifetime/],
    [['--device-code-ttl', '1e3'], /device code lifetime/],
    [['--device-poll-interval', '0'], /device poll interval/],
    [['--device-poll-interval', '61'], /device poll interval/],
    [['--device-code-ttl', '60', '--device-poll-interval', '31'], /at most half/],
    [['--rate-limit-device-authorization', 'fast'], /device authorization rate limit/],
    [['--rate-limit-user-code-address', '1:0'], /user code rate limit per address/],
  ] as const) {
    assert.throws(() => loadConfig([...BASE, ...argv], {}), (err: unknown) => err instanceof ConfigError && pattern.test(err.message), argv.join(' '))
  }
})
