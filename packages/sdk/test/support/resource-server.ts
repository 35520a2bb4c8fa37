import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { withBearerAuth, type Verifier } from '../../src/index.js'

/**
 * A real resource server: Node http with the SDK's middleware in front of one JSON handler.
 * It counts what it answered, so a test can say "zero refusals".
 */
export async function startResourceServer(verifier: Verifier, scopedPaths: Record<string, string[]> = {}) {
  const statuses: number[] = []
  const handlerFor = (requiredScopes?: string[]) =>
    withBearerAuth(
      verifier,
      (req, res) => {
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ sub: req.auth.sub, sid: req.auth.sid ?? null, scopes: req.auth.scopes }))
      },
      requiredScopes ? { requiredScopes } : undefined,
    )
  const open = handlerFor()
  // Paths that need scopes beyond a valid token, e.g. { '/admin': ['loans:admin'] }.
  const scoped = new Map(Object.entries(scopedPaths).map(([path, scopes]) => [path, handlerFor(scopes)]))
  const server = createServer((req, res) => {
    res.on('finish', () => statuses.push(res.statusCode))
    const handler = scoped.get(req.url ?? '/') ?? open
    handler(req, res).catch(() => {
      res.statusCode = 500
      res.end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    statuses,
    refusals: () => statuses.filter((s) => s !== 200).length,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
