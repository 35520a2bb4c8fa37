import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { httpProber } from '../../../src/adapters/health-check/http-prober.js'

describe('health-check prober', () => {
  let target: Server
  let base: string
  before(async () => {
    target = createServer((req, res) => {
      if (req.url === '/ok') return res.writeHead(200).end('ok')
      if (req.url === '/down') return res.writeHead(503).end()
      if (req.url === '/moved') return res.writeHead(302, { location: '/ok' }).end()
      if (req.url === '/slow') return setTimeout(() => res.writeHead(200).end(), 2000)
      res.writeHead(404).end()
    })
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(target.address() as AddressInfo).port}`
  })
  after(() => new Promise<void>((r) => target.close(() => r())))

  const prober = httpProber({ timeoutMs: 500 })
  test('2xx is alive; anything else is not, and a redirect is not followed', async () => {
    assert.equal((await prober.probe(`${base}/ok`, { allowPrivate: true })).alive, true)
    assert.equal((await prober.probe(`${base}/down`, { allowPrivate: true })).alive, false)
    const moved = await prober.probe(`${base}/moved`, { allowPrivate: true })
    assert.equal(moved.alive, false)
    assert.equal(moved.detail, 'HTTP 302')
  })
  test('a slow target times out as not alive', async () => {
    const t0 = Date.now()
    assert.equal((await prober.probe(`${base}/slow`, { allowPrivate: true })).alive, false)
    assert.ok(Date.now() - t0 < 1500)
  })
  test('a loopback target is never connected to unless private addresses are allowed, by IP or by name', async () => {
    let hits = 0
    const counting = createServer((_req, res) => {
      hits++
      res.writeHead(200).end()
    })
    await new Promise<void>((r) => counting.listen(0, '127.0.0.1', r))
    const port = (counting.address() as AddressInfo).port
    try {
      assert.equal((await prober.probe(`http://127.0.0.1:${port}/`, { allowPrivate: false })).alive, false)
      const byName = await prober.probe(`http://localhost:${port}/`, { allowPrivate: false })
      assert.equal(byName.alive, false)
      assert.match(byName.detail, /private|loopback/)
      assert.equal(hits, 0)
    } finally {
      await new Promise<void>((r) => counting.close(() => r()))
    }
  })
  test('an unreachable target is not alive', async () => {
    assert.equal((await prober.probe('http://127.0.0.1:1/', { allowPrivate: true })).alive, false)
  })
})
