import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../../src/config/config.js'

test('a consent lasts 365 days unless --consent-days or MANDATE_CONSENT_DAYS says otherwise (flag first)', () => {
  assert.equal(loadConfig([], {}).consentDays, 365)
  assert.equal(loadConfig([], { MANDATE_CONSENT_DAYS: '30' }).consentDays, 30)
  assert.equal(loadConfig(['--consent-days', '1'], { MANDATE_CONSENT_DAYS: '30' }).consentDays, 1)
  assert.equal(loadConfig(['--consent-days', '3650'], {}).consentDays, 3650)
})

test('consent days outside 1 to 3650, or not a whole number, stop start-up', () => {
  for (const bad of ['0', '3651', '-1', '1.5', 'year', '1e3', ' 30', '99999']) {
    assert.throws(() => loadConfig(['--consent-days', bad], {}), ConfigError, bad)
  }
})
