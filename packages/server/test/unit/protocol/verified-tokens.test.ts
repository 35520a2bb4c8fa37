import { test } from 'node:test'
import assert from 'node:assert/strict'
import { VerifiedTokens } from '../../../src/protocol/verified-tokens.js'

const NOW = Date.UTC(2026, 11, 4)
const published = () => true

test('a verified token is known until its exp second begins, as jose judges expiry', () => {
  const cache = new VerifiedTokens<{ exp: number; jti: string }>()
  const exp = NOW / 1000 + 60
  cache.set('t', 'k1', { exp, jti: 'j' })
  assert.deepEqual(cache.get('t', NOW, published), { exp, jti: 'j' })
  assert.ok(cache.get('t', exp * 1000 - 1, published))
  assert.equal(cache.get('t', exp * 1000, published), undefined)
  // Once expired it is gone, even if asked about with an earlier time.
  assert.equal(cache.get('t', NOW, published), undefined)
})

test('a token whose signing key is no longer published is not known', () => {
  const cache = new VerifiedTokens<{ exp: number }>()
  cache.set('t', 'withdrawn', { exp: NOW / 1000 + 60 })
  assert.equal(cache.get('t', NOW, (kid) => kid !== 'withdrawn'), undefined)
})

test('only the exact token text hits, and the cache is bounded', () => {
  const cache = new VerifiedTokens<{ exp: number }>(3)
  for (const t of ['a', 'b', 'c', 'd']) cache.set(t, 'k', { exp: NOW / 1000 + 60 })
  assert.equal(cache.get('a', NOW, published), undefined, 'the oldest left when the fourth came')
  assert.ok(cache.get('d', NOW, published))
  assert.equal(cache.get('d ', NOW, published), undefined)
})

test('cached claims cannot be changed by a caller', () => {
  const cache = new VerifiedTokens<{ exp: number; scope: string }>()
  cache.set('t', 'k', { exp: NOW / 1000 + 60, scope: 'read' })
  const claims = cache.get('t', NOW, published)!
  assert.throws(() => {
    ;(claims as { scope: string }).scope = 'admin'
  })
})
