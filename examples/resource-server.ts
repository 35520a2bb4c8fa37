// A loans API (node:http) that accepts Mandate access tokens. It verifies them locally (signature,
// issuer, audience, expiry), follows the revocation stream so a revoked token, an ended session or a
// suspended agent is refused within a second, and serves RFC 9728 protected-resource metadata.
//
//   node --import tsx examples/resource-server.ts        (reads examples/.env, written by setup.ts)
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createVerifier,
  protectedResourceMetadata,
  protectedResourceMetadataPath,
  protectedResourceMetadataUrl,
  withBearerAuth,
  type Authenticated,
} from '@mandate/sdk'
import { issuer as issuerFromEnv, loadEnv, required } from './env.js'

loadEnv()
const issuer = issuerFromEnv()
const port = Number(process.env.LOANS_API_PORT ?? 4000)

const server = createServer()
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
// The resource identifier: what agents ask tokens for (RFC 8707 `resource`) and what those tokens carry as `aud`.
const resource = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

const verifier = createVerifier({
  issuer,
  audience: resource,
  // This API's own agent credentials (role loans-api, "can_introspect": true): they open the revocation stream.
  credentials: { clientId: required('LOANS_API_CLIENT_ID'), clientSecret: required('LOANS_API_CLIENT_SECRET') },
  // Every route needs loans:read unless it says otherwise.
  requiredScopes: ['loans:read'],
  // If the stream has been down for over 30 s, answer 503 rather than trust tokens that may be revoked.
  maxStalenessSeconds: 30,
  whenStale: 'refuse',
  // Challenges point clients at the metadata below (RFC 9728 §5.1).
  resourceMetadata: protectedResourceMetadataUrl(resource),
})

const metadata = protectedResourceMetadata({
  resource,
  authorizationServers: [issuer],
  scopesSupported: ['loans:read', 'loans:write'],
  resourceName: 'Loans API (Mandate example)',
})

const loans = new Map(
  Array.from({ length: 20 }, (_, i) => {
    const id = `L-${1001 + i}`
    return [id, { id, applicant: `applicant ${i + 1}`, amount: 5_000 + ((i * 7_919) % 45_000), income: 30_000 + ((i * 3_571) % 70_000), assessment: null as null | { decision: string; by: string } }]
  }),
)

type Req = Authenticated<IncomingMessage>

const listLoans = withBearerAuth(verifier, (_req: Req, res: ServerResponse) => send(res, 200, { loans: [...loans.keys()] }))

const getLoan = withBearerAuth(verifier, (req: Req, res: ServerResponse) => {
  const loan = loans.get(loanId(req))
  if (!loan) return send(res, 404, { error: 'not_found' })
  send(res, 200, loan)
})

// Writing an assessment needs loans:write: a loans:read token gets 403 insufficient_scope.
const assess = withBearerAuth(
  verifier,
  async (req: Req, res: ServerResponse) => {
    const loan = loans.get(loanId(req))
    if (!loan) return send(res, 404, { error: 'not_found' })
    const decision = (await readJson(req))?.decision
    if (decision !== 'approve' && decision !== 'refer') return send(res, 400, { error: 'invalid_request', error_description: 'decision must be approve or refer' })
    // req.auth holds the verified claims: who (sub, the agent), under which role, in which session.
    loan.assessment = { decision, by: `${req.auth.sub} (${req.auth.role}, ${req.auth.sid ?? 'no session'})` }
    send(res, 201, loan)
  },
  { requiredScopes: ['loans:write'] },
)

server.on('request', (req: IncomingMessage, res: ServerResponse) => {
  // One log line per request: method, path, status, and who or why not.
  res.on('finish', () => {
    const who = (req as Partial<Req>).auth
    const why = /error_description="([^"]*)"/.exec(String(res.getHeader('www-authenticate') ?? ''))?.[1]
    console.log(`${req.method} ${req.url} ${res.statusCode}${who ? ` ${who.sub} ${who.sid ?? ''}` : ''}${why ? ` (${why})` : ''}`)
  })
  const path = new URL(req.url ?? '/', resource).pathname
  let handled: unknown
  if (req.method === 'GET' && path === protectedResourceMetadataPath(resource)) handled = send(res, 200, metadata)
  else if (req.method === 'GET' && path === '/health') handled = send(res, 200, verifier.revocationStatus())
  else if (req.method === 'GET' && path === '/loans') handled = listLoans(req, res)
  else if (req.method === 'GET' && /^\/loans\/[^/]+$/.test(path)) handled = getLoan(req, res)
  else if (req.method === 'POST' && /^\/loans\/[^/]+\/assessment$/.test(path)) handled = assess(req, res)
  else handled = send(res, 404, { error: 'not_found' })
  Promise.resolve(handled).catch((err: unknown) => {
    console.error('handler failed:', err)
    if (!res.headersSent) send(res, 500, { error: 'server_error' })
  })
})

// Until the revocation stream has delivered its backlog, the verifier answers 503: wait for it.
try {
  await verifier.ready(10)
} catch (err) {
  // The SDK's warnings above say why (server unreachable, credentials refused, role without can_introspect).
  console.error(`the revocation stream has not synced (${err instanceof Error ? err.message : String(err)}); is Mandate running at ${issuer}?`)
  process.exit(1)
}
console.log(`Loans API ready: ${resource} (tokens from ${issuer}; metadata at ${protectedResourceMetadataUrl(resource)})`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    verifier.close()
    server.closeAllConnections()
    server.close(() => process.exit(0))
  })
}

function loanId(req: IncomingMessage): string {
  return new URL(req.url ?? '/', resource).pathname.split('/')[2] ?? ''
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(body))
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
  } catch {
    return undefined
  }
}
