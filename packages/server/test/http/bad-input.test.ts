import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { availableEngines } from '../support/engines.js'
import { METRICS_TOKEN, startTestServer, type TestServer } from '../support/server.js'
import { accessToken, admin, basic, createRole, initialAccessToken, register, registeredAgent, tokenRequest, type RegisteredAgent } from '../support/client.js'
import { heartbeat, startedSession } from '../support/sessions.js'

/*
 * Bad input on every endpoint. Each row of the table is one malformed request and the answer a
 * client relies on: the right 4xx status and an RFC 6749 §5.2-style JSON body
 * { error, error_description }, never a 500. Afterwards the server still works and nothing a
 * refused request touched has changed.
 */

interface RawReply {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  body: Record<string, unknown> | undefined
}

interface RawRequest {
  method: string
  path: string
  headers?: Record<string, string>
  body?: string | Buffer
}

/**
 * A request through node:http rather than fetch, so tests can send what fetch refuses to:
 * raw bytes in header values, bodies on GET, any Content-Type. Always sends Content-Length.
 */
function send(server: TestServer, req: RawRequest): Promise<RawReply> {
  const url = new URL(server.url)
  const headers: Record<string, string> = { ...req.headers }
  if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body))
  return new Promise((resolve, reject) => {
    const r = http.request({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: Record<string, unknown> | undefined
        try {
          body = JSON.parse(text) as Record<string, unknown>
        } catch {
          body = undefined
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body })
      })
    })
    // The server may answer (413) and close before a large body is fully written; the answer still counts.
    r.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)))
    r.end(req.body)
  })
}

const FORM = 'application/x-www-form-urlencoded'
const JSON_CT = 'application/json'
const MIB = Buffer.alloc(1024 * 1024, 'a')
const LONG_SCOPE = Array.from({ length: 2000 }, (_, i) => `s${i}`).join(' ').padEnd(10_000, 'x').slice(0, 10_000)
const ONE_LONG_SCOPE_TOKEN = 'a'.repeat(10_000)

/** What the server needs to exist for the table, made once per engine. */
interface Fixture {
  server: TestServer
  role: string
  /** An agent (client_secret_basic) used to authenticate to /token, /introspect, /revoke. */
  agent: RegisteredAgent
  /** A single-use initial access token that every refused registration must leave unused. */
  iat: string
  /** An agent whose RFC 7592 registration the table reads, updates (badly) and suspends (badly). */
  managed: RegisteredAgent
  /** An agent the table tries (badly) to deregister. */
  deletable: RegisteredAgent
  /** A role with no agents, which the table tries (badly) to update and delete. */
  spareRole: string
  /** A live session of `agent` that the table tries (badly) to heartbeat, complete and terminate. */
  session: string
  /** A resource server (its role has can_introspect) for the revocation feed. */
  feedReader: RegisteredAgent
  /** A person the table tries (badly) to suspend and resume. */
  person: string
}

/** oauth: form body, client authentication. agent: JSON body (or none), client authentication. */
type Family = 'oauth' | 'agent' | 'registration' | 'admin' | 'metrics' | 'public'
type BodyKind = 'form' | 'json' | 'none'

interface Endpoint {
  name: string
  method: string
  path(f: Fixture): string
  family: Family
  body: BodyKind
  /** The credential this endpoint accepts, as an Authorization header value. */
  auth(f: Fixture): string | undefined
  /** A valid body, for rows that break only one other thing. */
  valid(f: Fixture): string | undefined
  /** Query parameters it reads (for the repeated / unknown / invalid UTF-8 query rows). */
  query?: string
  /** The name of a path parameter to corrupt. */
  pathParam?: (f: Fixture, value: string) => string
}

const adminAuth = (f: Fixture) => `Bearer ${f.server.adminToken}`
const agentBasic = (f: Fixture) => basic(f.agent.clientId, f.agent.clientSecret)
const tokenForm = () => 'grant_type=client_credentials'
const opaqueToken = () => 'token=opaque-not-a-token'

