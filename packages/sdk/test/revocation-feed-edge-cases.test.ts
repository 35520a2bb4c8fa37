import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, test } from 'node:test'
import { BearerError, createVerifier, silentLogger, type Logger, type Verifier } from '../src/index.js'
import { startKeyIssuer, type AheadCursor } from './support/key-issuer.js'
import { recordingLogger } from './support/probes.js'
import { rejection, waitUntil } from './support/waiting.js'

/**
 * The revocation stream where a real server cannot be made to misbehave on purpose: a feed the
 * test writes (support/key-issuer.ts) that can be restored to an older head, answer a cursor
 * ahead of it as a server that does not check would, and carry entry types this SDK does not know.
 * The same paths against a real Mandate: revocation-following.test.ts and key-rotation.test.ts.
 */
const RS = 'https://rs.example'
/** docs/sessions.md: a revocation reaches a verifier following the feed within a second. */
const REFUSED_WITHIN_MS = 1000

describe('revocation feed edge cases, with a feed the test controls', () => {
  let keys: Awaited<ReturnType<typeof startKeyIssuer>>
  const verifiers: Verifier[] = []
  before(async () => {
    keys = await startKeyIssuer()
  })
  beforeEach(() => {
    // Each test restores the feed; the last test's verifiers are not to be part of it.
    for (const v of verifiers.splice(0)) v.close()
  })
  after(async () => {
    for (const v of verifiers) v.close()
    await keys.close()
  })

  function follow(logger: Logger = silentLogger): Verifier {
    // The fake feed takes any credentials.
    const v = createVerifier({ issuer: keys.issuer, audience: RS, credentials: { clientId: 'rs', clientSecret: 'rs-secret' }, logger })
    verifiers.push(v)
    return v
  }

  const refusal = async (v: Verifier, token: string) => (await rejection(v.verify(token), BearerError)).description
  /** Resolves once `token` is refused by `v`; the milliseconds it took. */
  const refusedWithin = (v: Verifier, token: string, ms: number) => waitUntil(async () => (await v.verify(token).then(() => false, () => true)), ms, 'the token to be refused', 5)

  for (const [ahead, how] of [
    ['refuse', 'refuses it (400 invalid_request), as Mandate does'],
    ['sync-at-head', 'says it is synced at its own, lower, cursor'],
  ] as [AheadCursor, string][]) {
    test(`a cursor ahead of a restored feed that ${how}: one warning, it starts over without a cursor, and keeps what it had`, async () => {
      keys.restoreFeed(0)
      keys.feed.aheadCursor = ahead
      const kid = await keys.newKey()
      const log = recordingLogger()
      const v = follow(log.logger)
      const tokens = await Promise.all([1, 2, 3, 4, 5, 6].map(() => keys.sign(kid, { jti: crypto.randomUUID() })))
      const jti = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).jti as string
      await v.ready(5)
      for (const t of tokens.slice(0, 5)) keys.revoke('token', jti(t))
      await refusedWithin(v, tokens[4]!, REFUSED_WITHIN_MS)
      assert.equal(v.revocationStatus().cursor, '5')
      const connections = keys.feed.connections.length

      // The server comes back from a backup taken at cursor 2; the verifier reconnects from 5.
      keys.restoreFeed(2)
      await waitUntil(() => keys.feed.connections.length >= connections + 2 && v.revocationStatus().synced, 10_000, 'the verifier to start over')
      assert.deepEqual(keys.feed.connections.slice(connections), ['5', null], 'resumed from its cursor, then started over without one')
      // Revoked on the restored server: cursor 3, which a verifier still at cursor 5 would never ask for.
      assert.equal(keys.revoke('token', jti(tokens[5]!)), '3')
      const took = await refusedWithin(v, tokens[5]!, REFUSED_WITHIN_MS)
      assert.ok(took <= REFUSED_WITHIN_MS)
      // What it had learnt before stays, though the restored feed has forgotten entries 3 to 5.
      for (const t of tokens.slice(0, 5)) assert.equal(await refusal(v, t), 'the token has been revoked')
      // One warning for the cursor, besides the one for the connection that dropped.
      const warnings = log.lines.filter((l) => l.level === 'warn')
      const aheadWarnings = warnings.filter((w) => /cursor is ahead/.test(w.message))
      assert.deepEqual(aheadWarnings.map((w) => w.message), ["revocation stream cursor is ahead of the server's feed (restored from a backup, or another server?); starting over from every revocation still in force"])
      assert.equal(aheadWarnings[0]!.fields?.cursor, '5')
      assert.deepEqual(warnings.filter((w) => !aheadWarnings.includes(w)).map((w) => w.message), ['revocation stream down; reconnecting'])
      assert.equal(keys.feed.connections.length, connections + 2, 'no reconnection loop')
    })
  }

  test('entries of a type the SDK does not know are ignored, without a warning, and the stream goes on past them', async () => {
    keys.restoreFeed(0)
    const kid = await keys.newKey()
    const log = recordingLogger()
    const v = follow(log.logger)
    keys.revoke('quota', 'agt_whatever')
    await v.ready(5)
    const token = await keys.sign(kid)
    assert.ok(await v.verify(token))
    keys.revoke('quota', 'agt_other')
    keys.revoke('device', 'dev_1')
    const jti = crypto.randomUUID()
    const revoked = await keys.sign(kid, { jti })
    keys.revoke('token', jti)
    await refusedWithin(v, revoked, REFUSED_WITHIN_MS)
    assert.ok(await v.verify(token))
    assert.equal(v.revocationStatus().cursor, '4')
    assert.deepEqual(log.lines.filter((l) => l.level === 'warn' || l.level === 'error'), [])
    // Said once per unknown type, at debug level.
    assert.deepEqual(log.lines.filter((l) => l.level === 'debug').map((l) => l.fields?.type), ['quota', 'device'])
  })

  test('a withdrawn key: every token it signed is refused within a second, whatever its iat and though the JWKS still lists it; other keys are unaffected', async () => {
    keys.restoreFeed(0)
    const compromised = await keys.newKey()
    const other = await keys.newKey()
    const v = follow()
    await v.ready(5)
    const signed = await keys.sign(compromised)
    const fine = await keys.sign(other)
    for (const t of [signed, fine]) assert.ok(await v.verify(t))

    keys.revoke('key', compromised)
    await refusedWithin(v, signed, REFUSED_WITHIN_MS)
    assert.equal(await refusal(v, signed), 'the token was signed with a withdrawn key')
    // Signed after the withdrawal (by whoever holds the key): refused all the same.
    const later = Math.floor(Date.now() / 1000) + 60
    assert.equal(await refusal(v, await keys.sign(compromised, { iat: later })), 'the token was signed with a withdrawn key')
    assert.ok(await v.verify(fine))
    assert.ok(await v.verify(await keys.sign(other)))

    // A verifier that starts now learns of the withdrawal from the backlog before it trusts a token.
    const fresh = follow()
    const [a, b] = await Promise.allSettled([fresh.verify(signed), fresh.verify(fine)])
    assert.equal(a.status === 'rejected' && (a.reason as BearerError).description, 'the token was signed with a withdrawn key')
    assert.equal(b.status, 'fulfilled')
  })

  test('a token without a kid is never verified with a withdrawn key, even by a verifier asked before its first sync', async () => {
    // An issuer with a single key, so that a token need not name it.
    const solo = await startKeyIssuer()
    try {
      const kid = await solo.newKey()
      const withoutKid = await solo.sign(kid, {}, { kid: false })
      const credentials = { clientId: 'rs', clientSecret: 'rs-secret' }
      const v = createVerifier({ issuer: solo.issuer, audience: RS, credentials, logger: silentLogger })
      verifiers.push(v)
      assert.ok(await v.verify(withoutKid))
      solo.revoke('key', kid)
      await refusedWithin(v, withoutKid, REFUSED_WITHIN_MS)
      assert.equal(await refusal(v, withoutKid), 'the token is signed with an unknown key')

      // Asked at once: the key checks out before the backlog is in; the withdrawal in the backlog must still count.
      const fresh = createVerifier({ issuer: solo.issuer, audience: RS, credentials, logger: silentLogger })
      verifiers.push(fresh)
      assert.equal(fresh.revocationStatus().synced, false)
      await rejection(fresh.verify(withoutKid), BearerError)
    } finally {
      for (const v of verifiers.splice(0)) v.close()
      await solo.close()
    }
  })
})
