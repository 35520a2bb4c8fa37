import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { startTestServer } from '../support/server.js'

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

describe('shutdown', () => {
  test('a request that arrives while the server is closing gets 503 temporarily_unavailable as JSON, with Retry-After and Connection: close', async () => {
    const server = await startTestServer('sqlite')
    const { port } = new URL(server.url)
    const socket = connect(Number(port), '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    const response = readAll(socket)
    // Half a request before shutdown starts, the rest after: the connection is not idle, so it is not dropped.
    socket.write('GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    await sleep(50)
    const closing = server.close()
    await sleep(50)
    socket.write('Accept: application/json\r\n\r\n')
    const raw = await response
    await closing
    const [head, body] = raw.split('\r\n\r\n') as [string, string]
    assert.match(head, /^HTTP\/1\.1 503 /)
    assert.match(head, /\r\nretry-after: \d+/i)
    assert.match(head, /\r\nconnection: close/i)
    assert.match(head, /\r\ncontent-type: application\/json/i)
    const json = JSON.parse(body) as { error: string; error_description: string }
    assert.equal(json.error, 'temporarily_unavailable')
    assert.match(json.error_description, /shutting down/)
  })

  test('a connection that never sent a request does not hold shutdown for the grace period', async () => {
    const server = await startTestServer('sqlite')
    const { port } = new URL(server.url)
    const socket = connect(Number(port), '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    const closedByServer = new Promise((resolve) => socket.once('close', resolve))
    const started = Date.now()
    await server.close()
    await closedByServer
    // The grace period is 10 s; a silent connection is closed at once.
    assert.ok(Date.now() - started < 3000, `shutdown took ${Date.now() - started} ms`)
  })
})
