import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatUserCode, newUserCode, normaliseUserCode, USER_CODE_ALPHABET } from '../../../../src/domain/devices/user-code.js'

test('user codes are 8 characters of the 20 consonants, every one of them used', () => {
  const seen = new Set<string>()
  for (let i = 0; i < 2000; i++) {
    const code = newUserCode()
    assert.match(code, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/)
    for (const c of code) seen.add(c)
  }
  assert.equal(seen.size, USER_CODE_ALPHABET.length)
  assert.ok(!/[AEIOUY0-9]/.test(USER_CODE_ALPHABET), 'no vowels, no digits (RFC 8628 §6.1)')
})

test('shown as XXXX-XXXX', () => {
  assert.equal(formatUserCode('BCDFGHJK'), 'BCDF-GHJK')
})

test('what people type is normalised: case, dashes and white space do not matter', () => {
  for (const typed of ['BCDF-GHJK', 'bcdf-ghjk', 'bcdfghjk', ' BCDF GHJK ', 'bc-df-gh-jk', 'BCDF–GHJK', 'BCDF\tGHJK']) assert.equal(normaliseUserCode(typed), 'BCDFGHJK', JSON.stringify(typed))
})

test('anything else is not a user code, and is never looked up', () => {
  for (const typed of ['', 'BCDF-GHJ', 'BCDF-GHJKL', 'AEIO-UAEI', '1234-5678', 'BCDF_GHJK', 'BCDF.GHJK', 'ſCDF-GHJK', 'ＢＣＤＦ-ＧＨＪＫ', `BCDF-GHJK${' '.repeat(30)}`, 'B'.repeat(1000)]) {
    assert.equal(normaliseUserCode(typed), undefined, JSON.stringify(typed.slice(0, 40)))
  }
})
