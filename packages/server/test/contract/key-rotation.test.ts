import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { freshStorage } from '../support/storage.js'
import type { OpenDatabase, Storage } from '../../src/adapters/storage/sql/index.js'
import { KeyService, PUBLISH_AHEAD_SECONDS } from '../../src/crypto/key-service.js'
import { StandbyKeyNotReady } from '../../src/domain/errors.js'
import { envelope } from '../../src/crypto/envelope.js'
import { ManualClock } from '../../src/ports/clock.js'

const kek = new Uint8Array(32).fill(9)

for (const engine of await availableEngines()) {
  describe(`publish-ahead key rotation on ${engine}`, () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1))
    let storage: Storage
    let database: OpenDatabase
    let close: () => Promise<void>
    const node = () => new KeyService(storage.keys, envelope(kek), clock, { domain: 'agent-tokens', alg: 'ES256', retiredPublishSeconds: 3600 })
    before(async () => {
      ;({ storage, database, close } = await freshStorage(engine))
    })
    after(() => close())

    const kids = (jwks: string) => (JSON.parse(jwks) as { keys: { kid: string }[] }).keys.map((k) => k.kid)

    test('two nodes starting together agree on one signer and one standby, both published', async () => {
      const [a, b] = [node(), node()]
      const started = await Promise.all([a.start(), b.start()])
      assert.equal(started.filter((s) => s.generated).length, 1, 'exactly one node generated the keys')
      assert.equal(a.signer().kid, b.signer().kid)
      const published = kids(a.jwks())
      assert.equal(published.length, 2)
      assert.equal(published[0], a.signer().kid, 'the signer is listed first')
      assert.deepEqual(kids(b.jwks()), published)
    })

    test('a key promoted on one node already verifies on another node that has not refreshed', async () => {
      const [a, b] = [node(), node()]
      await Promise.all([a.start(), b.start()])
      const standby = kids(b.jwks())[1]!
      clock.advance(PUBLISH_AHEAD_SECONDS * 1000)
      const rotated = await a.rotate()
      assert.equal(rotated.kid, standby, 'rotation promotes the key that was published ahead')
      assert.ok(b.verificationKey(rotated.kid), 'node B trusts the new signer before its next refresh')
      assert.equal(b.signer().kid, rotated.retiredKid, 'node B still signs with the retired key until it refreshes')
      assert.ok(a.verificationKey(rotated.retiredKid!), 'node A still verifies tokens signed by node B meanwhile')
      await b.refresh()
      assert.equal(b.signer().kid, rotated.kid)
      assert.equal(kids(b.jwks()).length, 3, 'signer, new standby, retired key')
    })

    test('a database from before publish-ahead gets a standby key at start', async () => {
      await database.db.deleteFrom('signing_keys').where('state', '=', 'next').execute()
      await node().start()
      const live = (await storage.keys.list('agent-tokens')).filter((k) => k.state !== 'retired')
      assert.deepEqual(live.map((k) => k.state).sort(), ['active', 'next'])
    })

    test('a standby published less than the JWKS cache lifetime plus a key refresh ago does not sign yet', async () => {
      const a = node()
      await a.start()
      await a.rotate({ force: true }) // a standby created just now
      const signer = a.signer().kid
      clock.advance((PUBLISH_AHEAD_SECONDS - 1) * 1000)
      await assert.rejects(a.rotate(), (err: unknown) => err instanceof StandbyKeyNotReady && err.retryAfterSeconds === 1)
      assert.equal(a.signer().kid, signer, 'a refused rotation changes nothing')
      clock.advance(1000)
      assert.notEqual((await a.rotate()).kid, signer)
    })

    test('concurrent rotations on two nodes: one promotes the aged standby, the others find its successor too new', async () => {
      const [a, b] = [node(), node()]
      await Promise.all([a.start(), b.start()])
      clock.advance(PUBLISH_AHEAD_SECONDS * 1000)
      const results = await Promise.allSettled([a.rotate(), b.rotate(), a.rotate(), b.rotate()])
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
      assert.ok(results.every((r) => r.status === 'fulfilled' || r.reason instanceof StandbyKeyNotReady))
      const live = (await storage.keys.list('agent-tokens')).filter((k) => k.state !== 'retired')
      assert.deepEqual(live.map((k) => k.state).sort(), ['active', 'next'])
    })

    test('the rotation schedule rotates once a period, once across nodes', async () => {
      const [a, b] = [node(), node()]
      await Promise.all([a.start(), b.start()])
      await a.rotate({ force: true }) // a fresh standby: the period starts now
      const period = 30 * 86_400_000
      clock.advance(period - 1000)
      assert.equal(await a.rotateIfDue(period), undefined, 'not yet due')
      clock.advance(1000)
      const results = await Promise.all([a.rotateIfDue(period), b.rotateIfDue(period)])
      assert.equal(results.filter((r) => r !== undefined).length, 1, 'one rotation for the cluster')
      assert.equal(await a.rotateIfDue(period), undefined, 'the next is a period away')
    })

    test('concurrent forced rotations on two nodes leave one signer and one standby', async () => {
      const [a, b] = [node(), node()]
      await Promise.all([a.start(), b.start()])
      const force = { force: true }
      const results = await Promise.all([a.rotate(force), b.rotate(force), a.rotate(force), b.rotate(force)])
      assert.equal(new Set(results.map((r) => r.retiredKid)).size, 4, 'no key is retired twice')
      const live = (await storage.keys.list('agent-tokens')).filter((k) => k.state !== 'retired')
      assert.deepEqual(live.map((k) => k.state).sort(), ['active', 'next'])
    })
  })
}
