import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../../src/config/config.js'

test('ID tokens live 300 s unless --id-token-ttl or MANDATE_ID_TOKEN_TTL_SECONDS says otherwise (flag first)', () => {
  assert.equal(loadConfig([], {}).idTokenTtlSeconds, 300)
  assert.equal(loadConfig([], { MANDATE_ID_TOKEN_TTL_SECONDS: '600' }).idTokenTtlSeconds, 600)
  assert.equal(loadConfig(['--id-token-ttl', '60'], { MANDATE_ID_TOKEN_TTL_SECONDS: '600' }).idTokenTtlSeconds, 60)
  assert.equal(loadConfig(['--id-token-ttl', '3600'], {}).idTokenTtlSeconds, 3600)
})

test('an ID token lifetime outside 60 to 3600 s, or not a whole number, stops start-up', () => {
  for (const bad of ['0', '59', '3601', '-60', '90.5', 'hour', '1e3', ' 300', '99999']) {
    assert.throws(() => loadConfig(['--id-token-ttl', bad], {}), ConfigError, bad)
  }
})
