import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { decodeJwt } from 'jose'
import { createVerifier, SessionEndedError, silentLogger, type MandateError, type Verifier } from '../src/index.js'
import { countingFetch } from './support/fetches.js'
import { registeredAgent, resourceServerCredentials, startTestServer, type TestServer } from './support/mandate-server.js'
import { firstRefusal, present, timedFetch } from './support/probes.js'
import { startResourceServer } from './support/resource-server.js'
import { delay, rejection, waitUntil } from './support/waiting.js'

const RS = 'https://loans.example.com'

/**
 * What the refusal measurements allow beyond the bound itself: the probe's own loop (one request
 * at a time, 5 ms apart, each a loopback round trip of a few ms) and timer jitter on a busy
 * two-core machine. It is not room for the server or the verifier to be late.
 */
const PROBE_SLACK_MS = 100

describe('task-bound sessions against a real server and a real resource server', () => {
  let server: TestServer
  let verifier: Verifier
  let verifierRequests: ReturnType<typeof countingFetch>
  const closers: (() => Promise<void>)[] = []

  before(async () => {
    server = await startTestServer('sqlite')
    verifierRequests = countingFetch()
    // No clock tolerance: on one machine the clocks agree, so an expired token is refused the
    // moment its exp passes, and a renewal that comes late shows up as a refusal.
    verifier = createVerifier({ issuer: server.issuer, audience: RS, credentials: await resourceServerCredentials(server), clockToleranceSeconds: 0, fetch: verifierRequests.fetch, logger: silentLogger })
    await verifier.ready(10)
  })
  after(async () => {
    for (const c of closers) await c()
    verifier.close()
    await server.close()
  })

  async function resourceServer() {
    const rs = await startResourceServer(verifier)
    closers.push(rs.close)
    return rs
  }

  test('a session spanning more than ten one-second access tokens calls the resource server continuously, refused not once', async () => {
    const rs = await resourceServer()
    const tokenRequests = countingFetch()
    const { agent } = await registeredAgent(server, { scopes: ['loans:read'], token_ttl_seconds: 1 }, { fetch: tokenRequests.fetch })
    const session = await agent.startSession({ task: 'nightly-batch', duration: 'task-completion', heartbeatIntervalSeconds: 1, resource: RS })
    const problems: MandateError[] = []
    session.on('error', (e) => problems.push(e))
    let heartbeats = 0
    session.on('heartbeat', () => heartbeats++)
    const lifetimeMs = 1000
    const runFor = 11 * lifetimeMs
    const answers: number[] = []
    const tokensUsed = new Set<string>()
    const started = performance.now()
    // Three callers at once, as a task with parallel work would have, back to back for the whole run.
    const caller = async () => {
      while (performance.now() - started < runFor) {
        tokensUsed.add(await session.accessToken())
        const res = await session.fetch(`${rs.url}/loans`)
        answers.push(res.status)
        const body = (await res.json()) as { sid?: string }
        if (res.status === 200) assert.equal(body.sid, session.id)
      }
    }
    await Promise.all([caller(), caller(), caller()])
    const elapsed = performance.now() - started

    assert.ok(elapsed >= 10 * lifetimeMs, `ran ${elapsed} ms`)
    assert.ok(answers.length > 100, `only ${answers.length} calls`)
    assert.deepEqual(answers.filter((s) => s !== 200), [], 'every call through session.fetch was answered 2xx')
    // The resource server counts what it answered, including 401s session.fetch would have retried away.
    assert.equal(rs.refusals(), 0, `the resource server refused ${rs.refusals()} of ${rs.statuses.length} requests`)
    assert.equal(rs.statuses.length, answers.length, 'no request was sent twice')
    // Ten lifetimes means at least ten renewals, one at a time, each a distinct token.
    const renewals = tokenRequests.count('/token')
    assert.ok(renewals >= 10, `${renewals} renewals`)
    assert.ok(tokensUsed.size >= 11, `${tokensUsed.size} distinct access tokens`)
    assert.ok(heartbeats >= 8, `${heartbeats} heartbeats`)
    assert.deepEqual(problems, [])
    assert.equal((await session.info()).state, 'active')
    await session.complete('succeeded')
  })

  test('a session that stops heartbeating is refused at the resource server within its grace period plus one second', async (t) => {
    const rs = await resourceServer()
    const agentRequests = timedFetch()
    // Long-lived tokens: the refusal must come from the session ending, not from the token expiring.
    const { agent } = await registeredAgent(server, { scopes: ['loans:read'], token_ttl_seconds: 300 }, { fetch: agentRequests.fetch })
    const graceSeconds = 2
    const session = await agent.startSession({ task: 'abandoned-task', duration: 'task-completion', heartbeatIntervalSeconds: 1, heartbeatGraceSeconds: graceSeconds, resource: RS })
    const token = await session.accessToken()
    assert.equal((await present(rs.url, token)).status, 200)

    // Stop right after a heartbeat has been answered, so that heartbeat is the last one.
    await new Promise<void>((resolve) => {
      const off = session.on('heartbeat', () => {
        off()
        session.stop()
        resolve()
      })
    })
    const stoppedAt = performance.now()
    const beats = agentRequests.to(`/sessions/${session.id}/heartbeat`)
    const last = beats[beats.length - 1]!
    // The server set the deadline to (its time on receiving that heartbeat) + grace: no earlier than
    // when we sent it. Measuring from there can only make the delay look longer than it is.
    const deadline = last.sentAt + graceSeconds * 1000

    const refused = await firstRefusal(rs.url, token, (graceSeconds + 5) * 1000)
    assert.equal(refused.status, 401)
    assert.equal(refused.error, 'invalid_token')
    assert.equal(refused.description, 'the session has ended')
    // Not refused before the deadline: the session was not cut short.
    assert.ok(refused.at >= deadline, `refused ${Math.round(deadline - refused.at)} ms before the heartbeat deadline`)
    const afterDeadline = refused.at - deadline
    t.diagnostic(`refused ${Math.round(afterDeadline)} ms after the heartbeat deadline, ${Math.round(refused.at - stoppedAt)} ms after stop()`)
    assert.ok(afterDeadline <= 1000 + PROBE_SLACK_MS, `refused ${Math.round(afterDeadline)} ms after the heartbeat deadline (bound 1000 + ${PROBE_SLACK_MS} ms)`)
    assert.ok(refused.at - stoppedAt <= graceSeconds * 1000 + 1000 + PROBE_SLACK_MS, `refused ${Math.round(refused.at - stoppedAt)} ms after stop()`)

    const info = await session.info()
    assert.equal(info.state, 'expired')
    assert.equal(info.endReason, 'heartbeat_missed')
    // The SDK finds out at its next renewal: the refused call becomes a SessionEndedError, not a 401,
    // and the SDK asks the server how the session ended (invalid_grant alone does not say).
    const ended = await rejection(session.fetch(rs.url), SessionEndedError)
    assert.equal(ended.sessionId, session.id)
    assert.equal(ended.error, 'invalid_grant')
    assert.equal(ended.state, 'expired')
    assert.equal(ended.endReason, 'heartbeat_missed')
    assert.equal(session.state, 'expired')
    await rejection(session.accessToken(), SessionEndedError)
  })

  test('concurrent accessToken() calls during a renewal share one request to the token endpoint', async () => {
    const tokenRequests = countingFetch()
    const { agent } = await registeredAgent(server, { scopes: ['loans:read'], token_ttl_seconds: 2 }, { fetch: tokenRequests.fetch })
    const session = await agent.startSession({ task: 'parallel-work', duration: 'task-completion', heartbeatIntervalSeconds: 30, resource: RS })
    const first = await session.accessToken()
    assert.equal(tokenRequests.count('/token'), 0)
    let renewed = 0
    session.on('renewed', () => renewed++)

    // Past three quarters of the token's life, the next caller renews; all who ask meanwhile wait for it.
    await delay(1600)
    const tokens = await Promise.all(Array.from({ length: 25 }, () => session.accessToken()))
    assert.equal(tokenRequests.count('/token'), 1)
    assert.equal(renewed, 1)
    assert.equal(new Set(tokens).size, 1)
    assert.notEqual(tokens[0], first)
    assert.equal(decodeJwt(tokens[0]!).sid, session.id)
    // The fresh token is used as is: no further renewal.
    assert.equal(await session.accessToken(), tokens[0])
    assert.equal(tokenRequests.count('/token'), 1)
    await session.complete()
  })

  test('concurrent calls refused with a revoked token share one replacement', async () => {
    const rs = await resourceServer()
    const tokenRequests = countingFetch()
    const { agent } = await registeredAgent(server, { scopes: ['loans:read'], token_ttl_seconds: 300 }, { fetch: tokenRequests.fetch })
    const session = await agent.startSession({ task: 'parallel-work', duration: 'task-completion', heartbeatIntervalSeconds: 30, resource: RS })
    const revoked = await session.accessToken()
    await agent.revokeToken(revoked)
    await firstRefusal(rs.url, revoked, 2000)
    const before = rs.statuses.length

    const answers = await Promise.all(Array.from({ length: 10 }, () => session.fetch(rs.url)))
    assert.deepEqual(answers.map((r) => r.status), Array(10).fill(200))
    assert.equal(tokenRequests.count('/token'), 1, 'one renewal replaced the refused token for every caller')
    // Each call was refused once with the revoked token, then accepted with its replacement.
    assert.deepEqual(rs.statuses.slice(before).filter((s) => s === 401).length, 10)
    assert.notEqual(await session.accessToken(), revoked)
    await session.complete()
  })

  test('session.complete() ends the session: its tokens are refused and the SDK says it ended', async () => {
    const rs = await resourceServer()
    const { agent } = await registeredAgent(server, { scopes: ['loans:read'], token_ttl_seconds: 300 })
    const session = await agent.startSession({ task: 'short-task', duration: 'task-completion', heartbeatIntervalSeconds: 1, resource: RS })
    const token = await session.accessToken()
    assert.equal((await present(rs.url, token)).status, 200)
    const info = await session.complete('failed')
    assert.equal(info.state, 'completed')
    assert.equal(info.outcome, 'failed')
    assert.equal(session.state, 'completed')
    const ended = await rejection(session.fetch(rs.url), SessionEndedError)
    assert.equal(ended.state, 'completed')
    assert.equal(ended.endReason, 'completed: failed')
    await waitUntil(async () => (await present(rs.url, token)).status === 401, 2000, 'the completed session\'s token to be refused')
  })
})
