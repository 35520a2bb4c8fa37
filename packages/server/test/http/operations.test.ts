import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { availableEngines } from '../support/engines.js'
import { METRICS_TOKEN, startTestServer, type TestServer } from '../support/server.js'
import { auditEvents, basic, call, manageRegistration, registeredAgent, tokenRequest, type RegisteredAgent } from '../support/client.js'
import { complete, refresh, startedSession } from '../support/sessions.js'
import { parseExposition, type Exposition } from '../support/prometheus.js'

async function scrape(server: TestServer): Promise<Exposition> {
  const res = await call(server, 'GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  assert.equal(res.status, 200, res.text)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  assert.equal(res.headers.get('cache-control'), 'no-store')
  return parseExposition(res.text)
}

async function scrapeText(server: TestServer): Promise<string> {
  return (await call(server, 'GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text
}

for (const engine of await availableEngines()) {
  describe(`health probes and metrics on ${engine}`, () => {
    let server: TestServer
    let agent: RegisteredAgent & { role: string }
    before(async () => {
      server = await startTestServer(engine, { env: { MANDATE_METRICS_TOKEN: METRICS_TOKEN } })
      agent = await registeredAgent(server)
    })
    after(() => server.close())

    test('GET /healthz: 200 {"status":"ok"}, never cached, no credentials needed', async () => {
      const res = await call(server, 'GET', '/healthz')
      assert.equal(res.status, 200)
      assert.deepEqual(res.body, { status: 'ok' })
      assert.equal(res.headers.get('cache-control'), 'no-store')
      assert.equal((await call(server, 'HEAD', '/healthz')).status, 200)
    })

    test('GET /readyz: 200 ready while the database answers', async () => {
      const res = await call(server, 'GET', '/readyz')
      assert.equal(res.status, 200, res.text)
      assert.deepEqual(res.body, { status: 'ready', checks: { database: 'ok', server: 'serving' } })
      assert.equal(res.headers.get('cache-control'), 'no-store')
    })

    test('probes are not audited', async () => {
      const before_ = (await auditEvents(server, {})).length
      for (let i = 0; i < 5; i++) {
        await call(server, 'GET', '/healthz')
        await call(server, 'GET', '/readyz')
      }
      // The admin read of the audit log is itself audited: one more event, not eleven.
      assert.equal((await auditEvents(server, {})).length, before_ + 1)
    })

    test('GET /metrics without a credential: 401 with a bare Bearer challenge, audited as a failed authentication', async () => {
      const res = await call(server, 'GET', '/metrics')
      assert.equal(res.status, 401)
      assert.equal(res.body.error, 'invalid_token')
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="mandate"')
      const events = await auditEvents(server, { action: 'metrics.authentication_failed' })
      assert.ok(events.some((e) => e.reason === 'no bearer credential' && e.actor_type === 'anonymous'))
    })

    test('GET /metrics refuses a wrong token and the admin token (invalid_token); the metrics token opens no admin endpoint', async () => {
      for (const token of [`${METRICS_TOKEN}x`, server.adminToken, METRICS_TOKEN.slice(0, -1)]) {
        const res = await call(server, 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } })
        assert.equal(res.status, 401, res.text)
        assert.equal(res.body.error, 'invalid_token')
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="mandate", error="invalid_token"/)
      }
      const adminWithMetrics = await call(server, 'GET', '/admin/roles', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
      assert.equal(adminWithMetrics.status, 401)
      const failures = await auditEvents(server, { action: 'metrics.authentication_failed' })
      assert.ok(failures.filter((e) => e.reason === 'unknown credential').length >= 3)
    })

    test('GET /metrics with the metrics token: Prometheus text, every family with HELP and TYPE, process metrics included', async () => {
      const m = await scrape(server)
      for (const family of [
        'mandate_http_request_duration_seconds', 'mandate_refusals_total', 'mandate_tokens_issued_total', 'mandate_rate_limited_total',
        'mandate_rate_limiter_local_fallback', 'mandate_audit_queue_depth', 'mandate_audit_commit_duration_seconds', 'mandate_audit_batch_events',
        'mandate_audit_commit_failures_total', 'mandate_cache_lookups_total', 'mandate_sessions_started_total', 'mandate_sessions_ended_total',
        'mandate_revocation_streams', 'mandate_db_pool_connections', 'nodejs_eventloop_lag_seconds', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes',
      ]) {
        assert.ok(m.types.has(family.replace(/_total$/, '')) || m.types.has(family), `TYPE for ${family}`)
      }
      for (const [name, help] of m.help) if (name.startsWith('mandate_')) assert.ok(help.length > 20, `a help text that explains ${name}`)
      assert.equal(m.types.get('mandate_http_request_duration_seconds'), 'histogram')
      assert.equal(m.types.get('mandate_tokens_issued_total'), 'counter')
      assert.equal(m.value('mandate_rate_limiter_local_fallback'), 0)
      assert.ok(m.value('mandate_audit_commit_duration_seconds_count') > 0, 'audit commits were timed')
      assert.ok(m.value('mandate_audit_batch_events_sum') >= m.value('mandate_audit_commit_duration_seconds_count'))
      assert.equal(m.value('mandate_audit_queue_depth'), 0)
      const pool = m.samples.filter((s) => s.name === 'mandate_db_pool_connections')
      if (engine === 'postgres') assert.deepEqual(pool.map((s) => s.labels.state).sort(), ['idle', 'total', 'waiting'])
      else assert.equal(pool.length, 0, 'no pool on SQLite')
    })

    test('N tokens issued raise mandate_tokens_issued_total{grant_type="client_credentials",role} by N; a refusal counts its reason', async () => {
      const issued = { grant_type: 'client_credentials', role: agent.role }
      const before_ = await scrape(server)
      const n = 7
      for (let i = 0; i < n; i++) assert.equal((await tokenRequest(server, agent)).status, 200)
      const bad = await tokenRequest(server, { clientId: agent.clientId, clientSecret: 'wrong-secret' })
      assert.equal(bad.status, 401)
      const badScope = await tokenRequest(server, agent, { scope: 'not-a-scope-of-this-role' })
      assert.equal(badScope.status, 400)
      const after_ = await scrape(server)
      assert.equal(after_.value('mandate_tokens_issued_total', issued) - before_.value('mandate_tokens_issued_total', issued), n)
      const refused = (m: Exposition, reason: string) => m.value('mandate_refusals_total', { route: '/token', reason })
      assert.equal(refused(after_, 'invalid_client') - refused(before_, 'invalid_client'), 1)
      assert.equal(refused(after_, 'invalid_scope') - refused(before_, 'invalid_scope'), 1)
      const timed = (m: Exposition) => m.value('mandate_http_request_duration_seconds_count', { route: '/token', method: 'POST' })
      assert.equal(timed(after_) - timed(before_), n + 2)
      assert.equal(after_.value('mandate_http_request_duration_seconds_count', { route: '/token', method: 'POST', status_class: '4xx' }) - before_.value('mandate_http_request_duration_seconds_count', { route: '/token', method: 'POST', status_class: '4xx' }), 2)
      assert.ok(after_.value('mandate_cache_lookups_total', { cache: 'agents', result: 'hit' }) > before_.value('mandate_cache_lookups_total', { cache: 'agents', result: 'hit' }), 'repeat lookups of one agent hit the cache')
    })

    test('requests are labelled by route pattern, never by raw URL: ids do not reach the labels', async () => {
      const res = await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'GET')
      assert.equal(res.status, 200, res.text)
      const stranger = `agt_${'z'.repeat(20)}`
      assert.equal((await call(server, 'GET', `/register/${stranger}`, { headers: { authorization: 'Bearer nope' } })).status, 401)
      assert.equal((await call(server, 'GET', `/no/such/${stranger}x`)).status, 404)
      const text = await scrapeText(server)
      const m = parseExposition(text)
      assert.ok(m.value('mandate_http_request_duration_seconds_count', { route: '/register/:client_id', method: 'GET', status_class: '2xx' }) >= 1)
      assert.ok(m.value('mandate_refusals_total', { route: '/register/:client_id', reason: 'invalid_token' }) >= 1)
      assert.ok(m.value('mandate_refusals_total', { route: 'unmatched', reason: 'not_found' }) >= 1)
      assert.ok(!text.includes(agent.clientId), 'no client id in any label')
      assert.ok(!text.includes(stranger), 'no path segment from a request in any label')
      const routes = new Set(m.samples.filter((s) => s.labels.route !== undefined).map((s) => s.labels.route!))
      for (const route of routes) assert.match(route, /^(\/[a-z0-9._:/-]*|unmatched)$/i, `a route pattern: ${route}`)
    })

    test('sessions: started and ended counted, the first token of a session counted as session_start, renewals as refresh_token', async () => {
      const before_ = await scrape(server)
      const session = await startedSession(server, agent, { task: 'metrics' })
      assert.equal((await refresh(server, agent, session.refresh_token)).status, 200)
      assert.equal((await complete(server, agent, session.session_id)).status, 200)
      const after_ = await scrape(server)
      const delta = (name: string, labels?: Record<string, string>) => after_.value(name, labels) - before_.value(name, labels)
      assert.equal(delta('mandate_sessions_started_total'), 1)
      assert.equal(delta('mandate_sessions_ended_total', { state: 'completed' }), 1)
      assert.equal(delta('mandate_tokens_issued_total', { grant_type: 'session_start', role: agent.role }), 1)
      assert.equal(delta('mandate_tokens_issued_total', { grant_type: 'refresh_token', role: agent.role }), 1)
    })

    test('open revocation streams are a gauge, and a stream is not timed as a request', async () => {
      const reader = await registeredAgent(server, { role: { scopes: ['introspect'], can_introspect: true } })
      const { port } = new URL(server.url)
      // A raw request on its own socket, so closing it closes the connection at once.
      const req = http.get({ host: '127.0.0.1', port, path: '/revocations/stream', agent: false, headers: { authorization: basic(reader.clientId, reader.clientSecret) } })
      const synced = new Promise<number>((resolve, reject) => {
        req.on('error', reject)
        req.on('response', (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('error', () => undefined)
          res.on('data', (chunk: string) => (text += chunk).includes('event: synced') && resolve(res.statusCode ?? 0))
        })
      })
      try {
        assert.equal(await synced, 200)
        assert.equal((await scrape(server)).value('mandate_revocation_streams'), 1)
      } finally {
        req.destroy()
      }
      for (let i = 0; i < 50 && (await scrape(server)).value('mandate_revocation_streams') !== 0; i++) await sleep(20)
      const m = await scrape(server)
      assert.equal(m.value('mandate_revocation_streams'), 0)
      assert.equal(m.value('mandate_http_request_duration_seconds_count', { route: '/revocations/stream', status_class: '2xx' }), 0)
    })
  })
}

