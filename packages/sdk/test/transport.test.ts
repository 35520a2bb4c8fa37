import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { MandateError, MandateNetworkError } from '../src/index.js'
import { redirectingFetch } from './support/fetches.js'
import { mandateFor, registeredAgent, startTestServer, type TestServer } from './support/mandate-server.js'
import { faultyProxy, type Fault } from './support/proxies.js'
import { rejection } from './support/waiting.js'

describe('retries against a real server behind a faulty proxy', () => {
  let server: TestServer
  let creds: { clientId: string; clientSecret: string }
  const proxies: { close(): Promise<void> }[] = []
  before(async () => {
    server = await startTestServer('sqlite')
    const { agent } = await registeredAgent(server)
    creds = { clientId: agent.clientId, clientSecret: agent.registration.clientSecret }
  })
  after(async () => {
    for (const p of proxies) await p.close()
    await server.close()
  })

  /** An agent whose requests to the token endpoint meet `faults` first, in order; the rest pass. */
  async function agentBehind(faults: Fault[], retry?: { maxAttempts?: number; baseDelayMs?: number; maxRetryAfterMs?: number }) {
    let tokenRequests = 0
    const proxy = await faultyProxy(server.url, (_n, req) => (req.url === '/token' ? (faults[tokenRequests++] ?? 'pass') : 'pass'))
    proxies.push(proxy)
    const mandate = mandateFor(server, { fetch: redirectingFetch(server.url, proxy.url), retry: { baseDelayMs: 20, ...retry } })
    return { agent: mandate.agent(creds), tokenArrivals: () => proxy.arrivals.filter((a) => a.path === '/token') }
  }

  test('a 429 waits as long as Retry-After says, then succeeds', async () => {
    const { agent, tokenArrivals } = await agentBehind([{ status: 429, headers: { 'retry-after': '1' } }])
    assert.ok((await agent.clientCredentialsToken()).accessToken)
    const [first, second] = tokenArrivals()
    assert.equal(tokenArrivals().length, 2)
    assert.ok(second!.at - first!.at >= 950, `waited ${Math.round(second!.at - first!.at)} ms`)
  })

  test('a 429 asking for longer than we wait surfaces with its Retry-After', async () => {
    const { agent, tokenArrivals } = await agentBehind([{ status: 429, headers: { 'retry-after': '120' } }], { maxRetryAfterMs: 5_000 })
    const err = await rejection(agent.clientCredentialsToken(), MandateError)
    assert.equal(err.status, 429)
    assert.equal(err.retryAfterSeconds, 120)
    assert.equal(tokenArrivals().length, 1)
  })

  test('5xx answers and dropped connections are retried with backoff', async () => {
    const { agent, tokenArrivals } = await agentBehind([{ status: 503 }, { status: 502 }, 'reset'])
    assert.ok((await agent.clientCredentialsToken()).accessToken)
    assert.equal(tokenArrivals().length, 4)
  })

  test('retries are bounded: a server that keeps failing is a typed error', async () => {
    const { agent, tokenArrivals } = await agentBehind(['reset', 'reset', 'reset', 'reset', 'reset'], { maxAttempts: 3 })
    await rejection(agent.clientCredentialsToken(), MandateNetworkError)
    assert.equal(tokenArrivals().length, 3)
  })

  test('registration is not replayed after a failure the server may have acted on', async () => {
    let registrations = 0
    const proxy = await faultyProxy(server.url, (_n, req) => (req.url === '/register' && registrations++ === 0 ? { status: 500 } : 'pass'))
    proxies.push(proxy)
    const mandate = mandateFor(server, { fetch: redirectingFetch(server.url, proxy.url), retry: { baseDelayMs: 20 } })
    const err = await rejection(mandate.registerAgent({ initialAccessToken: 'mdi_whatever' }), MandateError)
    assert.equal(err.status, 500)
    assert.equal(registrations, 1)
  })
})
