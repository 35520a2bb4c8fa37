import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { decodeJwt } from 'jose'
import { Mandate, MandateError, metadataUrl, type Agent, type Registration } from '../src/index.js'
import { call } from '../../server/test/support/client.js'
import { createRole, initialAccessToken, mandateFor, registeredAgent, startTestServer, type TestServer } from './support/mandate-server.js'
import { countingFetch } from './support/fetches.js'
import { rejection } from './support/waiting.js'

describe('agent side against a real server', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer('sqlite')
  })
  after(() => server.close())

  test('discovery reads the RFC 8414 document, including the Mandate extension members', async () => {
    const md = await mandateFor(server).metadata()
    assert.equal(md.issuer, server.issuer)
    assert.equal(md.token_endpoint, `${server.issuer}/token`)
    assert.equal(md.mandate_sessions_endpoint, `${server.issuer}/sessions`)
    assert.equal(md.mandate_revocations_stream_endpoint, `${server.issuer}/revocations/stream`)
    assert.equal(metadataUrl('https://as.example/tenant/'), 'https://as.example/.well-known/oauth-authorization-server/tenant')
  })

  test('metadata naming another issuer is refused (RFC 8414 §3.3), and nothing is sent to its endpoints', async () => {
    const counter = countingFetch()
    // Same server, other spelling: the document says 127.0.0.1, we were told localhost.
    const issuer = server.issuer.replace('127.0.0.1', 'localhost')
    const m = new Mandate({ issuer, fetch: counter.fetch })
    const err = await rejection(m.registerAgent({ initialAccessToken: 'x' }), MandateError)
    assert.equal(err.error, 'invalid_issuer')
    assert.equal(counter.requests.length, 1)
  })

  test('an agent registers itself with an initial access token and gets client_credentials tokens', async () => {
    const role = await createRole(server, { scopes: ['loans:read', 'loans:write'] })
    const mandate = mandateFor(server)
    const agent = await mandate.registerAgent({ initialAccessToken: await initialAccessToken(server, role), name: 'sdk agent', scope: ['loans:read'] })
    assert.match(agent.clientId, /^agt_/)
    // Typed as always there after registration: no `!` or `?.` needed (npm run typecheck checks this).
    const registration: Registration = agent.registration
    assert.equal(registration.role, role)
    assert.equal(registration.scope, 'loans:read')
    assert.equal(registration.clientId, agent.clientId)
    const token = await agent.clientCredentialsToken({ resource: 'https://loans.example.com' })
    assert.equal(token.tokenType, 'Bearer')
    assert.equal(token.scope, 'loans:read')
    assert.ok(token.expiresAt > Date.now())
    const claims = decodeJwt(token.accessToken)
    assert.equal(claims.sub, agent.clientId)
    assert.equal(claims.aud, 'https://loans.example.com')

    // The same agent, rebuilt from stored credentials: a plain Agent, whose registration stays optional.
    const again = mandate.agent({ clientId: agent.clientId, clientSecret: registration.clientSecret })
    assert.equal(decodeJwt((await again.clientCredentialsToken()).accessToken).sub, agent.clientId)
    assert.equal(again.registration, undefined)
    // @ts-expect-error: mandate.agent() knows no registration, so the type says it may be undefined.
    const notKnown: Registration = again.registration
    assert.equal(notKnown, undefined)
    // A registered agent is still an Agent, wherever one is expected.
    const asAgent: Agent = agent
    assert.equal(asAgent.registration, registration)
  })

  test('client_secret_post agents authenticate in the body', async () => {
    const role = await createRole(server)
    const agent = await mandateFor(server).registerAgent({ initialAccessToken: await initialAccessToken(server, role), authMethod: 'client_secret_post' })
    assert.equal(agent.registration.authMethod, 'client_secret_post')
    assert.ok((await agent.clientCredentialsToken()).accessToken)
  })

  test('server refusals surface as typed errors with the RFC 6749 §5.2 code, and never echo secrets', async () => {
    const mandate = mandateFor(server)
    const badIat = await rejection(mandate.registerAgent({ initialAccessToken: 'not-a-token' }), MandateError)
    assert.equal(badIat.status, 401)
    assert.equal(badIat.error, 'invalid_token')

    const { agent } = await registeredAgent(server, { scopes: ['read'] })
    const scope = await rejection(agent.clientCredentialsToken({ scope: 'admin' }), MandateError)
    assert.equal(scope.error, 'invalid_scope')
    assert.equal(scope.status, 400)

    const secret = 'wrong-secret-that-must-not-leak'
    const wrong = mandate.agent({ clientId: agent.clientId, clientSecret: secret })
    const auth = await rejection(wrong.clientCredentialsToken(), MandateError)
    assert.equal(auth.error, 'invalid_client')
    assert.equal(auth.status, 401)
    assert.ok(!auth.message.includes(secret) && !JSON.stringify(auth).includes(secret))
  })

  test('revokeToken revokes at the server (RFC 7009): the token introspects inactive', async () => {
    const { agent } = await registeredAgent(server)
    const { accessToken } = await agent.clientCredentialsToken()
    await agent.revokeToken(accessToken)
    const secret = agent.registration.clientSecret
    const res = await call(server, 'POST', '/introspect', {
      headers: { authorization: `Basic ${btoa(`${agent.clientId}:${secret}`)}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: accessToken }).toString(),
    })
    assert.equal(res.body.active, false)
  })
})
