import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeJwt } from 'jose'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { accessToken, admin, basic, call, form, registeredAgent, type RegisteredAgent } from '../support/client.js'
import { complete, startedSession } from '../support/sessions.js'
import { openSse, type SseClient, type SseEvent } from '../support/sse.js'

interface Revocation {
  cursor: string
  type: 'token' | 'session' | 'agent' | 'key'
  value: string
  revoked_at: number
  until: number
}

const revocation = (e: SseEvent) => JSON.parse(e.data) as Revocation

for (const engine of await availableEngines()) {
  describe(`revocation feed on ${engine}`, () => {
    let server: TestServer
    let resourceServer: RegisteredAgent
    const auth = (a: Pick<RegisteredAgent, 'clientId' | 'clientSecret'>) => ({ authorization: basic(a.clientId, a.clientSecret) })
    const poll = (query = '', who: Pick<RegisteredAgent, 'clientId' | 'clientSecret'> = resourceServer) => call(server, 'GET', `/revocations${query}`, { headers: auth(who) })
    const revoke = (agent: RegisteredAgent, token: string) =>
      call(server, 'POST', '/revoke', { headers: { ...auth(agent), 'content-type': 'application/x-www-form-urlencoded' }, body: form({ token }) })
    const streams: SseClient[] = []
    const stream = async (headers: Record<string, string> = {}, query = '') => {
      const s = await openSse(`${server.url}/revocations/stream${query}`, { ...auth(resourceServer), ...headers })
      streams.push(s)
      return s
    }

    before(async () => {
      server = await startTestServer(engine)
      resourceServer = await registeredAgent(server, { role: { scopes: ['introspect'], can_introspect: true } })
    })
    after(async () => {
      for (const s of streams) s.close()
      await server.close()
    })

    test('revoked tokens, ended sessions and suspended or retired agents all appear, each with the time until which it matters', async () => {
      const agent = await registeredAgent(server, { role: { token_ttl_seconds: 120 } })
      const token = await accessToken(server, agent)
      const { jti, exp } = decodeJwt(token)
      const session = await startedSession(server, agent)
      const doomed = await registeredAgent(server)

      const before = (await poll()).body.next_cursor as string
      assert.equal((await revoke(agent, token)).status, 200)
      assert.equal((await complete(server, agent, session.session_id)).status, 200)
      assert.equal((await admin(server, 'POST', `/agents/${agent.clientId}/suspend`, { reason: 'drill' })).status, 200)
      assert.equal((await call(server, 'DELETE', `/register/${doomed.clientId}`, { headers: { authorization: `Bearer ${doomed.registrationAccessToken}` } })).status, 204)

      const res = await poll(`?since=${before}`)
      assert.equal(res.status, 200, res.text)
      assert.equal(res.headers.get('cache-control'), 'no-store')
      const got = res.body.revocations as Revocation[]
      assert.deepEqual(got.map((r) => [r.type, r.value]), [
        ['token', jti],
        ['session', session.session_id],
        ['agent', agent.clientId],
        ['agent', doomed.clientId],
      ])
      assert.equal(got[0]!.until, exp)
      const now = Math.floor(Date.now() / 1000)
      for (const r of got) {
        assert.ok(Math.abs(r.revoked_at - now) <= 5)
        assert.ok(r.until > now)
      }
      assert.equal(res.body.next_cursor, got[3]!.cursor)
      const cursors = got.map((r) => Number(r.cursor))
      assert.deepEqual([...cursors].sort((a, b) => a - b), cursors, 'cursors increase')
      assert.deepEqual((await poll(`?since=${got[3]!.cursor}`)).body.revocations, [])
      assert.deepEqual(((await poll(`?since=${got[1]!.cursor}&limit=1`)).body.revocations as Revocation[]).map((r) => r.value), [agent.clientId])

      // Revoking the same token again publishes nothing new.
      await revoke(agent, token)
      assert.deepEqual((await poll(`?since=${got[3]!.cursor}`)).body.revocations, [])
    })

    test('without a cursor the feed starts with every revocation still in force', async () => {
      const agent = await registeredAgent(server)
      const token = await accessToken(server, agent)
      await revoke(agent, token)
      const all = (await poll()).body.revocations as Revocation[]
      assert.ok(all.some((r) => r.type === 'token' && r.value === decodeJwt(token).jti))
    })

    test('the stream sends the backlog, says when it is caught up, then delivers new revocations within a second', async () => {
      const agent = await registeredAgent(server)
      const early = await startedSession(server, agent)
      await complete(server, agent, early.session_id)
      const s = await stream()
      assert.equal(s.status, 200)
      assert.match(s.headers.get('content-type') ?? '', /^text\/event-stream/)
      assert.equal(s.headers.get('cache-control'), 'no-store')
      const backlog = await s.waitFor((e) => e.event === 'revocation' && revocation(e).value === early.session_id)
      assert.equal(backlog.id, revocation(backlog).cursor)
      const synced = await s.waitFor((e) => e.event === 'synced')
      assert.ok(s.events.indexOf(synced) > s.events.indexOf(backlog), 'synced comes after the backlog')

      const live = await startedSession(server, agent)
      const t0 = Date.now()
      await complete(server, agent, live.session_id)
      await s.waitFor((e) => e.event === 'revocation' && revocation(e).value === live.session_id, 1000)
      assert.ok(Date.now() - t0 < 1000)
      const seen = s.events.filter((e) => e.event === 'revocation').map((e) => Number(e.id))
      assert.deepEqual([...new Set(seen)], seen, 'no entry is sent twice')
    })

    test('a reconnecting stream resumes after Last-Event-ID and misses nothing', async () => {
      const agent = await registeredAgent(server)
      const first = await stream()
      await first.waitFor((e) => e.event === 'synced')
      const a = await startedSession(server, agent)
      await complete(server, agent, a.session_id)
      const seenA = await first.waitFor((e) => e.event === 'revocation' && revocation(e).value === a.session_id)
      first.close()
      // While it is away, more is revoked.
      const b = await startedSession(server, agent)
      await complete(server, agent, b.session_id)
      const again = await stream({ 'last-event-id': seenA.id! })
      const got = await again.waitFor((e) => e.event === 'revocation' && revocation(e).value === b.session_id)
      assert.ok(Number(got.id) > Number(seenA.id))
      assert.ok(!again.events.some((e) => e.event === 'revocation' && revocation(e).value === a.session_id), 'nothing at or before the cursor is repeated')
    })

    test('only authenticated resource servers may read it', async () => {
      const plain = await registeredAgent(server)
      const denied = await poll('', plain)
      assert.equal(denied.status, 403)
      assert.equal(denied.body.error, 'access_denied')
      const deniedStream = await openSse(`${server.url}/revocations/stream`, auth(plain))
      assert.equal(deniedStream.status, 403)
      deniedStream.close()
      const anonymous = await call(server, 'GET', '/revocations')
      assert.equal(anonymous.status, 401)
      assert.equal(anonymous.body.error, 'invalid_client')
      assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic/)
      const wrong = await call(server, 'GET', '/revocations/stream', { headers: { authorization: basic(resourceServer.clientId, 'wrong') } })
      assert.equal(wrong.status, 401)
    })

    test('a cursor ahead of the feed (a restored database, another server) is refused, not read as caught up', async () => {
      const head = (await poll()).body.next_cursor as string
      const ahead = String(Number(head) + 5)
      const res = await poll(`?since=${ahead}`)
      assert.equal(res.status, 400, res.text)
      assert.equal(res.body.error, 'invalid_request')
      assert.match(res.body.error_description as string, /ahead/)
      for (const [headers, query] of [[{ 'last-event-id': ahead }, ''], [{}, `?since=${ahead}`]] as const) {
        const s = await openSse(`${server.url}/revocations/stream${query}`, { ...auth(resourceServer), ...headers })
        assert.equal(s.status, 400)
        s.close()
      }
      assert.equal((await poll(`?since=${head}`)).status, 200, 'the head itself is fine')
    })

    test('HEAD on the stream answers with its headers and no stream', async () => {
      const res = await call(server, 'HEAD', '/revocations/stream', { headers: auth(resourceServer) })
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
    })

    test('one credential holds at most 16 streams on a node; the next gets 429 with Retry-After until one closes', async () => {
      const reader = await registeredAgent(server, { role: { scopes: ['introspect'], can_introspect: true } })
      const open = async () => openSse(`${server.url}/revocations/stream`, auth(reader))
      const held = await Promise.all(Array.from({ length: 16 }, open))
      try {
        assert.deepEqual(held.map((s) => s.status), Array(16).fill(200))
        const refused = await open()
        assert.equal(refused.status, 429)
        assert.ok(Number(refused.headers.get('retry-after')) > 0)
        refused.close()
        const other = await stream()
        assert.equal(other.status, 200, 'another resource server is not affected')
        held.pop()!.close()
        let again: SseClient | undefined
        for (let i = 0; i < 50 && again?.status !== 200; i++) {
          again?.close()
          again = await open()
          if (again.status !== 200) await new Promise((r) => setTimeout(r, 20))
        }
        assert.equal(again?.status, 200, 'a closed stream frees its slot')
        again?.close()
      } finally {
        for (const s of held) s.close()
      }
    })

    test('bad cursors and parameters are invalid_request', async () => {
      for (const q of ['?since=abc', '?since=-1', '?since=1e3', '?limit=0', '?limit=1001', '?since=1&since=2', '?cursor=1', `?since=${'9'.repeat(16)}`]) {
        const res = await poll(q)
        assert.equal(res.status, 400, q)
        assert.equal(res.body.error, 'invalid_request', q)
      }
      const s = await openSse(`${server.url}/revocations/stream`, { ...auth(resourceServer), 'last-event-id': 'not-a-cursor' })
      assert.equal(s.status, 400)
      s.close()
    })
  })
}
