import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { accessToken, call, form, registeredAgent, type Reply } from '../support/client.js'

const FORM = 'application/x-www-form-urlencoded'

function userinfo(server: TestServer, method: 'GET' | 'POST', init: { authorization?: string; body?: string; query?: string; contentType?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (init.authorization !== undefined) headers.authorization = init.authorization
  if (init.body !== undefined) headers['content-type'] = init.contentType ?? FORM
  return call(server, method, `/userinfo${init.query ?? ''}`, { headers, body: init.body })
}

/** RFC 6750 §3: the status, the error code in the body and in the Bearer challenge, never cached. */
function assertBearerError(res: Reply, status: number, error: string) {
  assert.equal(res.status, status, res.text)
  assert.equal(res.body.error, error, res.text)
  assert.equal(typeof res.body.error_description, 'string')
  assert.equal(res.headers.get('cache-control'), 'no-store')
  const challenge = res.headers.get('www-authenticate') ?? ''
  assert.match(challenge, /^Bearer realm="mandate"/, `challenge: ${challenge}`)
  assert.ok(challenge.includes(`error="${error}"`), `challenge names ${error}: ${challenge}`)
}

/** §3.1: a request with no credential gets a bare challenge, without an error code. */
function assertBareChallenge(res: Reply) {
  assert.equal(res.status, 401, res.text)
  assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="mandate"')
  assert.equal(res.headers.get('cache-control'), 'no-store')
}

/** Through node:http: fetch will not send a header over the server's 16 KB limit the way a client might. */
function rawGet(server: TestServer, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(server.url)
  return new Promise((resolve, reject) => {
    const r = http.request({ host: url.hostname, port: url.port, method: 'GET', path: '/userinfo', headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }))
    })
    r.on('error', reject)
    r.end()
  })
}

for (const engine of await availableEngines()) {
  describe(`GET|POST /userinfo refusals on ${engine}`, () => {
    let server: TestServer
    let agentToken: string
    before(async () => {
      server = await startTestServer(engine)
      // An agent's own token (client_credentials), even one whose role calls a scope "openid".
      const agent = await registeredAgent(server, { role: { scopes: ['openid', 'read'] } })
      agentToken = await accessToken(server, agent, { scope: 'openid read' })
    })
    after(() => server.close())

    test('no credential: 401 with a bare Bearer challenge, on GET and on POST', async () => {
      assertBareChallenge(await userinfo(server, 'GET'))
      assertBareChallenge(await userinfo(server, 'POST'))
      assertBareChallenge(await userinfo(server, 'POST', { body: form({ other: 'x' }) }))
    })

    test('another scheme (Basic) is no bearer credential: 401 with a bare challenge', async () => {
      assertBareChallenge(await userinfo(server, 'GET', { authorization: 'Basic YTpi' }))
    })

    test('a malformed Bearer header is invalid_request (400)', async () => {
      for (const authorization of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer a,b', 'Bearer ä', 'Bearer =abc']) {
        assertBearerError(await userinfo(server, 'GET', { authorization }), 400, 'invalid_request')
      }
    })

    test('a token this server did not sign, or too long to be one, is invalid_token (401)', async () => {
      assertBearerError(await userinfo(server, 'GET', { authorization: 'Bearer abc.def.ghi' }), 401, 'invalid_token')
      assertBearerError(await userinfo(server, 'GET', { authorization: 'Bearer opaque' }), 401, 'invalid_token')
      assertBearerError(await userinfo(server, 'GET', { authorization: `Bearer ${'a'.repeat(9000)}` }), 401, 'invalid_token')
      // A valid token with one character changed in its signature.
      const tampered = agentToken.slice(0, -2) + (agentToken.endsWith('AA') ? 'BB' : 'AA')
      assertBearerError(await userinfo(server, 'GET', { authorization: `Bearer ${tampered}` }), 401, 'invalid_token')
    })

    test('a header over the server limit (20 KB) gets 431 with a JSON error', async () => {
      const res = await rawGet(server, { authorization: `Bearer ${'a'.repeat(20_000)}` })
      assert.equal(res.status, 431)
      assert.equal(res.body.error, 'invalid_request')
    })

    test("an agent's own token is insufficient_scope (403): it names no person, whatever its role calls its scopes", async () => {
      assertBearerError(await userinfo(server, 'GET', { authorization: `Bearer ${agentToken}` }), 403, 'insufficient_scope')
      // The form body (RFC 6750 §2.2) is read on POST: the same token there gets the same answer.
      assertBearerError(await userinfo(server, 'POST', { body: form({ access_token: agentToken }) }), 403, 'insufficient_scope')
    })

    test('the token in the query is refused (invalid_request), with or without a header', async () => {
      assertBearerError(await userinfo(server, 'GET', { query: `?access_token=${agentToken}` }), 400, 'invalid_request')
      assertBearerError(await userinfo(server, 'GET', { query: `?access_token=${agentToken}`, authorization: `Bearer ${agentToken}` }), 400, 'invalid_request')
      assertBearerError(await userinfo(server, 'GET', { query: '?%ZZ' }), 400, 'invalid_request')
    })

    test('POST with the token in the header and the body is invalid_request, even when both are the same', async () => {
      const res = await userinfo(server, 'POST', { authorization: `Bearer ${agentToken}`, body: form({ access_token: agentToken }) })
      assertBearerError(res, 400, 'invalid_request')
    })

    test('POST with access_token twice in the body, or a malformed form, is invalid_request', async () => {
      const twice = await userinfo(server, 'POST', { body: form({ access_token: [agentToken, agentToken] }) })
      assert.equal(twice.status, 400, twice.text)
      assert.equal(twice.body.error, 'invalid_request')
      const malformed = await userinfo(server, 'POST', { body: 'access_token=%ZZ' })
      assert.equal(malformed.status, 400, malformed.text)
      assert.equal(malformed.body.error, 'invalid_request')
    })

    test('a token in a JSON body is not a token (§2.2 is form bodies only): bare challenge', async () => {
      assertBareChallenge(await userinfo(server, 'POST', { body: JSON.stringify({ access_token: agentToken }), contentType: 'application/json' }))
    })

    test('two Authorization headers are refused', async () => {
      const url = new URL(server.url)
      const status = await new Promise<number>((resolve, reject) => {
        const r = http.request({ host: url.hostname, port: url.port, method: 'GET', path: '/userinfo', agent: false, headers: ['authorization', `Bearer ${agentToken}`, 'authorization', 'Bearer x'] }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        r.on('error', reject)
        r.end()
      })
      assert.equal(status, 400)
    })

    test('other methods are 405 with Allow naming GET and POST', async () => {
      const res = await call(server, 'PUT', '/userinfo', { headers: { authorization: `Bearer ${agentToken}` } })
      assert.equal(res.status, 405)
      assert.match(res.headers.get('allow') ?? '', /GET.*POST/)
    })
  })
}
