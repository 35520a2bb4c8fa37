import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../../src/config/config.js'

const TOKEN = 'mdt_metrics_0123456789abcdefghijklmnopqrstuvwxyz'

test('without MANDATE_METRICS_TOKEN metrics are off', () => {
  assert.equal(loadConfig([], {}).metricsToken, null)
  assert.equal(loadConfig([], { MANDATE_METRICS_TOKEN: '' }).metricsToken, null)
})

test('MANDATE_METRICS_TOKEN: 32+ characters a bearer token can carry, and not the admin token', () => {
  assert.equal(loadConfig([], { MANDATE_METRICS_TOKEN: TOKEN }).metricsToken, TOKEN)
  for (const bad of ['short', 'x'.repeat(31), `${'x'.repeat(32)} y`, `${'x'.repeat(32)}\n`, `${'x'.repeat(32)}é`]) {
    assert.throws(() => loadConfig([], { MANDATE_METRICS_TOKEN: bad }), (err: unknown) => err instanceof ConfigError && !err.message.includes(bad), JSON.stringify(bad))
  }
  assert.throws(() => loadConfig([], { MANDATE_METRICS_TOKEN: TOKEN, MANDATE_ADMIN_TOKEN: TOKEN }), ConfigError)
})
