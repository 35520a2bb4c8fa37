import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import Fastify from 'fastify'
import {
  createVerifier,
  expressBearerAuth,
  fastifyBearerAuth,
  protectedResourceMetadata,
  protectedResourceMetadataPath,
  protectedResourceMetadataUrl,
  silentLogger,
  type AccessTokenClaims,
  type Verifier,
} from '../src/index.js'
import { registeredAgent, startTestServer, type TestServer } from './support/mandate-server.js'
import { startResourceServer } from './support/resource-server.js'

const RS = 'https://loans.example.com'

describe('middleware in front of real HTTP servers', () => {
  let server: TestServer
  let verifier: Verifier
  let token: string
  const closers: (() => Promise<void>)[] = []
  before(async () => {
    server = await startTestServer('sqlite')
    const { agent } = await registeredAgent(server, { scopes: ['loans:read'] })
    token = (await agent.clientCredentialsToken({ resource: RS })).accessToken
    verifier = createVerifier({ issuer: server.issuer, audience: RS, resourceMetadata: protectedResourceMetadataUrl(RS), logger: silentLogger })
  })
  after(async () => {
    for (const c of closers) await c()
    verifier.close()
    await server.close()
  })

  /** What every framework must answer for the same four requests. */
  async function assertBehaviour(url: string) {
    const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(ok.status, 200)
    assert.match(((await ok.json()) as { sub: string }).sub, /^agt_/)

    const none = await fetch(url)
    assert.equal(none.status, 401)
    assert.equal(none.headers.get('www-authenticate'), `Bearer realm="${RS}", resource_metadata="https://loans.example.com/.well-known/oauth-protected-resource"`)
    assert.equal(((await none.json()) as { error: string }).error, 'invalid_request')

    const bad = await fetch(url, { headers: { authorization: 'Bearer abc.def.ghi' } })
    assert.equal(bad.status, 401)
    assert.match(bad.headers.get('www-authenticate') ?? '', /^Bearer realm=".*", error="invalid_token", error_description="[^"]+", resource_metadata=/)
    assert.deepEqual(Object.keys((await bad.json()) as object), ['error', 'error_description'])
    assert.match(bad.headers.get('content-type') ?? '', /^application\/json/)

    const scoped = await fetch(`${url}/admin`, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(scoped.status, 403)
    assert.match(scoped.headers.get('www-authenticate') ?? '', /error="insufficient_scope".*scope="loans:admin"/)
  }

  test('Node http: withBearerAuth', async () => {
    const rs = await startResourceServer(verifier, { '/admin': ['loans:admin'] })
    closers.push(rs.close)
    await assertBehaviour(rs.url)
  })

  test('Express-style (req, res, next) middleware', async () => {
    const all = expressBearerAuth(verifier)
    const adminOnly = expressBearerAuth(verifier, { requiredScopes: ['loans:admin'] })
    // The (req, res, next) contract Express and Connect use, on a bare Node server.
    const app = createServer((req: IncomingMessage & { auth?: AccessTokenClaims }, res: ServerResponse) => {
      const mw = req.url === '/admin' ? adminOnly : all
      mw(req, res, (err) => {
        if (err) throw err
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ sub: req.auth?.sub }))
      })
    })
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r))
    closers.push(() => new Promise((r) => app.close(() => r())))
    await assertBehaviour(`http://127.0.0.1:${(app.address() as AddressInfo).port}`)
  })

  test('Fastify: an onRequest hook, and the RFC 9728 metadata route', async () => {
    const app = Fastify()
    app.decorateRequest('auth', null)
    app.get(protectedResourceMetadataPath(RS), async () => protectedResourceMetadata({ resource: RS, authorizationServers: [server.issuer], scopesSupported: ['loans:read', 'loans:admin'] }))
    await app.register(async (scoped) => {
      scoped.addHook('onRequest', fastifyBearerAuth(verifier))
      scoped.get('/', async (request) => ({ sub: (request as typeof request & { auth: AccessTokenClaims }).auth.sub }))
    })
    await app.register(async (scoped) => {
      scoped.addHook('preHandler', fastifyBearerAuth(verifier, { requiredScopes: ['loans:admin'] }))
      scoped.get('/admin', async () => ({ ok: true }))
    })
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => app.close())
    await assertBehaviour(url)
    const md = await fetch(`${url}/.well-known/oauth-protected-resource`)
    assert.deepEqual(await md.json(), {
      resource: RS,
      authorization_servers: [server.issuer],
      scopes_supported: ['loans:read', 'loans:admin'],
      bearer_methods_supported: ['header'],
    })
  })
})

describe('RFC 9728 protected-resource metadata helpers', () => {
  test('the well-known segment goes between host and path, without a terminating slash (§3.1)', () => {
    assert.equal(protectedResourceMetadataPath('https://api.example'), '/.well-known/oauth-protected-resource')
    assert.equal(protectedResourceMetadataPath('https://api.example/'), '/.well-known/oauth-protected-resource')
    assert.equal(protectedResourceMetadataPath('https://api.example/loans/'), '/.well-known/oauth-protected-resource/loans')
    assert.equal(protectedResourceMetadataUrl('https://api.example/loans'), 'https://api.example/.well-known/oauth-protected-resource/loans')
  })

  test('a resource with a fragment is refused; optional members appear only when given', () => {
    assert.throws(() => protectedResourceMetadata({ resource: 'https://api.example/#x' }), /fragment/)
    assert.deepEqual(protectedResourceMetadata({ resource: 'https://api.example', resourceName: 'Loans', resourceSigningAlgValuesSupported: ['ES256'] }), {
      resource: 'https://api.example',
      bearer_methods_supported: ['header'],
      resource_name: 'Loans',
      resource_signing_alg_values_supported: ['ES256'],
    })
  })
})
