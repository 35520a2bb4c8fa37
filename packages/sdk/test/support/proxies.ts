import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createConnection, createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * A TCP proxy to a real server that a test can cut: `cut()` drops every open connection, and
 * while `down` new connections are closed at once (as if the network were gone).
 */
export async function tcpProxy(targetUrl: string) {
  const target = new URL(targetUrl)
  const sockets = new Set<Socket>()
  const state = { down: false }
  const server = createServer((client) => {
    if (state.down) return client.destroy()
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) })
    sockets.add(client).add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    /** Drops every connection; with `stayDown`, refuses new ones until `restore()`. */
    cut(stayDown = false) {
      state.down = stayDown
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    restore() {
      state.down = false
    },
    async close() {
      this.cut()
      await new Promise<void>((r) => server.close(() => r()))
    },
  }
}

export type Fault = 'pass' | 'reset' | { status: number; headers?: Record<string, string>; body?: string }

/**
 * An HTTP proxy to a real server that answers some requests itself: `plan(n, req)` says, for the
 * n-th request (from 1), whether to pass it on, answer with a status, or reset the connection
 * after reading the request. Every arrival is recorded with its time.
 */
export async function faultyProxy(targetUrl: string, plan: (n: number, req: IncomingMessage) => Fault) {
  const arrivals: { n: number; method: string; path: string; at: number }[] = []
  const server = createHttpServer(async (req: IncomingMessage, res: ServerResponse) => {
    const n = arrivals.length + 1
    arrivals.push({ n, method: req.method ?? 'GET', path: req.url ?? '/', at: performance.now() })
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const fault = plan(n, req)
    if (fault === 'reset') return req.socket.destroy()
    if (fault !== 'pass') {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers })
      return res.end(fault.body ?? JSON.stringify({ error: fault.status === 429 ? 'slow_down' : 'server_error', error_description: 'injected by the test' }))
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'host' && e[0] !== 'content-length'))
    const upstream = await fetch(targetUrl + (req.url ?? '/'), { method: req.method, headers, body: chunks.length > 0 ? Buffer.concat(chunks) : undefined })
    const out: Record<string, string> = {}
    upstream.headers.forEach((v, k) => {
      if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection' && k !== 'content-encoding') out[k] = v
    })
    res.writeHead(upstream.status, out)
    res.end(Buffer.from(await upstream.arrayBuffer()))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