const ENDPOINTS: Endpoint[] = [
  { name: 'GET /.well-known/oauth-authorization-server', method: 'GET', path: () => '/.well-known/oauth-authorization-server', family: 'public', body: 'none', auth: () => undefined, valid: () => undefined },
  { name: 'GET /.well-known/openid-configuration', method: 'GET', path: () => '/.well-known/openid-configuration', family: 'public', body: 'none', auth: () => undefined, valid: () => undefined },
  { name: 'GET /jwks', method: 'GET', path: () => '/jwks', family: 'public', body: 'none', auth: () => undefined, valid: () => undefined },
  { name: 'GET /healthz', method: 'GET', path: () => '/healthz', family: 'public', body: 'none', auth: () => undefined, valid: () => undefined },
  { name: 'GET /readyz', method: 'GET', path: () => '/readyz', family: 'public', body: 'none', auth: () => undefined, valid: () => undefined },
  { name: 'GET /metrics', method: 'GET', path: () => '/metrics', family: 'metrics', body: 'none', auth: () => `Bearer ${METRICS_TOKEN}`, valid: () => undefined, query: '' },
  { name: 'POST /token', method: 'POST', path: () => '/token', family: 'oauth', body: 'form', auth: agentBasic, valid: tokenForm },
  { name: 'POST /introspect', method: 'POST', path: () => '/introspect', family: 'oauth', body: 'form', auth: agentBasic, valid: opaqueToken },
  { name: 'POST /revoke', method: 'POST', path: () => '/revoke', family: 'oauth', body: 'form', auth: agentBasic, valid: opaqueToken },
  { name: 'POST /register', method: 'POST', path: () => '/register', family: 'registration', body: 'json', auth: (f) => `Bearer ${f.iat}`, valid: () => JSON.stringify({ client_name: 'bad-input' }) },
  {
    name: 'GET /register/:id', method: 'GET', path: (f) => `/register/${f.managed.clientId}`, family: 'registration', body: 'none',
    auth: (f) => `Bearer ${f.managed.registrationAccessToken}`, valid: () => undefined, pathParam: (_f, v) => `/register/${v}`,
  },
  {
    name: 'PUT /register/:id', method: 'PUT', path: (f) => `/register/${f.managed.clientId}`, family: 'registration', body: 'json',
    auth: (f) => `Bearer ${f.managed.registrationAccessToken}`, valid: (f) => JSON.stringify({ client_id: f.managed.clientId, scope: 'read' }), pathParam: (_f, v) => `/register/${v}`,
  },
  {
    name: 'DELETE /register/:id', method: 'DELETE', path: (f) => `/register/${f.deletable.clientId}`, family: 'registration', body: 'none',
    auth: (f) => `Bearer ${f.deletable.registrationAccessToken}`, valid: () => undefined, pathParam: (_f, v) => `/register/${v}`,
  },
  { name: 'POST /admin/roles', method: 'POST', path: () => '/admin/roles', family: 'admin', body: 'json', auth: adminAuth, valid: () => JSON.stringify({ name: 'never-created', scopes: ['a'] }) },
  { name: 'GET /admin/roles', method: 'GET', path: () => '/admin/roles', family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined },
  { name: 'GET /admin/roles/:name', method: 'GET', path: (f) => `/admin/roles/${f.role}`, family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined, pathParam: (_f, v) => `/admin/roles/${v}` },
  {
    name: 'PUT /admin/roles/:name', method: 'PUT', path: (f) => `/admin/roles/${f.spareRole}`, family: 'admin', body: 'json', auth: adminAuth,
    valid: () => JSON.stringify({ scopes: ['changed'] }), pathParam: (_f, v) => `/admin/roles/${v}`,
  },
  { name: 'DELETE /admin/roles/:name', method: 'DELETE', path: (f) => `/admin/roles/${f.spareRole}`, family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined, pathParam: (_f, v) => `/admin/roles/${v}` },
  {
    name: 'POST /admin/roles/:name/initial-access-tokens', method: 'POST', path: (f) => `/admin/roles/${f.role}/initial-access-tokens`, family: 'admin', body: 'json', auth: adminAuth,
    valid: () => JSON.stringify({ uses: 1 }), pathParam: (_f, v) => `/admin/roles/${v}/initial-access-tokens`,
  },
  {
    name: 'GET /admin/roles/:name/initial-access-tokens', method: 'GET', path: (f) => `/admin/roles/${f.role}/initial-access-tokens`, family: 'admin', body: 'none', auth: adminAuth,
    valid: () => undefined, query: '', pathParam: (_f, v) => `/admin/roles/${v}/initial-access-tokens`,
  },
  { name: 'GET /admin/agents', method: 'GET', path: () => '/admin/agents', family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined, query: 'role' },
  { name: 'GET /admin/agents/:id', method: 'GET', path: (f) => `/admin/agents/${f.managed.clientId}`, family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined, pathParam: (_f, v) => `/admin/agents/${v}` },
  {
    name: 'POST /admin/agents/:id/suspend', method: 'POST', path: (f) => `/admin/agents/${f.managed.clientId}/suspend`, family: 'admin', body: 'json', auth: adminAuth,
    valid: () => JSON.stringify({ reason: 'should never happen' }), pathParam: (_f, v) => `/admin/agents/${v}/suspend`,
  },
  { name: 'POST /admin/agents/:id/resume', method: 'POST', path: (f) => `/admin/agents/${f.managed.clientId}/resume`, family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined, pathParam: (_f, v) => `/admin/agents/${v}/resume` },
  { name: 'GET /admin/audit', method: 'GET', path: () => '/admin/audit', family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined, query: 'action' },
  { name: 'GET /admin/audit/verify', method: 'GET', path: () => '/admin/audit/verify', family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined, query: '' },
  { name: 'POST /admin/keys/rotate', method: 'POST', path: () => '/admin/keys/rotate', family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined },
  { name: 'POST /sessions', method: 'POST', path: () => '/sessions', family: 'agent', body: 'json', auth: agentBasic, valid: () => JSON.stringify({ task: 'never-started', duration: 'task-completion' }) },
  { name: 'GET /sessions/:id', method: 'GET', path: (f) => `/sessions/${f.session}`, family: 'agent', body: 'none', auth: agentBasic, valid: () => undefined, query: '', pathParam: (_f, v) => `/sessions/${v}` },
  {
    name: 'POST /sessions/:id/heartbeat', method: 'POST', path: (f) => `/sessions/${f.session}/heartbeat`, family: 'agent', body: 'json', auth: agentBasic,
    valid: () => JSON.stringify({ progress: 0.5, note: 'never counted' }), pathParam: (_f, v) => `/sessions/${v}/heartbeat`,
  },
  {
    name: 'POST /sessions/:id/complete', method: 'POST', path: (f) => `/sessions/${f.session}/complete`, family: 'agent', body: 'json', auth: agentBasic,
    valid: () => JSON.stringify({ outcome: 'succeeded' }), pathParam: (_f, v) => `/sessions/${v}/complete`,
  },
  { name: 'GET /admin/sessions', method: 'GET', path: () => '/admin/sessions', family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined, query: 'state' },
  { name: 'GET /admin/sessions/:id', method: 'GET', path: (f) => `/admin/sessions/${f.session}`, family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined, query: '', pathParam: (_f, v) => `/admin/sessions/${v}` },
  {
    name: 'POST /admin/sessions/:id/terminate', method: 'POST', path: (f) => `/admin/sessions/${f.session}/terminate`, family: 'admin', body: 'json', auth: adminAuth,
    valid: () => JSON.stringify({ reason: 'should never happen' }), pathParam: (_f, v) => `/admin/sessions/${v}/terminate`,
  },
  { name: 'POST /admin/users', method: 'POST', path: () => '/admin/users', family: 'admin', body: 'json', auth: adminAuth, valid: () => JSON.stringify({ username: 'never-created', password: 'never-created-password' }) },
  { name: 'GET /admin/users', method: 'GET', path: () => '/admin/users', family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined, query: 'status' },
  { name: 'GET /admin/users/:id', method: 'GET', path: (f) => `/admin/users/${f.person}`, family: 'admin', body: 'none', auth: adminAuth, valid: () => undefined, query: '', pathParam: (_f, v) => `/admin/users/${v}` },
  {
    name: 'POST /admin/users/:id/suspend', method: 'POST', path: (f) => `/admin/users/${f.person}/suspend`, family: 'admin', body: 'json', auth: adminAuth,
    valid: () => JSON.stringify({ reason: 'should never happen' }), pathParam: (_f, v) => `/admin/users/${v}/suspend`,
  },
  { name: 'GET /revocations', method: 'GET', path: () => '/revocations', family: 'agent', body: 'none', auth: (f) => basic(f.feedReader.clientId, f.feedReader.clientSecret), valid: () => undefined, query: 'since' },
  // Every row here is refused before the stream opens; a row the server wrongly accepted would hang and fail on the test timeout.
  { name: 'GET /revocations/stream', method: 'GET', path: () => '/revocations/stream', family: 'agent', body: 'none', auth: (f) => basic(f.feedReader.clientId, f.feedReader.clientSecret), valid: () => undefined, query: 'since' },
]

interface Row {
  label: string
  request(f: Fixture): RawRequest
  status: number
  error: string
  /** WWW-Authenticate scheme the answer must carry. */
  challenge?: 'Basic' | 'Bearer'
}

/** Endpoints without a body still refuse a body they cannot parse, rather than acting on the request. */
function unparsableBodyRows(ep: Endpoint): Row[] {
  return [
    { label: 'malformed JSON', request: (f) => baseline(ep, f, { body: '{', contentType: JSON_CT }), status: 400, error: 'invalid_request' },
    { label: 'raw invalid UTF-8 sent as JSON', request: (f) => baseline(ep, f, { body: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), contentType: JSON_CT }), status: 400, error: 'invalid_request' },
  ]
}

/** The request an endpoint gets when nothing is wrong with it, for rows to change one thing. */
function baseline(ep: Endpoint, f: Fixture, overrides: Partial<RawRequest> & { auth?: string | null; contentType?: string | null } = {}): RawRequest {
  const headers: Record<string, string> = {}
  const auth = overrides.auth === undefined ? ep.auth(f) : overrides.auth
  if (auth !== null && auth !== undefined) headers.authorization = auth
  const body = 'body' in overrides ? overrides.body : ep.valid(f)
  const contentType = overrides.contentType === undefined ? (ep.body === 'form' ? FORM : ep.body === 'json' ? JSON_CT : undefined) : overrides.contentType
  if (contentType !== null && contentType !== undefined && body !== undefined) headers['content-type'] = contentType
  return { method: overrides.method ?? ep.method, path: overrides.path ?? ep.path(f), headers: { ...headers, ...overrides.headers }, body }
}

