import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { startTestServer, type TestServer } from '../support/server.js'
import { registeredAgent, tokenRequest } from '../support/client.js'

const TIMEOUT_SECONDS = 2

describe('slow clients', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer('sqlite', { env: { MANDATE_REQUEST_TIMEOUT_SECONDS: String(TIMEOUT_SECONDS) } })
  })
  after(() => server.close())

  test('a client that sends its headers and then drips its body gets 408 once --request-timeout has passed, and others are served meanwhile', async () => {
    const { port } = new URL(server.url)
    const started = Date.now()
    const socket = connect(Number(port), '127.0.0.1')
    const answer = new Promise<{ text: string; afterMs: number }>((resolve, reject) => {
      let text = ''
      socket.setEncoding('utf8')
      socket.on('data', (chunk: string) => (text += chunk))
      socket.on('close', () => resolve({ text, afterMs: Date.now() - started }))
      socket.on('error', reject)
    })
    socket.write('POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=')
    // 20 bytes over 4 s: never the 100 promised, but never idle either.
    let dripped = 0
    const drip = setInterval(() => dripped++ < 20 && socket.writable && socket.write('x'), 200)
    try {
      const agent = await registeredAgent(server)
      assert.equal((await tokenRequest(server, agent)).status, 200, 'the slow client holds nobody else up')
      const { text, afterMs } = await answer
      assert.match(text, /^HTTP\/1\.1 408 /)
      assert.equal((JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: string }).error, 'invalid_request')
      // The deadline is checked once a second.
      assert.ok(afterMs >= TIMEOUT_SECONDS * 1000 && afterMs < (TIMEOUT_SECONDS + 1.5) * 1000, `closed after ${afterMs} ms`)
    } finally {
      clearInterval(drip)
      socket.destroy()
    }
  })
})
