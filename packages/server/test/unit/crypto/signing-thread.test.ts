import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Worker } from 'node:worker_threads'
import { compactVerify, decodeProtectedHeader, generateKeyPair, type CryptoKey } from 'jose'
import { inProcessSigner } from '../../../src/crypto/compact-jws.js'
import { SigningThread } from '../../../src/crypto/signing-thread/signing-thread.js'

async function keyPair() {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  return { privateKey: privateKey as CryptoKey, publicKey: publicKey as CryptoKey }
}

async function claimsOf(token: string, publicKey: CryptoKey): Promise<Record<string, unknown>> {
  const { payload } = await compactVerify(token, publicKey, { algorithms: ['ES256'] })
  return JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>
}

test('tokens signed on the thread are ES256 compact JWS that jose verifies, with the header asked for', async () => {
  const { privateKey, publicKey } = await keyPair()
  const thread = new SigningThread(() => assert.fail('the thread must not fail'))
  try {
    const signer = thread.signerFor('kid-1', privateKey)
    // Many at once: one batch for the thread, each answer to its own caller.
    const tokens = await Promise.all(Array.from({ length: 300 }, (_, i) => signer.sign('at+jwt', JSON.stringify({ n: i, text: 'ünïcode ✓' }))))
    assert.equal(new Set(tokens).size, 300)
    for (const [i, token] of tokens.entries()) {
      assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', typ: 'at+jwt', kid: 'kid-1' })
      assert.deepEqual(await claimsOf(token, publicKey), { n: i, text: 'ünïcode ✓' })
    }
  } finally {
    await thread.close()
  }
})

test('two keys on one thread: each token is signed by the key it names', async () => {
  const a = await keyPair()
  const b = await keyPair()
  const thread = new SigningThread(() => assert.fail('the thread must not fail'))
  try {
    const [ta, tb] = await Promise.all([thread.signerFor('a', a.privateKey).sign('at+jwt', '{"k":"a"}'), thread.signerFor('b', b.privateKey).sign('logout+jwt', '{"k":"b"}')])
    assert.deepEqual(await claimsOf(ta, a.publicKey), { k: 'a' })
    assert.deepEqual(await claimsOf(tb, b.publicKey), { k: 'b' })
    assert.equal(decodeProtectedHeader(tb).typ, 'logout+jwt')
    await assert.rejects(compactVerify(ta, b.publicKey))
  } finally {
    await thread.close()
  }
})

test('if the thread dies, what it held and everything after is signed on the main thread, and the failure is reported once', async () => {
  const { privateKey, publicKey } = await keyPair()
  const failures: Error[] = []
  const thread = new SigningThread((err) => failures.push(err))
  const signer = thread.signerFor('kid-1', privateKey)
  await signer.sign('at+jwt', '{"warm":true}')
  // The thread's own failure path: it exits while a batch is in flight.
  const worker = (thread as unknown as { worker: Worker }).worker
  const inFlight = Promise.all(Array.from({ length: 50 }, (_, i) => signer.sign('at+jwt', JSON.stringify({ i }))))
  await new Promise((r) => setImmediate(r))
  await worker.terminate()
  const tokens = await inFlight
  for (const [i, token] of tokens.entries()) assert.deepEqual(await claimsOf(token, publicKey), { i })
  assert.deepEqual(await claimsOf(await signer.sign('at+jwt', '{"after":true}'), publicKey), { after: true })
  assert.equal(failures.length, 1)
  await thread.close()
})

test('close waits for the tokens in flight; a token asked for after close is still signed', async () => {
  const { privateKey, publicKey } = await keyPair()
  const thread = new SigningThread(() => assert.fail('closing is not a failure'))
  const signer = thread.signerFor('kid-1', privateKey)
  const pending = Array.from({ length: 20 }, (_, i) => signer.sign('at+jwt', JSON.stringify({ i })))
  await thread.close()
  const tokens = await Promise.all(pending)
  assert.equal(tokens.length, 20)
  assert.deepEqual(await claimsOf(await signer.sign('at+jwt', '{"late":1}'), publicKey), { late: 1 })
})

test('the in-process signer and the thread produce tokens of the same shape', async () => {
  const { privateKey, publicKey } = await keyPair()
  const token = await inProcessSigner('kid-1', privateKey).sign('at+jwt', '{"x":1}')
  assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', typ: 'at+jwt', kid: 'kid-1' })
  assert.deepEqual(await claimsOf(token, publicKey), { x: 1 })
  // A key of another curve is refused rather than used.
  const { privateKey: p384 } = await generateKeyPair('ES384', { extractable: true })
  assert.throws(() => inProcessSigner('k', p384 as CryptoKey))
})
