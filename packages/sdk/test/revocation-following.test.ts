import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { consoleLogger, createVerifier, silentLogger, type Agent, type VerifierOptions } from '../src/index.js'
import { RevocationSet } from '../src/revocations/revocation-set.js'
import { RevocationStream } from '../src/revocations/revocation-stream.js'
import { admin } from '../../server/test/support/client.js'
import { countingFetch, redirectingFetch } from './support/fetches.js'
import { backupDatabase, registeredAgent, resourceServerCredentials, restoreDatabase, startTestServer, suspend, type TestServer } from './support/mandate-server.js'
import { firstRefusal, present, recordingLogger } from './support/probes.js'
import { tcpProxy } from './support/proxies.js'
import { startResourceServer } from './support/resource-server.js'
import { delay, waitUntil } from './support/waiting.js'

const RS = 'https://loans.example.com'

/** docs/sessions.md: a revocation reaches a resource server following the feed within a second. */
const REFUSED_WITHIN_MS = 1000

/**
 * What the staleness measurement allows beyond the bound: the probe's loop (one request at a
 * time, 5 ms apart, each a loopback round trip) and timer jitter. Not room for the verifier to be late.
 */
const PROBE_SLACK_MS = 100

type Credentials = { clientId: string; clientSecret: string }

describe('a verifier following the revocation feed of a real server', () => {
  let server: TestServer
  let rsCredentials: Credentials
  const closers: (() => Promise<void>)[] = []

  before(async () => {
    server = await startTestServer('sqlite')
    rsCredentials = await resourceServerCredentials(server)
  })
  after(async () => {
    for (const c of closers.reverse()) await c()
    await server.close()
  })

  /**
   * A verifier with resource-server credentials behind a real Node http resource server. Its
   * requests to the authorization server are counted; `via` sends them through a proxy.
   */
  async function follow(o: Partial<VerifierOptions> & { via?: string; server?: TestServer; credentials?: Credentials } = {}) {
    const { via, server: target = server, ...options } = o
    const requests = countingFetch(via ? redirectingFetch(target.url, via) : undefined)
    const verifier = createVerifier({ issuer: target.issuer, audience: RS, credentials: rsCredentials, logger: silentLogger, ...options, fetch: requests.fetch })
    const rs = await startResourceServer(verifier)
    closers.push(async () => {
      verifier.close()
      await rs.close()
    })
    return { verifier, requests, rs, streamRequests: () => requests.requests.filter((r) => r.url.pathname === '/revocations/stream') }
  }

  /** An agent of its own role, with a client_credentials token for the resource server. */
  async function agentWithToken(): Promise<{ agent: Agent; token: string }> {
    const { agent } = await registeredAgent(server, { scopes: ['loans:read'], token_ttl_seconds: 300 })
    return { agent, token: (await agent.clientCredentialsToken({ resource: RS })).accessToken }
  }

  async function sessionToken(agent: Agent) {
    const session = await agent.startSession({ task: 'feed-test', duration: 'task-completion', heartbeatIntervalSeconds: 60, resource: RS })
    return { session, token: await session.accessToken() }
  }

  /** Runs `act`, then presents `token` until refused; returns the refusal and how long after `act` began it came. */
  async function refusedAfter(url: string, token: string, act: () => Promise<unknown>) {
    assert.equal((await present(url, token)).status, 200, 'accepted before')
    const start = performance.now()
    await act()
    const refusal = await firstRefusal(url, token, 5000)
    return { ...refusal, elapsed: refusal.at - start }
  }

  test('a completed session, a suspended agent and a revoked token are each refused within a second, with no introspection call per request', async (t) => {
    const { verifier, requests, rs } = await follow()
    await verifier.ready(10)
    const { agent: worker } = await agentWithToken()
    const completed = await sessionToken(worker)
    const suspended = await agentWithToken()
    const suspendedSession = await sessionToken(suspended.agent)
    const revoked = await agentWithToken()
    const bystander = await agentWithToken()
    assert.equal((await present(rs.url, bystander.token)).status, 200)
    // Discovery, keys and the stream are fetched by now; from here on nothing more should be.
    const settled = requests.requests.length

    const byCompletion = await refusedAfter(rs.url, completed.token, () => completed.session.complete('succeeded'))
    const bySuspension = await refusedAfter(rs.url, suspended.token, () => suspend(server, suspended.agent.clientId))
    const byRevocation = await refusedAfter(rs.url, revoked.token, () => revoked.agent.revokeToken(revoked.token))
    t.diagnostic(`refused after: completion ${Math.round(byCompletion.elapsed)} ms, suspension ${Math.round(bySuspension.elapsed)} ms, revocation ${Math.round(byRevocation.elapsed)} ms`)

    for (const [what, r, description] of [
      ['completion', byCompletion, 'the session has ended'],
      ['suspension', bySuspension, 'the agent has been revoked'],
      ['revocation', byRevocation, 'the token has been revoked'],
    ] as const) {
      assert.equal(r.status, 401, what)
      assert.equal(r.error, 'invalid_token', what)
      assert.equal(r.description, description, what)
      assert.ok(r.elapsed <= REFUSED_WITHIN_MS, `${what}: refused ${Math.round(r.elapsed)} ms after it began (bound ${REFUSED_WITHIN_MS} ms)`)
    }
    // The suspended agent's session token goes with it; others' tokens are untouched.
    assert.equal((await present(rs.url, suspendedSession.token)).status, 401)
    assert.equal((await present(rs.url, bystander.token)).status, 200)
    const sameAgentsOtherToken = (await revoked.agent.clientCredentialsToken({ resource: RS })).accessToken
    assert.equal((await present(rs.url, sameAgentsOtherToken)).status, 200, 'revoking one token leaves the agent\'s others alone')

    // Another hundred requests: every answer came from what the stream had delivered.
    for (let i = 0; i < 100; i++) await present(rs.url, bystander.token)
    assert.equal(requests.count('/introspect'), 0, 'no introspection')
    assert.equal(requests.requests.length, settled, `the verifier sent ${requests.requests.length - settled} requests after warming up`)
    assert.ok(rs.statuses.length > 100)
  })

  test('a restarted verifier refuses what was revoked while it was down before it accepts any token', async () => {
    const first = await follow()
    await first.verifier.ready(10)
    const a = await agentWithToken()
    const b = await agentWithToken()
    const completed = await sessionToken(a.agent)
    const terminated = await sessionToken(b.agent)
    const revoked = await agentWithToken()
    const suspended = await agentWithToken()
    const good = await agentWithToken()
    const tokens = { good: good.token, completed: completed.token, terminated: terminated.token, revoked: revoked.token, suspended: suspended.token }
    for (const [name, token] of Object.entries(tokens)) assert.equal((await present(first.rs.url, token)).status, 200, name)
    const before = first.verifier.revocationStatus().cursor
    assert.ok(before !== undefined)
    first.verifier.close()
    await first.rs.close()

    // While no verifier runs:
    await completed.session.complete('succeeded')
    const terminate = await admin(server, 'POST', `/sessions/${terminated.session.id}/terminate`, { reason: 'drill' })
    assert.equal(terminate.status, 200, terminate.text)
    await revoked.agent.revokeToken(revoked.token)
    await suspend(server, suspended.agent.clientId)

    // A new verifier, asked at once: it has synced nothing yet, so it must wait for the feed.
    const second = await follow()
    assert.equal(second.verifier.revocationStatus().synced, false)
    const names = Object.keys(tokens) as (keyof typeof tokens)[]
    const answers = await Promise.all(names.map((n) => present(second.rs.url, tokens[n])))
    const got = Object.fromEntries(names.map((n, i) => [n, `${answers[i]!.status} ${answers[i]!.description ?? ''}`.trim()]))
    assert.deepEqual(got, {
      good: '200',
      completed: '401 the session has ended',
      terminated: '401 the session has ended',
      revoked: '401 the token has been revoked',
      suspended: '401 the agent has been revoked',
    })
    // It started without a cursor: from every revocation still in force, not from where the first left off.
    assert.equal(second.streamRequests()[0]!.url.searchParams.has('since'), false)
    assert.notEqual(second.verifier.revocationStatus().cursor, before)
  })

  test("whenStale 'refuse': tokens are refused once the stream has been down beyond maxStalenessSeconds, and it reconnects from its cursor", async (t) => {
    const proxy = await tcpProxy(server.url)
    closers.push(() => proxy.close())
    const log = recordingLogger()
    const { verifier, rs, streamRequests } = await follow({ via: proxy.url, maxStalenessSeconds: 1, whenStale: 'refuse', logger: log.logger })
    await verifier.ready(10)
    const good = await agentWithToken()
    const revokedMeanwhile = await agentWithToken()
    assert.equal((await present(rs.url, good.token)).status, 200)
    assert.equal((await present(rs.url, revokedMeanwhile.token)).status, 200)

    // A connected stream is current even when nothing happens for longer than the bound.
    await delay(1500)
    assert.equal((await present(rs.url, good.token)).status, 200, 'a quiet, connected stream is not stale')
    assert.deepEqual(log.warnings(), [])

    const cursor = verifier.revocationStatus().cursor
    const connections = streamRequests().length
    const cutAt = performance.now()
    proxy.cut(true)
    assert.equal((await present(rs.url, good.token)).status, 200, 'within the bound, tokens are still accepted')
    // Revoked at the server while the verifier cannot hear of it.
    await revokedMeanwhile.agent.revokeToken(revokedMeanwhile.token)

    const stale = await firstRefusal(rs.url, good.token, 5000)
    const afterCut = stale.at - cutAt
    t.diagnostic(`refused as stale ${Math.round(afterCut)} ms after the cut`)
    assert.equal(stale.status, 503)
    assert.equal(stale.error, 'temporarily_unavailable')
    assert.ok(afterCut >= 1000, `refused ${Math.round(afterCut)} ms after the cut, before the 1 s bound`)
    assert.ok(afterCut <= 1000 + PROBE_SLACK_MS, `refused ${Math.round(afterCut)} ms after the cut (bound 1000 + ${PROBE_SLACK_MS} ms)`)
    assert.equal((await present(rs.url, revokedMeanwhile.token)).status, 503)
    assert.ok(log.warnings().some((w) => /stale for over 1 s; refusing/.test(w)), JSON.stringify(log.warnings()))

    proxy.restore()
    await waitUntil(async () => (await present(rs.url, good.token)).status === 200, 20_000, 'the verifier to reconnect')
    const r = await present(rs.url, revokedMeanwhile.token)
    assert.equal(`${r.status} ${r.description}`, '401 the token has been revoked', 'caught up with what was revoked while it was down')
    // Every reconnection resumed from the cursor it had before the cut.
    const reconnects = streamRequests().slice(connections)
    assert.ok(reconnects.length >= 1)
    for (const req of reconnects) assert.equal(req.url.searchParams.get('since'), cursor)
    assert.ok(log.warnings().some((w) => /caught up/.test(w)), JSON.stringify(log.warnings()))
  })

  test('a stream that keeps dropping and coming back at once never goes stale: each reconnection starts its backoff over', async () => {
    const proxy = await tcpProxy(server.url)
    closers.push(() => proxy.close())
    const log = recordingLogger()
    const { verifier, rs, streamRequests } = await follow({ via: proxy.url, maxStalenessSeconds: 1, whenStale: 'refuse', logger: log.logger })
    await verifier.ready(10)
    const good = await agentWithToken()
    // A caller all along: not one request may meet a stale verifier.
    let probing = true
    const answers: number[] = []
    const prober = (async () => {
      while (probing) {
        answers.push((await present(rs.url, good.token)).status)
        await delay(10)
      }
    })()
    for (let drop = 1; drop <= 6; drop++) {
      const connections = streamRequests().length
      // The connection breaks (a reset, not a clean end); new connections go through at once.
      proxy.cut()
      await waitUntil(() => streamRequests().length > connections && verifier.revocationStatus().stalenessSeconds === 0, 10_000, `reconnection after drop ${drop}`)
      await delay(50)
    }
    probing = false
    await prober
    assert.ok(answers.length > 20)
    assert.deepEqual(answers.filter((s) => s !== 200), [], 'every request was accepted')
    assert.deepEqual(log.warnings().filter((w) => /stale/.test(w)), [])
  })

  test("whenStale 'accept': tokens are still accepted while the stream is down, and a warning says so", async () => {
    const proxy = await tcpProxy(server.url)
    closers.push(() => proxy.close())
    const log = recordingLogger()
    const { verifier, rs } = await follow({ via: proxy.url, maxStalenessSeconds: 1, whenStale: 'accept', logger: log.logger })
    await verifier.ready(10)
    const good = await agentWithToken()
    const revokedMeanwhile = await agentWithToken()
    assert.equal((await present(rs.url, good.token)).status, 200)

    proxy.cut(true)
    await revokedMeanwhile.agent.revokeToken(revokedMeanwhile.token)
    await delay(1500)
    assert.ok(verifier.revocationStatus().stalenessSeconds > 1)
    assert.equal((await present(rs.url, good.token)).status, 200)
    // The price of 'accept': what was revoked meanwhile is accepted until the stream is back.
    assert.equal((await present(rs.url, revokedMeanwhile.token)).status, 200)
    const warnings = log.warnings().filter((w) => /stale for over 1 s; accepting/.test(w))
    assert.equal(warnings.length, 1, `one warning, not one per request: ${JSON.stringify(log.warnings())}`)

    proxy.restore()
    await waitUntil(async () => (await present(rs.url, revokedMeanwhile.token)).status === 401, 20_000, 'the verifier to catch up')
    assert.equal((await present(rs.url, good.token)).status, 200)
  })

  test('while the stream is down: one warning with the reason, failed reconnections only at debug level, one info line once it is back and synced', async (t) => {
    const proxy = await tcpProxy(server.url)
    closers.push(() => proxy.close())
    const log = recordingLogger()
    // A long staleness bound: only the stream's own lines are under test here.
    const { verifier, streamRequests } = await follow({ via: proxy.url, maxStalenessSeconds: 60, logger: log.logger })
    await verifier.ready(10)
    assert.deepEqual(log.lines.map((l) => `${l.level} ${l.message}`), ['info revocation stream synced'])
    const connections = streamRequests().length

    proxy.cut(true)
    await delay(3000)
    const attempts = streamRequests().length - connections
    assert.ok(attempts >= 3, `${attempts} reconnection attempts while down`)
    const warnings = log.lines.filter((l) => l.level === 'warn')
    assert.deepEqual(warnings.map((w) => w.message), ['revocation stream down; reconnecting'], 'one warning for the whole outage')
    assert.equal(typeof warnings[0]!.fields?.reason, 'string')
    assert.ok((warnings[0]!.fields!.reason as string).length > 0)
    assert.ok(log.lines.filter((l) => l.level === 'debug').length >= attempts - 1, 'each failed reconnection is a debug line')

    proxy.restore()
    await waitUntil(() => verifier.revocationStatus().synced && verifier.revocationStatus().stalenessSeconds === 0 && log.lines.some((l) => l.level === 'info' && /back/.test(l.message)), 20_000, 'the stream to come back')
    const infos = log.lines.filter((l) => l.level === 'info').map((l) => l.message)
    assert.equal(infos.length, 2, JSON.stringify(infos))
    assert.match(infos[1]!, /^revocation stream back and synced after \d+ s down$/)
    assert.equal(log.lines.filter((l) => l.level === 'warn' || l.level === 'error').length, 1)

    // Every line is one line, without a stack: as fields, and as the default logger prints them.
    for (const line of log.lines) {
      for (const value of Object.values(line.fields ?? {})) {
        assert.ok(value === undefined || ['string', 'number', 'boolean'].includes(typeof value), `${line.message}: a field of type ${typeof value}`)
        assert.ok(!/\n/.test(String(value)), `${line.message}: a field spans lines: ${String(value)}`)
      }
    }
    const printed: string[] = []
    const original = { warn: console.warn, info: console.info, error: console.error }
    console.warn = console.info = console.error = (...args: unknown[]) => void printed.push(args.map(String).join(' '))
    try {
      for (const line of log.lines) if (line.level !== 'debug') consoleLogger[line.level]?.(line.message, line.fields)
    } finally {
      Object.assign(console, original)
    }
    assert.equal(printed.length, 3)
    for (const p of printed) t.diagnostic(p)
    for (const p of printed) assert.match(p, /^\[mandate\] [^\n]+$/)
    assert.match(printed[1]!, /^\[mandate\] revocation stream down; reconnecting \(reason=".+", cursor="[^"]+"\)$/)
  })

  test('a stream that stays down is reminded of at most once per downReminderMs', async () => {
    const proxy = await tcpProxy(server.url)
    closers.push(() => proxy.close())
    const log = recordingLogger()
    const stream = new RevocationStream({
      url: async () => `${proxy.url}/revocations/stream`,
      ...rsCredentials,
      set: new RevocationSet(0),
      fetch: (input, init) => fetch(input, init),
      logger: log.logger,
      now: Date.now,
      downReminderMs: 1000,
      backoff: { baseMs: 100, maxMs: 400 },
    })
    stream.start()
    closers.push(async () => stream.close())
    assert.ok(await stream.whenSynced(10_000))
    proxy.cut(true)
    await delay(3500)
    proxy.restore()
    await waitUntil(() => log.lines.some((l) => /back and synced/.test(l.message)), 10_000, 'the stream to come back')
    const warnings = log.lines.filter((l) => l.level === 'warn')
    assert.equal(warnings[0]!.message, 'revocation stream down; reconnecting')
    const reminders = warnings.slice(1)
    assert.ok(reminders.length >= 2 && reminders.length <= 3, JSON.stringify(warnings.map((w) => w.message)))
    for (const r of reminders) assert.match(r.message, /^revocation stream still down after \d+ s; reconnecting$/)
    for (let i = 1; i < warnings.length; i++) assert.ok(warnings[i]!.at - warnings[i - 1]!.at >= 990, `warnings ${Math.round(warnings[i]!.at - warnings[i - 1]!.at)} ms apart`)
    // Many more attempts than warnings: the attempts themselves went to debug.
    assert.ok(log.lines.filter((l) => l.level === 'debug').length > reminders.length + 2)
  })

  test('a server restart: the verifier reconnects, resumes from its cursor and catches up', async () => {
    // A server of its own, since this one goes down.
    let own = await startTestServer('sqlite')
    closers.push(() => own.close())
    const credentials = await resourceServerCredentials(own)
    const { verifier, rs, streamRequests } = await follow({ server: own, credentials })
    await verifier.ready(10)
    const { agent } = await registeredAgent(own, { scopes: ['loans:read'], token_ttl_seconds: 300 })
    const good = (await agent.clientCredentialsToken({ resource: RS })).accessToken
    const doomed = (await agent.clientCredentialsToken({ resource: RS })).accessToken
    assert.equal((await present(rs.url, good)).status, 200)
    const cursor = verifier.revocationStatus().cursor
    const connections = streamRequests().length

    own = await own.restart()
    await agent.revokeToken(doomed)
    await waitUntil(async () => (await present(rs.url, doomed)).status === 401, 10_000, 'the revocation to reach the verifier after the restart')
    assert.equal((await present(rs.url, good)).status, 200)
    const reconnects = streamRequests().slice(connections)
    assert.ok(reconnects.length >= 1, 'it reconnected')
    for (const req of reconnects) assert.equal(req.url.searchParams.get('since'), cursor)
    assert.equal(verifier.revocationStatus().synced, true)
  })

  test("a server restored from a backup, its feed behind the verifier's cursor: the verifier starts over (one warning), keeps what it knew, and refuses what the restored server revokes within a second", async (t) => {
    let own = await startTestServer('sqlite')
    closers.push(() => own.close())
    const credentials = await resourceServerCredentials(own)
    const log = recordingLogger()
    const { verifier, rs, streamRequests } = await follow({ server: own, credentials, logger: log.logger })
    await verifier.ready(10)
    const { agent } = await registeredAgent(own, { scopes: ['loans:read'], token_ttl_seconds: 300 })
    const tokens: string[] = []
    for (let i = 0; i < 6; i++) tokens.push((await agent.clientCredentialsToken({ resource: RS })).accessToken)
    const [early, lostA, lostB, lostC, later, bystander] = tokens as [string, string, string, string, string, string]

    await agent.revokeToken(early)
    await firstRefusal(rs.url, early, 5000)
    const backup = await backupDatabase(own)
    const backupCursor = verifier.revocationStatus().cursor!
    // Revoked after the backup was taken: the restored server will not know.
    for (const token of [lostA, lostB, lostC]) await agent.revokeToken(token)
    await firstRefusal(rs.url, lostC, 5000)
    const ahead = verifier.revocationStatus().cursor!
    assert.ok(Number(ahead) >= Number(backupCursor) + 3, `${ahead} vs ${backupCursor}`)
    const connections = streamRequests().length

    own = await restoreDatabase(own, backup)
    await waitUntil(() => verifier.revocationStatus().synced && verifier.revocationStatus().cursor === backupCursor, 20_000, "the verifier to sync with the restored server's feed")
    const afterRestore = streamRequests().slice(connections).map((r) => r.url.searchParams.get('since'))
    // However many tries it took to reach the restarted server, the cursor was refused once, and dropped.
    assert.equal(afterRestore.at(-1), null, JSON.stringify(afterRestore))
    assert.ok(afterRestore.slice(0, -1).every((since) => since === ahead), JSON.stringify(afterRestore))

    // The restored server's next entry is numbered at or below the cursor the verifier had.
    const start = performance.now()
    await agent.revokeToken(later)
    const refusal = await firstRefusal(rs.url, later, 5000)
    t.diagnostic(`revoked on the restored server; refused ${Math.round(refusal.at - start)} ms later`)
    assert.equal(`${refusal.status} ${refusal.description}`, '401 the token has been revoked')
    assert.ok(refusal.at - start <= REFUSED_WITHIN_MS, `refused ${Math.round(refusal.at - start)} ms after the revocation began`)
    assert.ok(Number(verifier.revocationStatus().cursor) <= Number(ahead), 'numbered within what the verifier would have skipped')
    for (const token of [early, lostA, lostB, lostC]) assert.equal((await present(rs.url, token)).status, 401, 'what it knew before stays')
    assert.equal((await present(rs.url, bystander)).status, 200)

    const aheadWarnings = log.lines.filter((l) => l.level === 'warn' && /cursor is ahead/.test(l.message))
    assert.equal(aheadWarnings.length, 1, JSON.stringify(log.warnings()))
    assert.equal(aheadWarnings[0]!.fields?.cursor, ahead)
    assert.equal(aheadWarnings[0]!.fields?.reason, 'HTTP 400 invalid_request')
  })
})
