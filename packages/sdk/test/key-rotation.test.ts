import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { generateKeyPair, SignJWT } from 'jose'
import { BearerError, createVerifier, silentLogger, type FetchLike } from '../src/index.js'
import { countingFetch } from './support/fetches.js'
import { admin, registeredAgent, resourceServerCredentials, startTestServer, type TestServer } from './support/mandate-server.js'
import { firstRefusal, present } from './support/probes.js'
import { startResourceServer } from './support/resource-server.js'
import { rejection, waitUntil } from './support/waiting.js'

const RS = 'https://loans.example.com'
/** docs/sessions.md: a revocation reaches a resource server following the feed within a second. */
const REFUSED_WITHIN_MS = 1000
/** The verifier's default jwksCooldownSeconds. */
const DEFAULT_COOLDOWN_MS = 5000
/** Timer jitter and loopback round trips on a busy two-core machine; not room for the verifier to be late. */
const SLACK_MS = 500

const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()).kid as string

/** fetch whose JWKS responses say `max-age=<seconds>` instead of what the server sent (recorded in `sent`). */
function shortJwksMaxAge(seconds: number) {
  const sent: (string | null)[] = []
  const fetch: FetchLike = async (input, init) => {
    const res = await globalThis.fetch(input, init)
    if (new URL(input instanceof Request ? input.url : input.toString()).pathname !== '/jwks') return res
    sent.push(res.headers.get('cache-control'))
    const headers = new Headers(res.headers)
    headers.set('cache-control', `public, max-age=${seconds}`)
    return new Response(await res.arrayBuffer(), { status: res.status, headers })
  }
  return { fetch, sent }
}

describe('verifiers through forced key rotations and a key withdrawal of a real server', () => {
  let server: TestServer
  const closers: (() => Promise<void> | void)[] = []
  before(async () => {
    server = await startTestServer('sqlite')
  })
  after(async () => {
    for (const c of closers.reverse()) await c()
    await server.close()
  })

  async function rotate(body: Record<string, unknown>) {
    const res = await admin(server, 'POST', '/keys/rotate', body)
    assert.equal(res.status, 200, res.text)
    return res.body as { kid: string; retired_kid: string | null }
  }

  test('two forced rotations in a row: a token signed with the newest key is accepted once the default cooldown has passed, not 30 s later; made-up kids still cost no fetches', async (t) => {
    const counter = countingFetch()
    // Every JWKS option at its default.
    const verifier = createVerifier({ issuer: server.issuer, audience: RS, fetch: counter.fetch, logger: silentLogger })
    closers.push(() => verifier.close())
    const { agent } = await registeredAgent(server, { scopes: ['loans:read'] })
    const before = (await agent.clientCredentialsToken({ resource: RS })).accessToken
    assert.ok(await verifier.verify(before))
    const fetchedAt = performance.now()
    assert.equal(counter.count('/jwks'), 1)

    await rotate({ force: true })
    const second = await rotate({ force: true })
    const after = (await agent.clientCredentialsToken({ resource: RS })).accessToken
    assert.equal(kidOf(after), second.kid, 'signed with a key made after the verifier fetched the JWKS')
    assert.equal((await rejection(verifier.verify(after), BearerError)).description, 'the token is signed with an unknown key', 'refused within the cooldown')

    await waitUntil(() => verifier.verify(after).then(() => true, () => false), 40_000, 'the newest key to be accepted', 50)
    const acceptedAfter = performance.now() - fetchedAt
    t.diagnostic(`accepted ${Math.round(acceptedAfter)} ms after the JWKS was last fetched`)
    assert.ok(acceptedAfter <= DEFAULT_COOLDOWN_MS + SLACK_MS, `accepted ${Math.round(acceptedAfter)} ms after the last JWKS fetch (cooldown ${DEFAULT_COOLDOWN_MS} ms)`)
    assert.ok(await verifier.verify(before), 'the retired key stays published for its tokens')

    // A flood of tokens with made-up kids right after that fetch: refused, and not one more fetch.
    const fetches = counter.count('/jwks')
    const { privateKey } = await generateKeyPair('ES256')
    for (let i = 0; i < 30; i++) {
      const forged = await new SignJWT({ sub: 'agt_x' }).setProtectedHeader({ alg: 'ES256', kid: `made-up-${i}`, typ: 'at+jwt' }).sign(privateKey)
      assert.equal((await rejection(verifier.verify(forged), BearerError)).description, 'the token is signed with an unknown key')
    }
    assert.equal(counter.count('/jwks'), fetches)
  })

  test('a withdrawn key: a following verifier refuses its tokens within a second though its cached JWKS still holds the key; tokens signed after are accepted', async (t) => {
    const counter = countingFetch()
    const verifier = createVerifier({ issuer: server.issuer, audience: RS, credentials: await resourceServerCredentials(server), fetch: counter.fetch, logger: silentLogger })
    const rs = await startResourceServer(verifier)
    closers.push(rs.close, () => verifier.close())
    await verifier.ready(10)
    // A verifier without credentials only has the JWKS to go by. To keep the test short, the
    // server's max-age (60 s) is shortened to 2 s, and the cooldown (keys are never refetched sooner) to 1 s.
    const shortened = shortJwksMaxAge(2)
    const jwksOnly = createVerifier({ issuer: server.issuer, audience: RS, jwksCooldownSeconds: 1, fetch: shortened.fetch, logger: silentLogger })
    closers.push(() => jwksOnly.close())

    const { agent } = await registeredAgent(server, { scopes: ['loans:read'], token_ttl_seconds: 300 })
    const signedBefore = (await agent.clientCredentialsToken({ resource: RS })).accessToken
    assert.equal((await present(rs.url, signedBefore)).status, 200)
    assert.ok(await jwksOnly.verify(signedBefore))
    const jwksFetches = counter.count('/jwks')

    const start = performance.now()
    const rotated = await rotate({ force: true, withdraw_previous: true })
    assert.equal(rotated.retired_kid, kidOf(signedBefore))
    const refusal = await firstRefusal(rs.url, signedBefore, 5000)
    const elapsed = refusal.at - start
    t.diagnostic(`refused ${Math.round(elapsed)} ms after the withdrawal began`)
    assert.equal(refusal.status, 401)
    assert.equal(refusal.error, 'invalid_token')
    assert.equal(refusal.description, 'the token was signed with a withdrawn key')
    assert.ok(elapsed <= REFUSED_WITHIN_MS, `refused ${Math.round(elapsed)} ms after the withdrawal began (bound ${REFUSED_WITHIN_MS} ms)`)
    // The feed did it: the JWKS the verifier holds (which still lists the key) was not fetched again.
    assert.equal(counter.count('/jwks'), jwksFetches)

    const signedAfter = (await agent.clientCredentialsToken({ resource: RS })).accessToken
    assert.equal(kidOf(signedAfter), rotated.kid)
    assert.equal((await present(rs.url, signedAfter)).status, 200)
    assert.equal((await present(rs.url, signedBefore)).status, 401)

    // Without the feed, the key goes once the cached JWKS is past its max-age.
    const gone = await waitUntil(() => jwksOnly.verify(signedBefore).then(() => false, () => true), 2000 + SLACK_MS, 'the JWKS-only verifier to drop the withdrawn key', 50)
    t.diagnostic(`the JWKS-only verifier refused it after ${Math.round(gone)} ms`)
    assert.equal((await rejection(jwksOnly.verify(signedBefore), BearerError)).description, 'the token is signed with an unknown key')
    assert.ok(await jwksOnly.verify(signedAfter))
    assert.equal(shortened.sent[0], 'public, max-age=60', 'what the server itself says')
  })
})