/** Garbage Authorization header values, each of which must be refused as no credential at all. */
const GARBAGE_AUTH: Array<[string, (f: Fixture) => string]> = [
  ['Basic !!!', () => 'Basic !!!'],
  ['Basic with base64 of no colon', () => `Basic ${Buffer.from('no-colon-at-all').toString('base64')}`],
  ['Basic with base64 of a lone colon', () => `Basic ${Buffer.from(':').toString('base64')}`],
  ['Basic with nothing after it', () => 'Basic'],
  ['Bearer with nothing after it', () => 'Bearer'],
  ['Bearer followed only by spaces', () => 'Bearer     '],
  ['Bearer with spaces inside the token', () => 'Bearer abc def ghi'],
  ['a 10 KB Bearer value', () => `Bearer ${'x'.repeat(10 * 1024)}`],
  ['a 10 KB Basic value', () => `Basic ${'QUFB'.repeat(2560)}`],
  ['non-ASCII (Latin-1) bytes', () => 'Bearer t\u00f6k\u00e9n'],
  ['invalid UTF-8 bytes 0xC3 0x28', () => 'Bearer \u00c3('],
  ['Basic with invalid UTF-8 inside the base64', () => `Basic ${Buffer.from([0xc3, 0x28, 0x3a, 0xff]).toString('base64')}`],
  ['an unknown scheme', () => 'Digest username="agent", response="x"'],
  ['an empty value', () => ''],
]

/** A role's rate_limit of the wrong type, zero, negative, huge, or with members missing or unknown: 400 invalid_request. */
function rateLimitRows(body: (rateLimit: unknown) => string): Array<Omit<Row, 'request'> & { body: string }> {
  const bad: Array<[string, unknown]> = [
    ['a rate_limit that is a number', 100],
    ['a rate_limit that is a string', '50/s'],
    ['a rate_limit that is an array', [50, 100]],
    ['a rate_limit with per_second 0', { per_second: 0, burst: 100 }],
    ['a rate_limit with a negative burst', { per_second: 50, burst: -1 }],
    ['a rate_limit with burst 0', { per_second: 50, burst: 0 }],
    ['a rate_limit with a fractional burst', { per_second: 50, burst: 2.5 }],
    ['a rate_limit with a huge per_second', { per_second: 1e300, burst: 100 }],
    ['a rate_limit with a huge burst', { per_second: 50, burst: 1e12 }],
    ['a rate_limit with per_second as a string', { per_second: '50', burst: 100 }],
    ['a rate_limit without burst', { per_second: 50 }],
    ['a rate_limit with an unknown member', { per_second: 50, burst: 100, window: 60 }],
  ]
  return bad.map(([label, value]) => ({ label, body: body(value), status: 400, error: 'invalid_request' }))
}

/** The valid body with its first member repeated under a \u-escaped spelling of the same name. */
function withEscapedDuplicate(valid: string): string {
  const name = Object.keys(JSON.parse(valid) as Record<string, unknown>)[0]!
  const escaped = [...name].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')
  return `${valid.slice(0, -1)}, "${escaped}": 1}`
}

