import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { accessToken, admin, basic, call, introspect, registeredAgent } from '../support/client.js'
import { ManualClock } from '../../src/ports/clock.js'
import { PUBLISH_AHEAD_SECONDS } from '../../src/crypto/key-service.js'

type Jwks = { keys: Record<string, unknown>[] }
const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid as string

for (const engine of await availableEngines()) {
  describe(`signing keys on ${engine}`, () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1))
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine, { clock })
    })
    after(() => server.close())

    test('JWKS publishes the signer first and a standby key, both ES256 with a kid and no private parts', async () => {
      const res = await call<Jwks>(server, 'GET', '/jwks')
      assert.equal(res.status, 200)
      assert.equal(res.body.keys.length, 2)
      for (const key of res.body.keys) {
        assert.equal(key.kty, 'EC')
        assert.equal(key.crv, 'P-256')
        assert.equal(key.alg, 'ES256')
        assert.equal(key.use, 'sig')
        assert.equal(typeof key.kid, 'string')
        assert.equal('d' in key, false)
      }
      const agent = await registeredAgent(server)
      assert.equal(kidOf(await accessToken(server, agent)), res.body.keys[0]!.kid)
    })

    test('rotation promotes the key published ahead; the old key stays published until its tokens have expired, then leaves', async () => {
      const agent = await registeredAgent(server)
      const oldToken = await accessToken(server, agent)
      const publishedBefore = (await call<Jwks>(server, 'GET', '/jwks')).body.keys.map((k) => k.kid)
      clock.advance(PUBLISH_AHEAD_SECONDS * 1000)
      const rotated = await admin(server, 'POST', '/keys/rotate')
      assert.equal(rotated.status, 200)
      assert.equal(rotated.body.retired_kid, kidOf(oldToken))
      const newToken = await accessToken(server, agent)
      assert.equal(kidOf(newToken), rotated.body.kid)
      assert.ok(publishedBefore.includes(kidOf(newToken)), 'the new signer was in the JWKS before it signed anything')

      const after = (await call<Jwks>(server, 'GET', '/jwks')).body.keys.map((k) => k.kid)
      assert.equal(after.length, 3, 'signer, new standby, retired key')
      assert.equal(after[0], kidOf(newToken))
      assert.ok(after.includes(kidOf(oldToken)))

      // Past the longest token lifetime (plus skew), the retired key is no longer published.
      clock.advance((86_400 + 61) * 1000)
      server = await server.restart()
      const remaining = (await call<Jwks>(server, 'GET', '/jwks')).body.keys.map((k) => k.kid)
      assert.equal(remaining.length, 2)
      assert.equal(remaining[0], kidOf(newToken))
      assert.equal(remaining.includes(kidOf(oldToken)), false)

      const events = await admin(server, 'GET', '/audit?action=key.rotated')
      assert.equal((events.body.events as unknown[]).length, 1)
    })

    test('a second rotation before its standby was published for the JWKS cache lifetime is refused, so a cached JWKS always holds the signer', async () => {
      clock.advance(PUBLISH_AHEAD_SECONDS * 1000)
      const first = await admin(server, 'POST', '/keys/rotate')
      assert.equal(first.status, 200, first.text)
      // A resource server caches the JWKS now, for as long as Cache-Control allows.
      const cachedRes = await call<Jwks>(server, 'GET', '/jwks')
      const maxAge = Number(/max-age=(\d+)/.exec(cachedRes.headers.get('cache-control') ?? '')?.[1])
      const cached = cachedRes.body.keys.map((k) => k.kid)

      clock.advance(5000)
      const second = await admin(server, 'POST', '/keys/rotate')
      assert.equal(second.status, 409, second.text)
      assert.equal(second.body.error, 'conflict')
      assert.match(second.body.error_description as string, /published 5 s ago/)
      assert.equal(second.headers.get('retry-after'), String(PUBLISH_AHEAD_SECONDS - 5))
      const agent = await registeredAgent(server)
      assert.equal(kidOf(await accessToken(server, agent)), first.body.kid, 'the refused rotation changed nothing')

      // Once the standby has outlived every cache of the JWKS, it may sign.
      clock.advance((PUBLISH_AHEAD_SECONDS - 5) * 1000)
      assert.ok(PUBLISH_AHEAD_SECONDS > maxAge)
      const third = await admin(server, 'POST', '/keys/rotate')
      assert.equal(third.status, 200, third.text)
      assert.ok(cached.includes(third.body.kid as string), 'the JWKS cached before was already publishing the new signer')
    })

    test('an emergency rotation with {"force": true} does not wait, and is audited as forced', async () => {
      const before = (await call<Jwks>(server, 'GET', '/jwks')).body.keys.map((k) => k.kid)
      const forced = await admin(server, 'POST', '/keys/rotate', { force: true })
      assert.equal(forced.status, 200, forced.text)
      assert.ok(before.includes(forced.body.kid as string))
      const events = (await admin(server, 'GET', '/audit?action=key.rotated&limit=1')).body.events as { details: { forced: boolean } }[]
      assert.equal(events[0]!.details.forced, true)
      const bad = await admin(server, 'POST', '/keys/rotate', { force: 'yes' })
      assert.equal(bad.status, 400)
      assert.equal(bad.body.error, 'invalid_request')
    })

    test('a compromised key is withdrawn: its tokens stop verifying at once, it leaves the JWKS, and resource servers hear of it on the feed', async () => {
      const agent = await registeredAgent(server)
      const reader = await registeredAgent(server, { role: { scopes: ['introspect'], can_introspect: true } })
      const feedHead = (await call(server, 'GET', '/revocations', { headers: { authorization: basic(reader.clientId, reader.clientSecret) } })).body.next_cursor as string
      const signedByOld = await accessToken(server, agent)
      assert.equal((await introspect(server, agent, signedByOld)).body.active, true)

      const res = await admin(server, 'POST', '/keys/rotate', { force: true, withdraw_previous: true })
      assert.equal(res.status, 200, res.text)
      assert.equal(res.body.retired_kid, kidOf(signedByOld))
      assert.equal((await introspect(server, agent, signedByOld)).body.active, false)
      const published = (await call<Jwks>(server, 'GET', '/jwks')).body.keys.map((k) => k.kid)
      assert.equal(published.includes(kidOf(signedByOld)), false)
      const feed = await call(server, 'GET', `/revocations?since=${feedHead}`, { headers: { authorization: basic(reader.clientId, reader.clientSecret) } })
      assert.deepEqual((feed.body.revocations as Array<{ type: string; value: string }>).map((r) => [r.type, r.value]), [['key', kidOf(signedByOld)]])

      const signedByNew = await accessToken(server, agent)
      assert.equal((await introspect(server, agent, signedByNew)).body.active, true)
      const events = (await admin(server, 'GET', '/audit?action=key.rotated&limit=1')).body.events as { details: { withdrawn: boolean } }[]
      assert.equal(events[0]!.details.withdrawn, true)
      assert.equal((await admin(server, 'POST', '/keys/rotate', { withdraw_previous: 1 })).status, 400)
    })

    test('concurrent forced rotations each retire a different key, and the audit log says which', async () => {
      const before = (await call<Jwks>(server, 'GET', '/jwks')).body.keys.length
      const results = await Promise.all([1, 2, 3].map(() => admin(server, 'POST', '/keys/rotate', { force: true })))
      assert.deepEqual(results.map((r) => r.status), [200, 200, 200])
      const retired = results.map((r) => r.body.retired_kid as string)
      const created = results.map((r) => r.body.kid as string)
      assert.equal(new Set(retired).size, 3, 'no key is retired twice')
      // The rotations form one chain: each retired key is the original one or another's new key.
      const original = retired.filter((k) => !created.includes(k))
      assert.equal(original.length, 1)
      const jwks = (await call<Jwks>(server, 'GET', '/jwks')).body.keys
      assert.equal(jwks.length, before + 3)
      const events = (await admin(server, 'GET', '/audit?action=key.rotated&limit=3')).body.events as { details: { retired_kid: string } }[]
      assert.deepEqual(new Set(events.map((e) => e.details.retired_kid)), new Set(retired))
    })

    test('an agent cannot rotate keys', async () => {
      const agent = await registeredAgent(server)
      const token = await accessToken(server, agent)
      const res = await call(server, 'POST', '/admin/keys/rotate', { headers: { authorization: `Bearer ${token}` } })
      assert.equal(res.status, 401)
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/)
    })
  })
}
