import { test } from 'node:test'
import assert from 'node:assert/strict'
import { resolve } from 'node:path'
import { ConfigError, loadConfig } from '../../../src/config/config.js'

test('defaults serve 127.0.0.1:8080 on ./data/mandate.db', () => {
  const c = loadConfig([], {})
  assert.equal(c.host, '127.0.0.1')
  assert.equal(c.port, 8080)
  assert.deepEqual(c.db, { kind: 'sqlite', file: resolve('data/mandate.db') })
  assert.equal(c.issuer, null)
  assert.ok(Object.isFrozen(c))
})

test('flags win over MANDATE_* variables', () => {
  const c = loadConfig(['--port', '9000', '--db', ':memory:'], { MANDATE_PORT: '7000', MANDATE_HOST: '0.0.0.0', MANDATE_ISSUER: 'https://auth.example.com', MANDATE_DB: 'postgres://x@h/db' })
  assert.equal(c.port, 9000)
  assert.equal(c.host, '0.0.0.0')
  assert.deepEqual(c.db, { kind: 'sqlite', file: ':memory:' })
})

test('a postgres URL selects PostgreSQL', () => {
  assert.deepEqual(loadConfig(['--db', 'postgresql://u@127.0.0.1:5432/m'], {}).db, { kind: 'postgres', url: 'postgresql://u@127.0.0.1:5432/m' })
})

test('the issuer loses a trailing slash and must be a plain http(s) URL', () => {
  assert.equal(loadConfig(['--issuer', 'https://auth.example.com/'], {}).issuer, 'https://auth.example.com')
  for (const bad of ['auth.example.com', 'ftp://x', 'https://a.example/#f', 'https://a.example/?q', 'https://u:p@a.example']) {
    assert.throws(() => loadConfig(['--issuer', bad], {}), ConfigError, bad)
  }
})

test('a short MANDATE_ADMIN_TOKEN is refused', () => {
  assert.throws(() => loadConfig([], { MANDATE_ADMIN_TOKEN: 'admin' }), /at least 32/)
})

test('trust proxy takes true, false, a hop count, or addresses and CIDRs; anything else is refused', () => {
  assert.equal(loadConfig([], {}).trustProxy, false)
  assert.equal(loadConfig(['--trust-proxy', 'true'], {}).trustProxy, true)
  assert.equal(loadConfig([], { MANDATE_TRUST_PROXY: 'false' }).trustProxy, false)
  assert.equal(loadConfig([], { MANDATE_TRUST_PROXY: '1' }).trustProxy, 1)
  assert.deepEqual(loadConfig(['--trust-proxy', '10.0.0.0/8, 192.168.1.7,::1,fd00::/8,loopback'], {}).trustProxy, ['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8', 'loopback'])
  for (const bad of ['yes', '10.0.0.0/33', '::/129', '10.0.0.0/8/1', 'proxy.example.com', '10.0.0.1,', '-1', '999']) {
    assert.throws(() => loadConfig(['--trust-proxy', bad], {}), ConfigError, bad)
  }
  assert.throws(() => loadConfig(['--trust-proxy'], {}), ConfigError, 'the flag needs a value')
})

test('listening on every interface needs an explicit issuer: none could be guessed that clients reach', () => {
  for (const host of ['0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0']) {
    assert.throws(() => loadConfig(['--host', host], {}), /set --issuer/, host)
    assert.equal(loadConfig(['--host', host, '--issuer', 'https://auth.example.com'], {}).host, host)
  }
  assert.equal(loadConfig(['--host', '::1'], {}).issuer, null)
})

test('the request timeout is 30 s unless set, in whole seconds from 1', () => {
  assert.equal(loadConfig([], {}).requestTimeoutSeconds, 30)
  assert.equal(loadConfig(['--request-timeout', '5'], { MANDATE_REQUEST_TIMEOUT_SECONDS: '9' }).requestTimeoutSeconds, 5)
  assert.equal(loadConfig([], { MANDATE_REQUEST_TIMEOUT_SECONDS: '9' }).requestTimeoutSeconds, 9)
  for (const bad of ['0', '-1', '1.5', 'ten', '99999']) assert.throws(() => loadConfig(['--request-timeout', bad], {}), ConfigError, bad)
})
