import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { connect } from 'node:net'
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { createLogger } from '../../src/logging.js'
import { availableEngines } from '../support/engines.js'
import { METRICS_TOKEN, startTestServer, type TestServer } from '../support/server.js'
import { basic, form, initialAccessToken, registeredAgent, tokenRequest, type RegisteredAgent } from '../support/client.js'
import { refresh, startedSession } from '../support/sessions.js'

/*
 * No secret reaches a log line. A server logging at the most verbose level is sent secrets in
 * every place a request can carry them (headers, form and JSON bodies, query strings, paths,
 * broken requests), valid and invalid, and the captured log output must hold none of them.
 */

/** A made-up secret that no server code could produce by itself. */
const fake = (what: string) => `sekrit${what}${randomBytes(12).toString('hex')}`

interface Sent {
  status: number
  requestId: string | undefined
  text: string
}

function send(server: TestServer, method: string, path: string, headers: Record<string, string | string[]> = {}, body?: string): Promise<Sent> {
  const { hostname, port } = new URL(server.url)
  const all: Record<string, string | string[]> = { ...headers }
  if (body !== undefined) all['content-length'] = String(Buffer.byteLength(body))
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers: all, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, requestId: res.headers['x-request-id'] as string | undefined, text }))
    })
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve({ status: 0, requestId: undefined, text: '' }) : reject(err)))
    req.end(body)
  })
}

/** Bytes that are not a valid HTTP request, sent on a raw socket; resolves when the server hangs up. */
function sendRaw(server: TestServer, bytes: string): Promise<string> {
  const { port } = new URL(server.url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(bytes))
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (c: string) => (text += c))
    socket.on('close', () => resolve(text))
    socket.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(text) : reject(err)))
  })
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_CT = { 'content-type': 'application/json' }