describe('without MANDATE_METRICS_TOKEN', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer('sqlite')
  })
  after(() => server.close())

  test('GET /metrics is 404 with a JSON error that says how to enable it, whatever credential is sent', async () => {
    const credentials: Array<Record<string, string>> = [{}, { authorization: `Bearer ${server.adminToken}` }, { authorization: `Bearer ${METRICS_TOKEN}` }]
    for (const headers of credentials) {
      const res = await call(server, 'GET', '/metrics', { headers })
      assert.equal(res.status, 404)
      assert.equal(res.body.error, 'not_found')
      assert.match(res.body.error_description as string, /MANDATE_METRICS_TOKEN/)
      assert.equal(res.headers.get('cache-control'), 'no-store')
    }
  })

  test('the probes work all the same', async () => {
    assert.equal((await call(server, 'GET', '/healthz')).status, 200)
    assert.equal((await call(server, 'GET', '/readyz')).status, 200)
  })
})

/** Reads from a socket until the peer closes it. */
function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (data += chunk))
    socket.on('end', () => resolve(data))
    socket.on('error', reject)
  })
}

describe('readiness during shutdown', () => {
  test('once shutdown starts, /readyz answers 503 not_ready (server: shutting_down) and /healthz still 200', async () => {
    const server = await startTestServer('sqlite')
    const open = async (path: string) => {
      const socket = connect(Number(new URL(server.url).port), '127.0.0.1')
      await new Promise((resolve) => socket.once('connect', resolve))
      const response = readAll(socket)
      // Half a request before shutdown starts, so the connection is busy and stays open; the rest after.
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`)
      return { finish: () => socket.write('\r\n'), response }
    }
    const ready = await open('/readyz')
    const healthy = await open('/healthz')
    await sleep(50)
    const closing = server.close()
    await sleep(50)
    ready.finish()
    healthy.finish()
    const [readyRaw, healthyRaw] = await Promise.all([ready.response, healthy.response])
    await closing
    assert.match(readyRaw, /^HTTP\/1\.1 503 /)
    assert.match(readyRaw, /\r\ncache-control: no-store/i)
    assert.deepEqual(JSON.parse(readyRaw.slice(readyRaw.indexOf('\r\n\r\n') + 4)), { status: 'not_ready', checks: { database: 'not_checked', server: 'shutting_down' } })
    assert.match(healthyRaw, /^HTTP\/1\.1 200 /)
  })
})
