import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestServer, type TestServer } from '../support/server.js'
import { auditEvents, basic, call, form } from '../support/client.js'

/** A refused token request from a made-up client, sent with an X-Forwarded-For claim; returns the address the audit log recorded. */
async function recordedAddress(server: TestServer, forwardedFor: string): Promise<string | null> {
  const clientId = `agt_proxy-probe-${Math.random().toString(36).slice(2)}`
  const res = await call(server, 'POST', '/token', {
    headers: { authorization: basic(clientId, 'wrong'), 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor },
    body: form({ grant_type: 'client_credentials' }),
  })
  assert.equal(res.status, 401)
  const [event] = await auditEvents(server, { action: 'token.refused', target: clientId })
  assert.ok(event, 'the refusal was audited')
  return event.ip
}

describe('client addresses behind a proxy', () => {
  test('by default X-Forwarded-For is ignored: a client cannot choose the address it is audited under', async () => {
    const server = await startTestServer('sqlite')
    try {
      assert.equal(await recordedAddress(server, '203.0.113.9'), '127.0.0.1')
    } finally {
      await server.close()
    }
  })

  test('with the proxy trusted by address, the address it forwarded is audited', async () => {
    const server = await startTestServer('sqlite', { env: { MANDATE_TRUST_PROXY: '127.0.0.1' } })
    try {
      assert.equal(await recordedAddress(server, '203.0.113.9'), '203.0.113.9')
      // Only the hop the trusted proxy added counts; what the client claimed before it does not.
      assert.equal(await recordedAddress(server, '198.51.100.1, 203.0.113.9'), '203.0.113.9')
    } finally {
      await server.close()
    }
  })

  test('with a hop count of 1, the nearest forwarded address is audited', async () => {
    const server = await startTestServer('sqlite', { env: { MANDATE_TRUST_PROXY: '1' } })
    try {
      assert.equal(await recordedAddress(server, '198.51.100.1, 203.0.113.9'), '203.0.113.9')
    } finally {
      await server.close()
    }
  })
})
