import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { checkCodeVerifier, parseCodeChallenge } from '../../../src/protocol/pkce.js'
import { matchRedirectUri, redirectUriProblem, withResponseParams } from '../../../src/protocol/redirect-uri.js'
import { OAuthError } from '../../../src/protocol/errors.js'

const s256 = (v: string) => createHash('sha256').update(v).digest('base64url')
const code = (fn: () => unknown) => {
  try {
    fn()
    return 'ok'
  } catch (err) {
    assert.ok(err instanceof OAuthError, String(err))
    return err.code
  }
}

test('RFC 7636 §4.1: verifiers of 43 to 128 unreserved characters; 42, 129 and + / = are refused', () => {
  for (const v of ['a'.repeat(43), 'A-._~'.repeat(25) + 'abc', 'z'.repeat(128)]) assert.equal(code(() => checkCodeVerifier(v, s256(v))), 'ok', `${v.length}`)
  for (const v of ['a'.repeat(42), 'a'.repeat(129), `${'a'.repeat(42)}+`, `${'a'.repeat(42)}/`, `${'a'.repeat(42)}=`, `${'a'.repeat(42)} `, `${'a'.repeat(42)}é`]) {
    assert.equal(code(() => checkCodeVerifier(v, s256(v))), 'invalid_request', JSON.stringify(v))
  }
  assert.equal(code(() => checkCodeVerifier('b'.repeat(43), s256('a'.repeat(43)))), 'invalid_grant')
  assert.equal(code(() => checkCodeVerifier(undefined, s256('a'.repeat(43)))), 'invalid_request')
})

test('RFC 9700 §4.8.2: a verifier for a code issued without a challenge is refused (and such a code never redeems)', () => {
  assert.equal(code(() => checkCodeVerifier('a'.repeat(43), null)), 'invalid_grant')
  assert.equal(code(() => checkCodeVerifier(undefined, null)), 'invalid_grant')
})

test('only S256 challenges of 43 base64url characters', () => {
  const ok = s256('a'.repeat(43))
  assert.equal(code(() => parseCodeChallenge(ok, 'S256')), 'ok')
  for (const [c, m] of [[ok, 'plain'], [ok, undefined], [ok, 's256'], [undefined, 'S256'], ['a'.repeat(42), 'S256'], ['a'.repeat(44), 'S256'], [`${'a'.repeat(42)}=`, 'S256'], [`${'a'.repeat(42)}+`, 'S256']] as const) {
    assert.equal(code(() => parseCodeChallenge(c, m)), 'invalid_request', `${c} ${m}`)
  }
})

test('redirect URIs match exactly: path, host, case, trailing slash, query all count', () => {
  const registered = ['https://app.example.com/cb', 'com.example.app:/cb']
  assert.equal(matchRedirectUri(registered, 'https://app.example.com/cb'), 'https://app.example.com/cb')
  assert.equal(matchRedirectUri(registered, 'com.example.app:/cb'), 'com.example.app:/cb')
  for (const uri of ['https://app.example.com/cb/', 'https://app.example.com/cb2', 'https://App.example.com/cb', 'https://app.example.com:443/cb', 'https://app.example.com/cb?x', 'https://evil.example.com/cb', 'https://app.example.com/CB']) {
    assert.equal(matchRedirectUri(registered, uri), undefined, uri)
  }
})

test('RFC 8252 §7.3: a loopback IP literal may use any port; names and other paths may not', () => {
  const registered = ['http://127.0.0.1/cb', 'http://[::1]:8080/cb', 'http://localhost:9000/cb']
  assert.equal(matchRedirectUri(registered, 'http://127.0.0.1:51234/cb'), 'http://127.0.0.1:51234/cb')
  assert.equal(matchRedirectUri(registered, 'http://127.0.0.1/cb'), 'http://127.0.0.1/cb')
  assert.equal(matchRedirectUri(registered, 'http://[::1]:1/cb'), 'http://[::1]:1/cb')
  assert.equal(matchRedirectUri(registered, 'http://[::1]/cb'), 'http://[::1]/cb')
  for (const uri of ['http://127.0.0.1:51234/cb/', 'http://127.0.0.1:51234/other', 'http://127.0.0.2:51234/cb', 'https://127.0.0.1:51234/cb', 'http://localhost:9001/cb', 'http://127.0.0.1:99999/cb', 'http://127.0.0.1:0080/cb', 'http://127.0.0.1:80@evil.example/cb']) {
    assert.equal(matchRedirectUri(registered, uri), undefined, uri)
  }
  assert.equal(matchRedirectUri(registered, 'http://localhost:9000/cb'), 'http://localhost:9000/cb', 'localhost matches exactly (RFC 8252 §8.3)')
})

test('registration: https, loopback http, localhost, private-use schemes; no fragments, no plain http elsewhere', () => {
  for (const ok of ['https://a.example/cb', 'http://127.0.0.1:1/cb', 'http://[::1]/cb', 'http://localhost/cb', 'com.example.app:/cb']) assert.equal(redirectUriProblem(ok), undefined, ok)
  for (const bad of ['http://a.example/cb', 'https://a.example/cb#x', 'javascript:alert(1)', 'app:/cb', '/cb']) assert.notEqual(redirectUriProblem(bad), undefined, bad)
})

test('response parameters are appended to the query the redirect URI already has', () => {
  assert.equal(withResponseParams('https://a.example/cb', { code: 'c', state: undefined, iss: 'https://as' }), 'https://a.example/cb?code=c&iss=https%3A%2F%2Fas')
  assert.equal(withResponseParams('https://a.example/cb?x=%20y', { code: 'c' }), 'https://a.example/cb?x=%20y&code=c')
})