for (const engine of await availableEngines()) {
  describe(`logs hold no secrets on ${engine}`, () => {
    let server: TestServer
    let agent: RegisteredAgent & { role: string }
    const lines: string[] = []
    before(async () => {
      const capture = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''))
          done()
        },
      })
      server = await startTestServer(engine, { env: { MANDATE_METRICS_TOKEN: METRICS_TOKEN }, logger: createLogger('trace', capture) })
      agent = await registeredAgent(server)
    })
    after(() => server.close())

    test('secrets sent in every place, in requests that succeed and requests that fail, never reach a log line', async () => {
      const iat = await initialAccessToken(server, agent.role, { uses: 5 })
      const session = await startedSession(server, agent, { task: 'log-secrets' })
      const renewed = await refresh(server, agent, session.refresh_token)
      assert.equal(renewed.status, 200, renewed.text)
      const access = (await tokenRequest(server, agent)).body.access_token as string
      const f = Object.fromEntries(['basic', 'bearer', 'post', 'refresh', 'form', 'json', 'query', 'path', 'cookie', 'header', 'raw', 'url', 'badjson', 'dup', 'huge', 'hc'].map((k) => [k, fake(k)]))
      const secrets = [
        server.adminToken, METRICS_TOKEN, agent.clientSecret, agent.registrationAccessToken, iat, access,
        session.refresh_token, renewed.body.refresh_token as string, session.access_token, ...Object.values(f),
      ]
      const bearer = (t: string) => ({ authorization: `Bearer ${t}` })
      const agentAuth = { authorization: basic(agent.clientId, agent.clientSecret) }
      const sent: Sent[] = []
      const go = async (p: Promise<Sent>) => sent.push(await p)

      // Authorization headers, right and wrong, on every kind of endpoint.
      await go(send(server, 'POST', '/token', { ...FORM, authorization: basic(agent.clientId, f.basic!) }, 'grant_type=client_credentials'))
      await go(send(server, 'POST', '/token', { ...FORM, authorization: basic(f.basic!, f.basic!) }, 'grant_type=client_credentials'))
      await go(send(server, 'GET', '/admin/roles', bearer(f.bearer!)))
      await go(send(server, 'GET', '/admin/roles', bearer(server.adminToken)))
      await go(send(server, 'GET', '/metrics', bearer(f.bearer!)))
      await go(send(server, 'GET', '/metrics', bearer(server.adminToken)))
      await go(send(server, 'GET', '/metrics', bearer(METRICS_TOKEN)))
      await go(send(server, 'POST', '/register', { ...JSON_CT, ...bearer(f.bearer!) }, '{}'))
      await go(send(server, 'GET', `/register/${agent.clientId}`, bearer(f.bearer!)))
      await go(send(server, 'GET', `/register/${agent.clientId}`, bearer(agent.registrationAccessToken)))
      await go(send(server, 'GET', '/revocations', { authorization: basic(agent.clientId, f.basic!) }))
      await go(send(server, 'POST', '/token', { ...FORM, authorization: [`Bearer ${f.dup}`, basic(agent.clientId, agent.clientSecret)] }, 'grant_type=client_credentials'))
      // Form bodies: client_secret_post, refresh tokens, tokens to introspect and revoke, assertions, passwords.
      await go(send(server, 'POST', '/token', FORM, form({ grant_type: 'client_credentials', client_id: agent.clientId, client_secret: f.post! })))
      await go(send(server, 'POST', '/token', FORM, form({ grant_type: 'client_credentials', client_id: agent.clientId, client_secret: agent.clientSecret })))
      await go(send(server, 'POST', '/token', { ...FORM, ...agentAuth }, form({ grant_type: 'refresh_token', refresh_token: f.refresh! })))
      await go(send(server, 'POST', '/token', { ...FORM, ...agentAuth }, form({ grant_type: 'refresh_token', refresh_token: session.refresh_token })))
      await go(send(server, 'POST', '/token', { ...FORM, ...agentAuth }, form({ grant_type: 'password', username: 'u', password: f.form!, client_assertion: f.form! })))
      await go(send(server, 'POST', '/token', { ...FORM, ...agentAuth }, `grant_type=client_credentials&client_secret=${f.form}&client_secret=${f.form}`))
      await go(send(server, 'POST', '/introspect', { ...FORM, ...agentAuth }, form({ token: access })))
      await go(send(server, 'POST', '/introspect', { ...FORM, ...agentAuth }, form({ token: f.form! })))
      await go(send(server, 'POST', '/revoke', { ...FORM, ...agentAuth }, form({ token: f.form!, token_type_hint: 'refresh_token' })))
      await go(send(server, 'POST', '/token', { 'content-type': 'application/json', ...agentAuth }, JSON.stringify({ grant_type: 'client_credentials', client_secret: f.json })))
      // JSON bodies: registration metadata, session credentials, malformed JSON around a secret.
      await go(send(server, 'POST', '/register', { ...JSON_CT, ...bearer(iat) }, JSON.stringify({ client_name: 'x', client_secret: f.json, jwks: { keys: [{ d: f.json }] } })))
      await go(send(server, 'POST', '/register', { ...JSON_CT, ...bearer(iat) }, `{"client_secret":"${f.badjson}"`))
      await go(send(server, 'POST', '/sessions', JSON_CT, JSON.stringify({ client_id: agent.clientId, client_secret: f.json, task: 't', duration: 'task-completion' })))
      await go(send(server, 'POST', '/sessions', { ...JSON_CT, ...agentAuth }, JSON.stringify({ task: 't', duration: 'task-completion', health_check_url: `https://user:${f.hc}@health.example.com/` })))
      await go(send(server, 'POST', '/admin/roles', { ...JSON_CT, ...bearer(server.adminToken) }, JSON.stringify({ name: 'r', scopes: ['a'], secret: f.json })))
      // Query strings and paths.
      await go(send(server, 'POST', `/token?access_token=${f.query}&client_secret=${f.query}`, { ...FORM, ...agentAuth }, 'grant_type=client_credentials'))
      await go(send(server, 'GET', `/admin/roles?${f.query}=1`, bearer(server.adminToken)))
      await go(send(server, 'GET', `/revocations?since=${f.query}`, agentAuth))
      await go(send(server, 'GET', `/metrics?access_token=${f.query}`))
      await go(send(server, 'GET', `/sessions/${f.path}`, agentAuth))
      await go(send(server, 'GET', `/register/${f.path}`, bearer(f.path!)))
      await go(send(server, 'GET', `/${f.path}/%ZZ${f.url}`))
      await go(send(server, 'GET', `/register/${f.url}%ZZ`))
      // Other headers.
      await go(send(server, 'GET', '/jwks', { cookie: `session=${f.cookie}`, 'x-api-key': f.header!, 'proxy-authorization': `Basic ${f.header}` }))
      await go(send(server, 'POST', '/token', { ...FORM, ...agentAuth, 'content-encoding': 'gzip', 'x-secret': f.header! }, 'grant_type=client_credentials'))
      await go(send(server, 'POST', '/token', { ...FORM, authorization: `Basic ${'A'.repeat(20_000)}${f.huge}` }, 'grant_type=client_credentials'))
      // Requests too broken to route.
      await sendRaw(server, `GET /token?client_secret=${f.raw} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${f.raw}\r\nContent-Length: abc\r\n\r\n`)
      await sendRaw(server, `POST /token HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${f.raw}\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nzzz${f.raw}`)
      await sendRaw(server, `${f.raw} / HTTP/1.1\r\n\r\n`)

      assert.ok(sent.some((s) => s.status === 200) && sent.some((s) => s.status === 401) && sent.some((s) => s.status === 400), 'both accepted and refused requests were sent')
      await new Promise((resolve) => setTimeout(resolve, 100))
      const text = lines.join('\n')
      for (const secret of secrets) assert.ok(!text.includes(secret), `a log line holds a secret (${secret.slice(0, 12)}…):\n${lines.filter((l) => l.includes(secret)).join('\n').slice(0, 2000)}`)
      for (const word of ['authorization', 'cookie', 'client_secret']) {
        for (const line of lines) assert.ok(!new RegExp(`"${word}":"(?!\\[redacted\\])`, 'i').test(line), `no ${word} value logged: ${line.slice(0, 300)}`)
      }

      // The log is there and useful: JSON lines, and what a request caused carries its request id.
      assert.ok(lines.length > 0, 'the server logged something')
      const parsed = lines.map((l) => JSON.parse(l) as { level: number; reqId?: string; msg?: string })
      const refused = parsed.filter((l) => l.msg === 'request refused')
      assert.ok(refused.length > 0, 'refusals with details are logged')
      const ids = new Set(sent.map((s) => s.requestId))
      for (const line of refused) assert.ok(line.reqId !== undefined && ids.has(line.reqId), `request id on ${JSON.stringify(line)}`)

      // Metrics carry no secret either (labels are route patterns and codes).
      const metrics = await send(server, 'GET', '/metrics', bearer(METRICS_TOKEN))
      for (const secret of secrets.filter((s) => s !== METRICS_TOKEN)) assert.ok(!metrics.text.includes(secret))
    })
  })
}
