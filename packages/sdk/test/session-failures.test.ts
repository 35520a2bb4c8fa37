import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createVerifier, MandateError, MandateNetworkError, SessionEndedError, silentLogger, type Session, type Verifier } from '../src/index.js'
import { countingFetch, redirectingFetch } from './support/fetches.js'
import { admin, createRole, initialAccessToken, mandateFor, registeredAgent, resourceServerCredentials, startTestServer, suspend, type TestServer } from './support/mandate-server.js'
import { recordingLogger } from './support/probes.js'
import { faultyProxy, type Fault } from './support/proxies.js'
import { startResourceServer } from './support/resource-server.js'
import { delay, rejection, waitUntil } from './support/waiting.js'

const RS = 'https://loans.example.com'
/** Timer jitter and loopback round trips on a busy two-core machine; not room for the SDK to be late. */
const SLACK_MS = 500

/** What a session told its listeners. */
function listen(session: Session) {
  const errors: MandateError[] = []
  const ended: SessionEndedError[] = []
  let renewed = 0
  session.on('error', (e) => errors.push(e))
  session.on('ended', (e) => ended.push(e))
  session.on('renewed', () => renewed++)
  return { errors, ended, renewed: () => renewed }
}

describe('sessions when renewals, heartbeats and completion fail, against a real server', () => {
  let server: TestServer
  let verifier: Verifier
  const closers: (() => Promise<void>)[] = []

  before(async () => {
    server = await startTestServer('sqlite')
    // No clock tolerance: a token the SDK hands out after it expired would be refused.
    verifier = createVerifier({ issuer: server.issuer, audience: RS, credentials: await resourceServerCredentials(server), clockToleranceSeconds: 0, logger: silentLogger })
    await verifier.ready(10)
  })
  after(async () => {
    for (const c of closers.reverse()) await c()
    verifier.close()
    await server.close()
  })

  /**
   * An agent of a role with `ttl`-second tokens whose requests go through a proxy that answers
   * requests matching `faulty` with whatever `fault()` says at that moment ('pass' lets them through).
   */
  async function agentBehindProxy(ttl: number, faulty: (path: string, method: string) => boolean, fault: () => Fault) {
    const proxy = await faultyProxy(server.url, (_n, req) => (faulty(req.url ?? '/', req.method ?? 'GET') ? fault() : 'pass'))
    closers.push(proxy.close)
    const log = recordingLogger()
    // Two attempts per request: enough to show a retry happened, quick to give up.
    const { agent } = await registeredAgent(server, { scopes: ['loans:read'], token_ttl_seconds: ttl }, { fetch: redirectingFetch(server.url, proxy.url), retry: { maxAttempts: 2, baseDelayMs: 20 }, logger: log.logger })
    return { agent, proxy, log, arrivals: (path: string) => proxy.arrivals.filter((a) => a.path.startsWith(path)).length }
  }

  test('a renewal failing with 503 or a dropped connection leaves the still-valid token in use, retries after a gap, and throws only once the token has expired', async (t) => {
    const rs = await startResourceServer(verifier)
    closers.push(rs.close)
    let fault: Fault = 'pass'
    const { agent, arrivals } = await agentBehindProxy(8, (path) => path === '/token', () => fault)
    const startedAt = performance.now()
    const session = await agent.startSession({ task: 'renewal-outage', duration: 'task-completion', heartbeatIntervalSeconds: 30, resource: RS })
    const heard = listen(session)
    const first = await session.accessToken()
    const at = (ms: number) => delay(Math.max(0, startedAt + ms - performance.now()))

    // 8 s tokens are renewed from 6 s on (a quarter of their life left); expiry is at 8 s.
    await at(6100)
    fault = { status: 503 }
    assert.equal(await session.accessToken(), first, 'the failed renewal fell back on the valid token')
    assert.equal(arrivals('/token'), 2, 'one renewal, retried once by the transport')
    assert.equal(heard.errors.length, 1, 'the hidden failure was reported')
    assert.equal(heard.errors[0]!.status, 503)
    assert.ok(!(heard.errors[0] instanceof SessionEndedError))

    // Calls keep working with that token, and do not hammer the server: no new renewal within the gap.
    for (let i = 0; i < 10; i++) {
      assert.equal((await session.fetch(rs.url)).status, 200)
      assert.equal(await session.accessToken(), first)
      await delay(20)
    }
    assert.equal(arrivals('/token'), 2, 'no renewal during the gap')
    assert.equal(heard.errors.length, 1, 'the same failure is not reported again')

    // After the gap (1 s), the next call tries again; the connection drops this time.
    await at(7300)
    fault = 'reset'
    assert.equal(await session.accessToken(), first)
    assert.equal(arrivals('/token'), 4, 'a second renewal, sent twice')
    assert.equal(heard.errors.length, 2)
    assert.ok(heard.errors[1] instanceof MandateNetworkError, String(heard.errors[1]))
    assert.equal((await session.fetch(rs.url)).status, 200)

    // Expired: now the caller gets the typed error (not a SessionEndedError; the session is alive).
    await at(8200)
    const expired = await rejection(session.accessToken(), MandateError)
    assert.ok(!(expired instanceof SessionEndedError))
    assert.ok(expired.status === 0 || expired.status >= 500, `${expired.status} ${expired.error}`)
    await rejection(session.fetch(rs.url), MandateError)
    assert.equal(session.state, 'active')
    assert.deepEqual(heard.ended, [])

    // The server is back: the next renewal after the gap succeeds and everything goes on.
    fault = 'pass'
    const waited = await waitUntil(async () => (await session.accessToken().catch(() => first)) !== first, 15_000, 'a renewal once the server is back', 100)
    t.diagnostic(`renewed ${Math.round(waited)} ms after the server came back; ${arrivals('/token')} requests to /token in all`)
    assert.equal(heard.renewed(), 1)
    assert.equal((await session.fetch(rs.url)).status, 200)
    assert.equal(heard.errors.every((e) => !(e instanceof SessionEndedError)), true)
    assert.ok(arrivals('/token') <= 12, `${arrivals('/token')} requests to /token: the gap kept them few`)
    await session.complete()
  })

  test('with no error listener, a hidden renewal failure is logged as one warning', async () => {
    let fault: Fault = 'pass'
    const { agent, log } = await agentBehindProxy(4, (path) => path === '/token', () => fault)
    const session = await agent.startSession({ task: 'renewal-outage-logged', duration: 'task-completion', heartbeatIntervalSeconds: 30 })
    const first = await session.accessToken()
    await delay(3200)
    fault = { status: 502 }
    assert.equal(await session.accessToken(), first)
    assert.equal(await session.accessToken(), first)
    const warnings = log.lines.filter((l) => l.level === 'warn')
    assert.equal(warnings.length, 1, JSON.stringify(log.lines))
    assert.match(warnings[0]!.message, /renewal failed; using the current token/)
    assert.equal(warnings[0]!.fields?.status, 502)
    assert.equal(warnings[0]!.fields?.session, session.id)
    fault = 'pass'
    session.stop()
  })

  test('a refused renewal (invalid_grant) ends the session at once, though the token is still valid, with the state and reason the server knows', async () => {
    const { agent } = await agentBehindProxy(4, () => false, () => 'pass')
    const session = await agent.startSession({ task: 'terminated-under-us', duration: 'task-completion', heartbeatIntervalSeconds: 30 })
    const heard = listen(session)
    await session.accessToken()
    const res = await admin(server, 'POST', `/sessions/${session.id}/terminate`, { reason: 'drill' })
    assert.equal(res.status, 200, res.text)

    // Renewal falls due at 3 s; the token lives until 4 s.
    await delay(3200)
    const ended = await rejection(session.accessToken(), SessionEndedError)
    assert.equal(ended.error, 'invalid_grant')
    assert.equal(ended.state, 'terminated')
    assert.equal(ended.endReason, 'drill')
    assert.equal(session.state, 'terminated')
    // Told once, as an error (nobody asked for this end) and as the end; the same error everywhere.
    assert.deepEqual(heard.errors, [ended])
    assert.deepEqual(heard.ended, [ended])
    assert.equal(await rejection(session.fetch('http://127.0.0.1:9/never-sent'), SessionEndedError), ended)
    await rejection(session.heartbeat(), SessionEndedError)
    assert.equal(heard.errors.length, 1)
  })

  test("when the server cannot say how the session ended, the error says 'ended'", async () => {
    let readsFail = false
    const { agent, arrivals } = await agentBehindProxy(4, (path, method) => method === 'GET' && path.startsWith('/sessions/'), () => (readsFail ? { status: 500 } : 'pass'))
    const session = await agent.startSession({ task: 'unreadable', duration: 'task-completion', heartbeatIntervalSeconds: 30 })
    const res = await admin(server, 'POST', `/sessions/${session.id}/terminate`, { reason: 'drill' })
    assert.equal(res.status, 200, res.text)
    readsFail = true
    await delay(3200)
    const ended = await rejection(session.accessToken(), SessionEndedError)
    assert.equal(arrivals(`/sessions/${session.id}`), 2, 'it asked (and the transport retried once)')
    // A terminated session's refresh tokens are gone ("the refresh token is invalid"): nothing says how it ended.
    assert.equal(ended.error, 'invalid_grant')
    assert.equal(ended.state, 'ended')
    assert.equal(ended.endReason, undefined)
    assert.equal(session.state, 'ended')
  })

  test('a heartbeat refused because the session ended (409) carries the end reason too', async () => {
    const { agent } = await agentBehindProxy(300, () => false, () => 'pass')
    const session = await agent.startSession({ task: 'expired-under-us', duration: 'task-completion', heartbeatIntervalSeconds: 30 })
    const heard = listen(session)
    assert.equal((await admin(server, 'POST', `/sessions/${session.id}/terminate`, { reason: 'operator drill' })).status, 200)
    const ended = await rejection(session.heartbeat({ progress: 0.5 }), SessionEndedError)
    assert.equal(ended.status, 409)
    assert.equal(ended.state, 'terminated')
    assert.equal(ended.endReason, 'operator drill')
    assert.deepEqual(heard.errors, [ended], 'an end nobody asked for is reported once')
    assert.deepEqual(heard.ended, [ended])
  })

  test('the agent suspended while its session runs: the next heartbeat of the timer is refused (401 invalid_client) and the session ends for the SDK, once', async (t) => {
    const requests = countingFetch()
    const { agent } = await registeredAgent(server, { scopes: ['loans:read'], token_ttl_seconds: 300 }, { fetch: requests.fetch })
    const session = await agent.startSession({ task: 'suspended-under-us', duration: 'task-completion', heartbeatIntervalSeconds: 1, resource: RS })
    const heard = listen(session)
    const beats = () => requests.count(`/sessions/${session.id}/heartbeat`, 'POST')
    const token = await session.accessToken()
    await waitUntil(() => beats() >= 1 && heard.errors.length === 0, 3000, 'a first heartbeat')

    const suspendedAt = performance.now()
    await suspend(server, agent.clientId)
    await waitUntil(() => heard.ended.length > 0, 10_000, 'the session to end')
    const took = performance.now() - suspendedAt
    t.diagnostic(`ended ${Math.round(took)} ms after the suspension (heartbeat interval 1000 ms)`)
    assert.ok(took <= 1000 + SLACK_MS, `ended ${Math.round(took)} ms after the suspension`)

    const ended = heard.ended[0]!
    assert.ok(ended instanceof SessionEndedError)
    assert.equal(ended.state, 'ended', 'the server cannot be asked without credentials')
    assert.equal(ended.endReason, 'agent_not_authenticated')
    assert.equal(ended.error, 'invalid_client')
    assert.equal(ended.status, 401)
    assert.equal(ended.errorDescription, 'the agent is suspended')
    assert.equal(session.state, 'ended')
    // Nobody asked for this end: told once as an error, once as the end.
    assert.deepEqual(heard.errors, [ended])
    // From now on every call throws the same error, and nothing more is sent.
    assert.equal(await rejection(session.accessToken(), SessionEndedError), ended)
    assert.equal(await rejection(session.fetch('http://127.0.0.1:9/never-sent'), SessionEndedError), ended)
    assert.equal(await rejection(session.heartbeat(), SessionEndedError), ended)
    const sent = beats()
    await delay(2500)
    assert.equal(beats(), sent, 'the heartbeat timer stopped')
    assert.deepEqual(heard.errors, [ended])
    assert.deepEqual(heard.ended, [ended])
    // The token it held is dead at resource servers too.
    await rejection(verifier.verify(token), Error)
  })

  test('the agent retired while its session runs (client_secret_post, so 400 invalid_client): the renewal, info() and complete() throw the end', async () => {
    const role = await createRole(server, { scopes: ['loans:read'], token_ttl_seconds: 4 })
    const agent = await mandateFor(server).registerAgent({ initialAccessToken: await initialAccessToken(server, role), name: 'retiring agent', authMethod: 'client_secret_post' })
    // Its timer will not beat during the test: the renewal is what notices.
    const session = await agent.startSession({ task: 'retired-under-us', duration: 'task-completion', heartbeatIntervalSeconds: 60 })
    const heard = listen(session)
    const first = await session.accessToken()
    // RFC 7592 §2.3: the agent deregisters itself, and is retired.
    const { registrationClientUri, registrationAccessToken } = agent.registration
    assert.ok(registrationClientUri && registrationAccessToken)
    const res = await fetch(registrationClientUri, { method: 'DELETE', headers: { authorization: `Bearer ${registrationAccessToken}` } })
    assert.equal(res.status, 204)
    assert.equal(await session.accessToken(), first, 'not due for renewal yet')

    // Renewal falls due at 3 s (a quarter of the 4 s left); the token itself lasts until 4 s.
    await delay(3200)
    const ended = await rejection(session.accessToken(), SessionEndedError)
    assert.equal(ended.error, 'invalid_client')
    assert.equal(ended.status, 400)
    assert.equal(ended.errorDescription, 'the agent is retired')
    assert.equal(ended.state, 'ended')
    assert.equal(ended.endReason, 'agent_not_authenticated')
    assert.equal(session.state, 'ended')
    assert.deepEqual(heard.errors, [ended])
    assert.deepEqual(heard.ended, [ended])
    assert.equal(await rejection(session.info(), SessionEndedError), ended)
    assert.equal(await rejection(session.complete('succeeded'), SessionEndedError), ended)
    assert.deepEqual(heard.ended, [ended])
  })

  test('errors thrown to the caller of heartbeat() and complete() are not emitted as well; the timer\'s failures are', async () => {
    let fault: Fault = 'pass'
    const { agent } = await agentBehindProxy(300, (path) => /\/(heartbeat|complete)$/.test(path), () => fault)
    // Its timer will not beat during the test: every heartbeat here is a caller's.
    const session = await agent.startSession({ task: 'caller-errors', duration: 'task-completion', heartbeatIntervalSeconds: 60 })
    const heard = listen(session)

    // Refused outright (a bad progress value): the caller gets it, nobody else.
    const refused = await rejection(session.heartbeat({ progress: 5 }), MandateError)
    assert.equal(refused.status, 400)
    fault = { status: 500 }
    const failedBeat = await rejection(session.heartbeat({ note: 'lost' }), MandateError)
    assert.equal(failedBeat.status, 500)
    const failedCompletion = await rejection(session.complete('succeeded'), MandateError)
    assert.equal(failedCompletion.status, 500)
    assert.ok(!heard.errors.includes(refused) && !heard.errors.includes(failedBeat) && !heard.errors.includes(failedCompletion), 'what was thrown was not emitted')
    assert.equal(session.state, 'active')

    // A heartbeat of the timer has no caller: its failure goes to `error`.
    const fresh = await startSession()
    await waitUntil(() => fresh.heard.errors.length > 0, 5000, 'a failed background heartbeat to be reported')
    assert.equal(fresh.heard.errors[0]!.status, 500)

    fault = 'pass'
    await session.complete('succeeded')
    await fresh.session.complete('succeeded')
    assert.equal(session.state, 'completed')
    assert.equal(heard.errors.length, 0, JSON.stringify(heard.errors.map((e) => e.message)))
    assert.equal(heard.ended.length, 1)
    assert.equal(heard.ended[0]!.state, 'completed')
    assert.equal(heard.ended[0]!.endReason, 'completed: succeeded')

    async function startSession() {
      const s = await agent.startSession({ task: 'background-beats', duration: 'task-completion', heartbeatIntervalSeconds: 1 })
      return { session: s, heard: listen(s) }
    }
  })
})