function rowsFor(ep: Endpoint): Row[] {
  const rows: Row[] = []
  const clientAuth = ep.family === 'oauth' || ep.family === 'agent'
  const authError = clientAuth ? { status: 401, error: 'invalid_client', challenge: 'Basic' as const } : { status: 401, error: 'invalid_token', challenge: 'Bearer' as const }

  // Oversized bodies are refused before anything else, on every endpoint and method.
  rows.push({ label: 'a 1 MiB body', request: (f) => baseline(ep, f, { body: MIB, contentType: ep.body === 'none' ? JSON_CT : undefined }), status: 413, error: 'invalid_request' })

  if (ep.family !== 'public') {
    for (const [label, value] of GARBAGE_AUTH) {
      rows.push({ label: `Authorization: ${label}`, request: (f) => baseline(ep, f, { auth: value(f) }), ...authError })
    }
    rows.push({ label: 'no Authorization header', request: (f) => baseline(ep, f, { auth: null }), ...authError })
    if (clientAuth) {
      rows.push({ label: 'a Bearer token instead of client credentials', request: (f) => baseline(ep, f, { auth: `Bearer ${f.server.adminToken}` }), ...authError })
    } else {
      rows.push({ label: 'an agent\'s Basic credentials instead of a bearer token', request: (f) => baseline(ep, f, { auth: basic(f.agent.clientId, f.agent.clientSecret) }), ...authError })
    }
  }

  if (ep.body !== 'none') {
    rows.push({ label: 'a gzip Content-Encoding', request: (f) => baseline(ep, f, { headers: { 'content-encoding': 'gzip' } }), status: 415, error: 'invalid_request' })
  }

  // Wrong method: the resource exists, so 405 with an Allow header (checked below), not 404.
  const wrongMethod = 'PATCH'
  rows.push({ label: `method ${wrongMethod}`, request: (f) => baseline(ep, f, { method: wrongMethod, body: undefined }), status: 405, error: 'invalid_request' })

  if (ep.body === 'form') {
    const required = ep.name === 'POST /token' ? 'grant_type' : 'token'
    const repeated = ep.name === 'POST /token' ? 'grant_type=client_credentials&grant_type=client_credentials' : 'token=a&token=b'
    rows.push(
      { label: `missing ${required}`, request: (f) => baseline(ep, f, { body: 'foo=bar' }), status: 400, error: 'invalid_request' },
      { label: `${required} repeated`, request: (f) => baseline(ep, f, { body: repeated }), status: 400, error: 'invalid_request' },
      { label: 'an empty body', request: (f) => baseline(ep, f, { body: '' }), status: 400, error: 'invalid_request' },
      { label: 'no body at all', request: (f) => baseline(ep, f, { body: undefined }), status: 400, error: 'invalid_request' },
      { label: 'Content-Type application/json', request: (f) => baseline(ep, f, { body: JSON.stringify({ grant_type: 'client_credentials', token: 'x' }), contentType: JSON_CT }), status: 400, error: 'invalid_request' },
      { label: 'Content-Type text/plain', request: (f) => baseline(ep, f, { contentType: 'text/plain' }), status: 400, error: 'invalid_request' },
      { label: 'a form body without Content-Type', request: (f) => baseline(ep, f, { contentType: null }), status: 400, error: 'invalid_request' },
      { label: 'a malformed Content-Type', request: (f) => baseline(ep, f, { contentType: ';;;' }), status: 415, error: 'invalid_request' },
      { label: 'a charset other than UTF-8', request: (f) => baseline(ep, f, { contentType: `${FORM}; charset=ISO-8859-1` }), status: 400, error: 'invalid_request' },
      { label: 'malformed JSON sent as JSON', request: (f) => baseline(ep, f, { body: '{"grant_type":', contentType: JSON_CT }), status: 400, error: 'invalid_request' },
      { label: 'raw invalid UTF-8 bytes (0xC3 0x28) in the body', request: (f) => baseline(ep, f, { body: Buffer.concat([Buffer.from(`${ep.valid(f)}&x=`), Buffer.from([0xc3, 0x28])]) }), status: 400, error: 'invalid_request' },
      { label: 'percent-encoded invalid UTF-8 (%C3%28) in a value', request: (f) => baseline(ep, f, { body: `${ep.valid(f)}&scope=%C3%28` }), status: 400, error: 'invalid_request' },
      { label: 'percent-encoded invalid UTF-8 (%C3%28) in a name', request: (f) => baseline(ep, f, { body: `${ep.valid(f)}&%C3%28=x` }), status: 400, error: 'invalid_request' },
      { label: 'a broken percent-escape (%ZZ)', request: (f) => baseline(ep, f, { body: `${ep.valid(f)}&x=%ZZ` }), status: 400, error: 'invalid_request' },
    )
  }
  if (ep.name === 'POST /token') {
    rows.push(
      { label: 'a 10,000-character scope of many tokens', request: (f) => baseline(ep, f, { body: `grant_type=client_credentials&scope=${encodeURIComponent(LONG_SCOPE)}` }), status: 400, error: 'invalid_scope' },
      { label: 'a 10,000-character single scope token', request: (f) => baseline(ep, f, { body: `grant_type=client_credentials&scope=${ONE_LONG_SCOPE_TOKEN}` }), status: 400, error: 'invalid_scope' },
      { label: 'a 10,000-character resource', request: (f) => baseline(ep, f, { body: `grant_type=client_credentials&resource=https%3A%2F%2Fa.example%2F${'r'.repeat(10_000)}` }), status: 400, error: 'invalid_target' },
      { label: 'a 10,000-character grant_type', request: (f) => baseline(ep, f, { body: `grant_type=${'g'.repeat(10_000)}` }), status: 400, error: 'unsupported_grant_type' },
      { label: 'a 10,000-character client_id with client_secret_post', request: (f) => baseline(ep, f, { auth: null, body: `grant_type=client_credentials&client_id=${'c'.repeat(10_000)}&client_secret=x` }), status: 400, error: 'invalid_client' },
    )
  }

  if (ep.body === 'json') {
    const metadata = ep.family === 'registration'
    const wrongType = metadata ? 'invalid_client_metadata' : 'invalid_request'
    rows.push(
      { label: 'malformed JSON ({)', request: (f) => baseline(ep, f, { body: '{' }), status: 400, error: 'invalid_request' },
      { label: 'malformed JSON (trailing garbage)', request: (f) => baseline(ep, f, { body: `${ep.valid(f)}x` }), status: 400, error: 'invalid_request' },
      { label: 'malformed JSON (single quotes)', request: (f) => baseline(ep, f, { body: "{'a': 1}" }), status: 400, error: 'invalid_request' },
      { label: 'JSON with a __proto__ key', request: (f) => baseline(ep, f, { body: '{"__proto__": {"admin": true}}' }), status: 400, error: 'invalid_request' },
      { label: 'a repeated JSON member', request: (f) => baseline(ep, f, { body: `{"a": 1, "a": 2, ${ep.valid(f)!.slice(1)}` }), status: 400, error: 'invalid_request' },
      { label: 'a JSON member repeated under a \\u-escaped spelling', request: (f) => baseline(ep, f, { body: withEscapedDuplicate(ep.valid(f)!) }), status: 400, error: 'invalid_request' },
      { label: 'an empty body with Content-Type JSON', request: (f) => baseline(ep, f, { body: '' }), status: 400, error: 'invalid_request' },
      { label: 'a JSON array instead of an object', request: (f) => baseline(ep, f, { body: '[]' }), status: 400, error: wrongType },
      { label: 'JSON null', request: (f) => baseline(ep, f, { body: 'null' }), status: 400, error: wrongType },
      { label: 'Content-Type text/plain', request: (f) => baseline(ep, f, { contentType: 'text/plain' }), status: 400, error: wrongType },
      { label: 'a form body', request: (f) => baseline(ep, f, { body: 'a=b', contentType: FORM }), status: 400, error: wrongType },
      { label: 'JSON without Content-Type', request: (f) => baseline(ep, f, { contentType: null }), status: 400, error: wrongType },
      { label: 'a charset other than UTF-8', request: (f) => baseline(ep, f, { contentType: `${JSON_CT}; charset=utf-16` }), status: 400, error: 'invalid_request' },
      { label: 'raw invalid UTF-8 bytes (0xC3 0x28) in a string', request: (f) => baseline(ep, f, { body: Buffer.concat([Buffer.from('{"x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]) }), status: 400, error: 'invalid_request' },
      { label: 'a nesting 10,000 levels deep', request: (f) => baseline(ep, f, { body: `${'['.repeat(10_000)}${']'.repeat(10_000)}` }), status: 400, error: wrongType },
    )
  }
  // Missing, unknown and oversized members, per endpoint.
  const json = (b: unknown) => JSON.stringify(b)
  switch (ep.name) {
    case 'POST /register':
      rows.push(
        { label: 'a 10,000-character scope', request: (f) => baseline(ep, f, { body: json({ scope: LONG_SCOPE }) }), status: 400, error: 'invalid_client_metadata' },
        { label: 'a 10,000-character scope token', request: (f) => baseline(ep, f, { body: json({ scope: ONE_LONG_SCOPE_TOKEN }) }), status: 400, error: 'invalid_client_metadata' },
        { label: 'a scope outside the role', request: (f) => baseline(ep, f, { body: json({ scope: 'read admin' }) }), status: 400, error: 'invalid_client_metadata' },
        { label: 'scope of the wrong type', request: (f) => baseline(ep, f, { body: json({ scope: ['read'] }) }), status: 400, error: 'invalid_client_metadata' },
        { label: 'an unsupported token_endpoint_auth_method', request: (f) => baseline(ep, f, { body: json({ token_endpoint_auth_method: 'private_key_jwt' }) }), status: 400, error: 'invalid_client_metadata' },
        { label: 'a javascript: redirect_uri', request: (f) => baseline(ep, f, { body: json({ redirect_uris: ['javascript:alert(1)'] }) }), status: 400, error: 'invalid_redirect_uri' },
        { label: 'a client_name with a line break', request: (f) => baseline(ep, f, { body: json({ client_name: 'agent\n[admin] approved' }) }), status: 400, error: 'invalid_client_metadata' },
        { label: 'a client_name with an ANSI escape', request: (f) => baseline(ep, f, { body: json({ client_name: 'agent\u001b[31m' }) }), status: 400, error: 'invalid_client_metadata' },
      )
      break
    case 'PUT /register/:id':
      rows.push(
        { label: 'client_id missing from the body', request: (f) => baseline(ep, f, { body: json({ scope: 'read' }) }), status: 400, error: 'invalid_client_metadata' },
        { label: 'a 10,000-character scope', request: (f) => baseline(ep, f, { body: json({ client_id: f.managed.clientId, scope: LONG_SCOPE }) }), status: 400, error: 'invalid_client_metadata' },
      )
      break
    case 'POST /admin/roles':
      rows.push(
        { label: 'name missing', request: (f) => baseline(ep, f, { body: json({ scopes: ['a'] }) }), status: 400, error: 'invalid_request' },
        { label: 'scopes missing', request: (f) => baseline(ep, f, { body: json({ name: 'never-created' }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown member', request: (f) => baseline(ep, f, { body: json({ name: 'never-created', scopes: ['a'], scope_ceiling: 'x' }) }), status: 400, error: 'invalid_request' },
        { label: 'a 10,000-character scope', request: (f) => baseline(ep, f, { body: json({ name: 'never-created', scopes: [ONE_LONG_SCOPE_TOKEN] }) }), status: 400, error: 'invalid_request' },
        { label: 'scopes as a 10,000-character string', request: (f) => baseline(ep, f, { body: json({ name: 'never-created', scopes: LONG_SCOPE }) }), status: 400, error: 'invalid_request' },
        { label: 'a 10,000-character name', request: (f) => baseline(ep, f, { body: json({ name: 'n'.repeat(10_000), scopes: ['a'] }) }), status: 400, error: 'invalid_request' },
        ...rateLimitRows((rate_limit) => json({ name: 'never-created', scopes: ['a'], rate_limit })).map((r) => ({ ...r, request: (f: Fixture) => baseline(ep, f, { body: r.body }) })),
      )
      break
    case 'PUT /admin/roles/:name':
      rows.push(
        { label: 'scopes missing', request: (f) => baseline(ep, f, { body: json({ token_ttl_seconds: 60 }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown member', request: (f) => baseline(ep, f, { body: json({ scopes: ['changed'], colour: 'red' }) }), status: 400, error: 'invalid_request' },
        { label: 'a 10,000-character scope', request: (f) => baseline(ep, f, { body: json({ scopes: [ONE_LONG_SCOPE_TOKEN] }) }), status: 400, error: 'invalid_request' },
        { label: 'a name in the body that differs from the path', request: (f) => baseline(ep, f, { body: json({ name: 'other', scopes: ['changed'] }) }), status: 400, error: 'invalid_request' },
        ...rateLimitRows((rate_limit) => json({ scopes: ['changed'], rate_limit })).map((r) => ({ ...r, request: (f: Fixture) => baseline(ep, f, { body: r.body }) })),
      )
      break
    case 'POST /admin/roles/:name/initial-access-tokens':
      rows.push(
        { label: 'an unknown member', request: (f) => baseline(ep, f, { body: json({ uses: 1, role: 'other' }) }), status: 400, error: 'invalid_request' },
        { label: 'uses of the wrong type', request: (f) => baseline(ep, f, { body: json({ uses: '5' }) }), status: 400, error: 'invalid_request' },
        { label: 'uses out of range', request: (f) => baseline(ep, f, { body: json({ uses: 0 }) }), status: 400, error: 'invalid_request' },
      )
      break
    case 'POST /admin/agents/:id/suspend':
      rows.push(
        { label: 'reason missing', request: (f) => baseline(ep, f, { body: json({}) }), status: 400, error: 'invalid_request' },
        { label: 'a blank reason', request: (f) => baseline(ep, f, { body: json({ reason: '   ' }) }), status: 400, error: 'invalid_request' },
        { label: 'a 10,000-character reason', request: (f) => baseline(ep, f, { body: json({ reason: 'r'.repeat(10_000) }) }), status: 400, error: 'invalid_request' },
        { label: 'a reason with a line break', request: (f) => baseline(ep, f, { body: json({ reason: 'drill\nforged line' }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown member beside the reason', request: (f) => baseline(ep, f, { body: json({ reason: 'drill', bogus: 1 }) }), status: 400, error: 'invalid_request' },
      )
      break
    case 'POST /sessions': {
      const start = (extra: Record<string, unknown>) => json({ task: 'never-started', duration: 'task-completion', ...extra })
      rows.push(
        { label: 'task missing', request: (f) => baseline(ep, f, { body: json({ duration: 'task-completion' }) }), status: 400, error: 'invalid_request' },
        { label: 'duration missing', request: (f) => baseline(ep, f, { body: json({ task: 'never-started' }) }), status: 400, error: 'invalid_request' },
        ...(['forever', 0, -60, 1.5, '3600', null] as unknown[]).map((duration) => ({
          label: `duration ${JSON.stringify(duration)}`, request: (f: Fixture) => baseline(ep, f, { body: start({ duration }) }), status: 400, error: 'invalid_request',
        })),
        { label: 'heartbeat_interval_seconds 0', request: (f) => baseline(ep, f, { body: start({ heartbeat_interval_seconds: 0 }) }), status: 400, error: 'invalid_request' },
        { label: 'heartbeat_interval_seconds as a string', request: (f) => baseline(ep, f, { body: start({ heartbeat_interval_seconds: '60' }) }), status: 400, error: 'invalid_request' },
        { label: 'a grace period shorter than the interval', request: (f) => baseline(ep, f, { body: start({ heartbeat_interval_seconds: 60, heartbeat_grace_seconds: 30 }) }), status: 400, error: 'invalid_request' },
        // One interval would race the heartbeat sent at the end of it.
        { label: 'a grace period of one interval', request: (f) => baseline(ep, f, { body: start({ heartbeat_interval_seconds: 60, heartbeat_grace_seconds: 60 }) }), status: 400, error: 'invalid_request' },
        { label: 'max_duration_seconds 0', request: (f) => baseline(ep, f, { body: start({ max_duration_seconds: 0 }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown member', request: (f) => baseline(ep, f, { body: start({ ttl: 3600 }) }), status: 400, error: 'invalid_request' },
        { label: 'a 10,000-character task', request: (f) => baseline(ep, f, { body: json({ task: 't'.repeat(10_000), duration: 'task-completion' }) }), status: 400, error: 'invalid_request' },
        { label: 'a task with a line break', request: (f) => baseline(ep, f, { body: json({ task: 'a\nforged log line', duration: 'task-completion' }) }), status: 400, error: 'invalid_request' },
        { label: 'a task with a Unicode line separator', request: (f) => baseline(ep, f, { body: json({ task: 'a\u2028forged', duration: 'task-completion' }) }), status: 400, error: 'invalid_request' },
        { label: 'a task with a C1 next-line control', request: (f) => baseline(ep, f, { body: json({ task: 'a\u0085forged', duration: 'task-completion' }) }), status: 400, error: 'invalid_request' },
        { label: 'a label with a right-to-left override', request: (f) => baseline(ep, f, { body: start({ label: 'txt.\u202eexe' }) }), status: 400, error: 'invalid_request' },
        { label: 'a label of the wrong type', request: (f) => baseline(ep, f, { body: start({ label: ['x'] }) }), status: 400, error: 'invalid_request' },
        { label: 'a health check off the role\'s allowlist', request: (f) => baseline(ep, f, { body: start({ health_check: { url: 'https://worker.example.com/health' } }) }), status: 400, error: 'invalid_request' },
        { label: 'a health check at a private address', request: (f) => baseline(ep, f, { body: start({ health_check: { url: 'http://169.254.169.254/latest/meta-data' } }) }), status: 400, error: 'invalid_request' },
        { label: 'a health check that is a string', request: (f) => baseline(ep, f, { body: start({ health_check: 'https://worker.example.com/health' }) }), status: 400, error: 'invalid_request' },
        { label: 'a scope outside the agent\'s', request: (f) => baseline(ep, f, { body: start({ scope: 'read admin' }) }), status: 400, error: 'invalid_scope' },
        { label: 'a 10,000-character scope', request: (f) => baseline(ep, f, { body: start({ scope: LONG_SCOPE }) }), status: 400, error: 'invalid_scope' },
        { label: 'scope as a list', request: (f) => baseline(ep, f, { body: start({ scope: ['read'] }) }), status: 400, error: 'invalid_request' },
        { label: 'a resource with a fragment', request: (f) => baseline(ep, f, { body: start({ resource: 'https://api.example.com/#x' }) }), status: 400, error: 'invalid_target' },
        // RFC 6749 §2.3: one authentication method per request.
        { label: 'client_secret in the body beside Basic', request: (f) => baseline(ep, f, { body: start({ client_id: f.agent.clientId, client_secret: f.agent.clientSecret }) }), status: 400, error: 'invalid_request' },
        { label: 'a body client_id that differs from Basic', request: (f) => baseline(ep, f, { body: start({ client_id: f.managed.clientId }) }), status: 400, error: 'invalid_request' },
        { label: 'client_secret of the wrong type', request: (f) => baseline(ep, f, { auth: null, body: start({ client_id: f.agent.clientId, client_secret: 42 }) }), status: 400, error: 'invalid_request' },
      )
      break
    }
    case 'POST /sessions/:id/heartbeat':
      rows.push(
        ...['1.5', '-0.1', '"0.5"', '1e400', 'true'].map((progress) => ({
          label: `progress ${progress}`, request: (f: Fixture) => baseline(ep, f, { body: `{"progress": ${progress}}` }), status: 400, error: 'invalid_request',
        })),
        { label: 'a 10,000-character note', request: (f) => baseline(ep, f, { body: json({ note: 'n'.repeat(10_000) }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown member', request: (f) => baseline(ep, f, { body: json({ progress: 0.5, state: 'completed' }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown session id', request: (f) => baseline(ep, f, { path: '/sessions/ses_unknown/heartbeat' }), status: 404, error: 'not_found' },
        { label: 'another agent\'s session', request: (f) => baseline(ep, f, { auth: basic(f.managed.clientId, f.managed.clientSecret) }), status: 404, error: 'not_found' },
      )
      break
    case 'POST /sessions/:id/complete':
      rows.push(
        { label: 'outcome missing', request: (f) => baseline(ep, f, { body: json({}) }), status: 400, error: 'invalid_request' },
        { label: 'no body', request: (f) => baseline(ep, f, { body: undefined }), status: 400, error: 'invalid_request' },
        { label: 'an unknown outcome', request: (f) => baseline(ep, f, { body: json({ outcome: 'done' }) }), status: 400, error: 'invalid_request' },
        { label: 'outcome as a list', request: (f) => baseline(ep, f, { body: json({ outcome: ['succeeded'] }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown member', request: (f) => baseline(ep, f, { body: json({ outcome: 'succeeded', reason: 'x' }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown session id', request: (f) => baseline(ep, f, { path: '/sessions/ses_unknown/complete' }), status: 404, error: 'not_found' },
        { label: 'another agent\'s session', request: (f) => baseline(ep, f, { auth: basic(f.managed.clientId, f.managed.clientSecret) }), status: 404, error: 'not_found' },
      )
      break
    case 'GET /sessions/:id':
      rows.push(
        { label: 'an unknown session id', request: (f) => baseline(ep, f, { path: '/sessions/ses_unknown' }), status: 404, error: 'not_found' },
        { label: 'another agent\'s session', request: (f) => baseline(ep, f, { auth: basic(f.managed.clientId, f.managed.clientSecret) }), status: 404, error: 'not_found' },
      )
      break
    case 'POST /admin/users':
      rows.push(
        { label: 'username missing', request: (f) => baseline(ep, f, { body: json({ password: 'never-created-password' }) }), status: 400, error: 'invalid_request' },
        { label: 'a 10,000-character username', request: (f) => baseline(ep, f, { body: json({ username: 'u'.repeat(10_000), password: 'never-created-password' }) }), status: 400, error: 'invalid_request' },
        { label: 'a username with a line break', request: (f) => baseline(ep, f, { body: json({ username: 'a\nb', password: 'never-created-password' }) }), status: 400, error: 'invalid_request' },
        { label: 'a username that is a list', request: (f) => baseline(ep, f, { body: json({ username: ['never-created'], password: 'never-created-password' }) }), status: 400, error: 'invalid_request' },
        { label: 'a 7-character password', request: (f) => baseline(ep, f, { body: json({ username: 'never-created', password: 'short77' }) }), status: 400, error: 'invalid_request' },
        { label: 'a 10,000-character password', request: (f) => baseline(ep, f, { body: json({ username: 'never-created', password: 'p'.repeat(10_000) }) }), status: 400, error: 'invalid_request' },
        { label: 'a password that is a number', request: (f) => baseline(ep, f, { body: json({ username: 'never-created', password: 12345678 }) }), status: 400, error: 'invalid_request' },
        { label: 'a 10,000-character display name', request: (f) => baseline(ep, f, { body: json({ username: 'never-created', password: 'never-created-password', display_name: 'd'.repeat(10_000) }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown member', request: (f) => baseline(ep, f, { body: json({ username: 'never-created', password: 'never-created-password', admin: true }) }), status: 400, error: 'invalid_request' },
        { label: 'a username already taken (another case)', request: (f) => baseline(ep, f, { body: json({ username: 'BAD-INPUT-PERSON', password: 'never-created-password' }) }), status: 409, error: 'conflict' },
      )
      break
    case 'GET /admin/users':
      rows.push(
        { label: 'an unknown status', request: (f) => baseline(ep, f, { path: '/admin/users?status=deleted' }), status: 400, error: 'invalid_request' },
        { label: 'limit 0', request: (f) => baseline(ep, f, { path: '/admin/users?limit=0' }), status: 400, error: 'invalid_request' },
        { label: 'a cursor this server never issued', request: (f) => baseline(ep, f, { path: '/admin/users?cursor=agt_x' }), status: 400, error: 'invalid_request' },
      )
      break
    case 'GET /admin/users/:id':
      rows.push({ label: 'an unknown user id', request: (f) => baseline(ep, f, { path: '/admin/users/usr_unknown' }), status: 404, error: 'not_found' })
      break
    case 'POST /admin/users/:id/suspend':
      rows.push(
        { label: 'reason missing', request: (f) => baseline(ep, f, { body: json({}) }), status: 400, error: 'invalid_request' },
        { label: 'a 10,000-character reason', request: (f) => baseline(ep, f, { body: json({ reason: 'r'.repeat(10_000) }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown member', request: (f) => baseline(ep, f, { body: json({ reason: 'drill', status: 'deleted' }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown user id', request: (f) => baseline(ep, f, { path: '/admin/users/usr_unknown/suspend' }), status: 404, error: 'not_found' },
      )
      break
    case 'POST /admin/sessions/:id/terminate':
      rows.push(
        { label: 'reason missing', request: (f) => baseline(ep, f, { body: json({}) }), status: 400, error: 'invalid_request' },
        { label: 'a blank reason', request: (f) => baseline(ep, f, { body: json({ reason: ' ' }) }), status: 400, error: 'invalid_request' },
        { label: 'a 10,000-character reason', request: (f) => baseline(ep, f, { body: json({ reason: 'r'.repeat(10_000) }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown member', request: (f) => baseline(ep, f, { body: json({ reason: 'drill', state: 'completed' }) }), status: 400, error: 'invalid_request' },
        { label: 'an unknown session id', request: (f) => baseline(ep, f, { path: '/admin/sessions/ses_unknown/terminate' }), status: 404, error: 'not_found' },
      )
      break
    case 'GET /admin/sessions':
      rows.push(
        { label: 'an unknown state', request: (f) => baseline(ep, f, { path: '/admin/sessions?state=paused' }), status: 400, error: 'invalid_request' },
        { label: 'limit 0', request: (f) => baseline(ep, f, { path: '/admin/sessions?limit=0' }), status: 400, error: 'invalid_request' },
        { label: 'a limit that is not a number', request: (f) => baseline(ep, f, { path: '/admin/sessions?limit=ten' }), status: 400, error: 'invalid_request' },
        { label: 'a cursor this server never issued', request: (f) => baseline(ep, f, { path: '/admin/sessions?cursor=zzz' }), status: 400, error: 'invalid_request' },
      )
      break
    case 'GET /revocations':
    case 'GET /revocations/stream':
      rows.push(
        { label: 'a cursor this server never returned', request: (f) => baseline(ep, f, { path: `${ep.path(f)}?since=abc` }), status: 400, error: 'invalid_request' },
        { label: 'a negative cursor', request: (f) => baseline(ep, f, { path: `${ep.path(f)}?since=-1` }), status: 400, error: 'invalid_request' },
        { label: 'an agent whose role may not read the feed', request: (f) => baseline(ep, f, { auth: basic(f.agent.clientId, f.agent.clientSecret) }), status: 403, error: 'access_denied' },
        ...(ep.name === 'GET /revocations'
          ? [{ label: 'limit 0', request: (f: Fixture) => baseline(ep, f, { path: '/revocations?limit=0' }), status: 400, error: 'invalid_request' }]
          : [{ label: 'a garbage Last-Event-ID', request: (f: Fixture) => baseline(ep, f, { headers: { 'last-event-id': 'x; DROP' } }), status: 400, error: 'invalid_request' }]),
      )
      break
    case 'POST /admin/agents/:id/resume':
    case 'POST /admin/keys/rotate':
      rows.push(
        // A body this endpoint has no use for is a mistake (e.g. {"domain":"admin"}), not something to ignore.
        { label: 'an unexpected member', request: (f) => baseline(ep, f, { body: json({ domain: 'admin' }) }), status: 400, error: 'invalid_request' },
        ...unparsableBodyRows(ep),
      )
      break
    case 'GET /metrics':
      rows.push(
        // Least privilege both ways: the admin token does not read metrics, the metrics token does not reach the admin API.
        { label: 'the admin token instead of the metrics token', request: (f) => baseline(ep, f, { auth: adminAuth(f) }), status: 401, error: 'invalid_token', challenge: 'Bearer' },
        { label: 'the metrics token sent as Basic credentials', request: (f) => baseline(ep, f, { auth: `Basic ${Buffer.from(`metrics:${METRICS_TOKEN}`).toString('base64')}` }), status: 401, error: 'invalid_token', challenge: 'Bearer' },
        { label: 'the metrics token as a query parameter', request: (f) => baseline(ep, f, { auth: null, path: `/metrics?access_token=${METRICS_TOKEN}` }), status: 401, error: 'invalid_token', challenge: 'Bearer' },
        { label: 'the metrics token on an admin endpoint', request: (f) => ({ ...baseline(ep, f), path: '/admin/roles' }), status: 401, error: 'invalid_token', challenge: 'Bearer' },
      )
      break
    case 'DELETE /register/:id':
    case 'DELETE /admin/roles/:name':
      rows.push(...unparsableBodyRows(ep))
      break
  }

  if (ep.query !== undefined) {
    const name = ep.query === '' ? 'x' : ep.query
    rows.push(
      { label: 'an unknown query parameter', request: (f) => baseline(ep, f, { path: `${ep.path(f)}?bogus=1` }), status: 400, error: 'invalid_request' },
      { label: 'invalid UTF-8 (%C3%28) in the query', request: (f) => baseline(ep, f, { path: `${ep.path(f)}?${name}=%C3%28` }), status: 400, error: 'invalid_request' },
      { label: 'a broken percent-escape in the query', request: (f) => baseline(ep, f, { path: `${ep.path(f)}?${name}=%ZZ` }), status: 400, error: 'invalid_request' },
    )
    if (ep.query !== '') rows.push({ label: `${name} repeated in the query`, request: (f) => baseline(ep, f, { path: `${ep.path(f)}?${name}=a&${name}=b` }), status: 400, error: 'invalid_request' })
  }
  if (ep.pathParam) {
    const at = ep.pathParam
    rows.push(
      { label: 'invalid UTF-8 (%C3%28) in the path', request: (f) => baseline(ep, f, { path: at(f, '%C3%28') }), status: 400, error: 'invalid_request' },
      { label: 'a broken percent-escape in the path', request: (f) => baseline(ep, f, { path: at(f, '%ZZ') }), status: 400, error: 'invalid_request' },
      { label: 'a 1,000-character path segment', request: (f) => baseline(ep, f, { path: at(f, 'a'.repeat(1000)) }), status: 414, error: 'invalid_request' },
    )
  }
  return rows
}

/** What a client relies on for every refusal: the status, an RFC-style JSON error body, no caching. */
function assertRefused(res: RawReply, row: Row, what: string) {
  assert.equal(res.status, row.status, `${what}: ${res.status} ${res.text.slice(0, 300)}`)
  assert.match(String(res.headers['content-type'] ?? ''), /^application\/json/, `${what}: JSON content type`)
  assert.equal(res.body?.error, row.error, `${what}: ${res.text.slice(0, 300)}`)
  assert.equal(typeof res.body?.error_description, 'string', `${what}: error_description`)
  assert.equal(res.headers['cache-control'], 'no-store', `${what}: no-store`)
  assert.match(String(res.headers['x-request-id'] ?? ''), /^[0-9a-f-]{36}$/, `${what}: x-request-id`)
  if (row.challenge) assert.match(String(res.headers['www-authenticate'] ?? ''), new RegExp(`^${row.challenge} `), `${what}: WWW-Authenticate`)
  if (row.status === 405) assert.match(String(res.headers.allow ?? ''), /^[A-Z, ]+$/, `${what}: Allow header`)
}

async function countAgents(server: TestServer): Promise<number> {
  const res = await admin(server, 'GET', '/agents?limit=500')
  assert.equal(res.status, 200, res.text)
  return (res.body.agents as unknown[]).length
}

async function countEvents(server: TestServer, action: string): Promise<number> {
  const res = await admin(server, 'GET', `/audit?action=${action}&limit=1000`)
  assert.equal(res.status, 200, res.text)
  return (res.body.events as unknown[]).length
}

interface Snapshot {
  users: unknown
  agents: number
  roles: unknown
  kids: unknown
  managed: unknown
  deletable: number
  spareRole: unknown
  iatsCreated: number
  keyRotations: number
  registrations: number
  session: unknown
  sessions: number
}

async function snapshot(f: Fixture): Promise<Snapshot> {
  const { server } = f
  const managed = await admin(server, 'GET', `/agents/${f.managed.clientId}`)
  const spare = await admin(server, 'GET', `/roles/${f.spareRole}`)
  const roles = await admin(server, 'GET', '/roles')
  const jwks = await send(server, { method: 'GET', path: '/jwks' })
  const deletable = await send(server, { method: 'GET', path: `/register/${f.deletable.clientId}`, headers: { authorization: `Bearer ${f.deletable.registrationAccessToken}` } })
  return {
    users: (await admin(server, 'GET', '/users?limit=500')).body,
    agents: await countAgents(server),
    roles: (roles.body.roles as Array<{ name: string; version: number }>).map((r) => [r.name, r.version]),
    kids: (jwks.body?.keys as Array<{ kid: string }>).map((k) => k.kid),
    managed: managed.body,
    deletable: deletable.status,
    spareRole: spare.body,
    iatsCreated: await countEvents(server, 'initial_access_token.created'),
    keyRotations: await countEvents(server, 'key.rotated'),
    registrations: await countEvents(server, 'agent.registered'),
    session: (await admin(server, 'GET', `/sessions/${f.session}`)).body,
    sessions: ((await admin(server, 'GET', '/sessions?limit=500')).body.sessions as unknown[]).length,
  }
}

for (const engine of await availableEngines()) {
  describe(`bad input on every endpoint on ${engine}`, () => {
    const f = {} as Fixture
    let before_: Snapshot
    before(async () => {
      // The table sends hundreds of failed client authentications from one address; their limit has its own tests (rate-limits.test.ts).
      f.server = await startTestServer(engine, { env: { MANDATE_METRICS_TOKEN: METRICS_TOKEN, MANDATE_RATE_LIMIT_AUTH_FAILURES: '1000:100000' } })
      f.agent = await registeredAgent(f.server, { role: { name: `bad-input-${engine}`, scopes: ['read', 'write'] } })
      f.role = `bad-input-${engine}`
      f.managed = await registeredAgent(f.server)
      f.deletable = await registeredAgent(f.server)
      f.spareRole = await createRole(f.server, { scopes: ['spare'] })
      f.iat = await initialAccessToken(f.server, f.role, { uses: 1 })
      f.session = (await startedSession(f.server, f.agent, { task: 'bad-input target' })).session_id
      f.feedReader = await registeredAgent(f.server, { role: { scopes: ['introspect'], can_introspect: true } })
      f.person = (await admin(f.server, 'POST', '/users', { username: 'bad-input-person', password: 'bad-input-password' })).body.id as string
      before_ = await snapshot(f)
    })
    after(() => f.server.close())

    for (const ep of ENDPOINTS) {
      describe(ep.name, () => {
        for (const row of rowsFor(ep)) {
          test(`${row.label} → ${row.status} ${row.error}`, async () => {
            assertRefused(await send(f.server, row.request(f)), row, `${ep.name} with ${row.label}`)
          })
        }
      })
    }

    describe('what is accepted rather than refused', () => {
      test('unknown form parameters are ignored by /token, /introspect and /revoke (RFC 6749 §3.2)', async () => {
        for (const ep of ENDPOINTS.filter((e) => e.body === 'form')) {
          const res = await send(f.server, baseline(ep, f, { body: `${ep.valid(f)}&unknown=1&unknown=2&x_${'y'.repeat(100)}=z` }))
          assert.equal(res.status, 200, `${ep.name}: ${res.text}`)
        }
      })

      test('discovery and JWKS ignore garbage Authorization headers, query strings and bodies', async () => {
        for (const ep of ENDPOINTS.filter((e) => e.family === 'public')) {
          for (const [label, value] of GARBAGE_AUTH) {
            const res = await send(f.server, { method: 'GET', path: `${ep.path(f)}?x=1&x=2&%C3%28`, headers: { authorization: value(f) } })
            assert.equal(res.status, 200, `${ep.name} with ${label}: ${res.text}`)
          }
          const withBody = await send(f.server, { method: 'GET', path: ep.path(f), headers: { 'content-type': JSON_CT }, body: '{' })
          assert.equal(withBody.status, 200, `${ep.name} with a body`)
        }
      })

      test('a 20 KB header (over the server limit) gets 431 with a JSON error, and the server keeps serving', async () => {
        const res = await send(f.server, { method: 'POST', path: '/token', headers: { authorization: `Basic ${'A'.repeat(20_000)}`, 'content-type': FORM }, body: tokenForm() })
        assert.equal(res.status, 431)
        assert.equal(res.body?.error, 'invalid_request')
        assert.equal((await tokenRequest(f.server, f.agent)).status, 200)
      })

      test('a request that is not valid HTTP gets 400 with a JSON error', async () => {
        const url = new URL(f.server.url)
        const { createConnection } = await import('node:net')
        const text = await new Promise<string>((resolve, reject) => {
          const socket = createConnection({ host: url.hostname, port: Number(url.port) }, () => socket.write('POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'))
          const chunks: Buffer[] = []
          socket.on('data', (c: Buffer) => chunks.push(c))
          socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
          socket.on('error', reject)
        })
        assert.match(text, /^HTTP\/1\.1 400 /)
        const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>
        assert.equal(body.error, 'invalid_request')
        assert.equal(typeof body.error_description, 'string')
      })
    })

    describe('after the barrage', () => {
      test('the server still issues a token to a normal request', async () => {
        const res = await tokenRequest(f.server, f.agent, { scope: 'read' })
        assert.equal(res.status, 200, res.text)
        assert.equal(res.body.scope, 'read')
        assert.equal((await accessToken(f.server, f.managed)).split('.').length, 3)
      })

      test('refused requests left no partial state: no agent, role, key, token or status changed', async () => {
        const now = await snapshot(f)
        assert.equal(now.agents, before_.agents, 'no agent was registered')
        assert.equal(now.registrations, before_.registrations, 'no agent.registered event')
        assert.deepEqual(now.roles, before_.roles, 'no role created, changed or deleted')
        assert.deepEqual(now.spareRole, before_.spareRole, 'the spare role is unchanged')
        assert.deepEqual(now.managed, before_.managed, 'the managed agent (status, scopes, metadata) is unchanged')
        assert.equal(now.deletable, 200, 'the agent the table tried to deregister is still registered')
        assert.deepEqual(now.kids, before_.kids, 'no key was rotated')
        assert.equal(now.keyRotations, before_.keyRotations)
        assert.equal(now.iatsCreated, before_.iatsCreated, 'no initial access token was created')
        assert.deepEqual(now.session, before_.session, 'the session was not heartbeated, completed or terminated')
        assert.equal(now.sessions, before_.sessions, 'no session was started')
        assert.deepEqual(now.users, before_.users, 'no person was created, suspended or changed')
      })

      test('the session the table aimed at is still live and takes a heartbeat', async () => {
        const res = await heartbeat(f.server, f.agent, f.session, { progress: 1 })
        assert.equal(res.status, 200, res.text)
        assert.equal(res.body.heartbeat_count, 1)
      })

      test('refused registrations did not use up the single-use initial access token', async () => {
        const res = await register(f.server, f.iat, { client_name: 'after the barrage' })
        assert.equal(res.status, 201, res.text)
        assert.equal(await countAgents(f.server), before_.agents + 1)
        // And now it is used up.
        const again = await register(f.server, f.iat, {})
        assert.equal(again.status, 401)
        assert.equal(again.body.error, 'invalid_token')
      })

      test('the audit chain still verifies', async () => {
        const res = await admin(f.server, 'GET', '/audit/verify')
        assert.equal(res.status, 200, res.text)
        assert.equal(res.body.ok, true, res.text)
      })
    })
  })
}
