// A batch agent: registers itself (or reuses its credentials), starts a task-bound session, works
// through the loans API with the session's short-lived tokens, reports progress, completes the
// session, and shows that its tokens are dead afterwards.
//
//   node --import tsx examples/batch-agent.ts        (reads examples/.env, written by setup.ts)
import { appendFileSync } from 'node:fs'
import { Mandate, MandateError, SessionEndedError, protectedResourceMetadataUrl, type Agent, type Session } from '@mandate/sdk'
import { ENV_FILE, issuer as issuerFromEnv, loadEnv, required } from './env.js'

loadEnv()
const issuer = issuerFromEnv()
const api = process.env.LOANS_API_URL || 'http://127.0.0.1:4000'
const paceMs = Number(process.env.BATCH_PACE_MS ?? 1500)
const started = Date.now()
const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19)

let cancelled = false
process.once('SIGINT', () => (cancelled = true))

const mandate = new Mandate({ issuer })

// 1. Who am I? Credentials kept from an earlier run, or register now under the operator's role.
async function identify(): Promise<Agent> {
  if (process.env.BATCH_CLIENT_ID && process.env.BATCH_CLIENT_SECRET) {
    const agent = mandate.agent({ clientId: process.env.BATCH_CLIENT_ID, clientSecret: process.env.BATCH_CLIENT_SECRET })
    log(`agent ${agent.clientId} (saved credentials: BATCH_CLIENT_ID and BATCH_CLIENT_SECRET)`)
    return agent
  }
  const agent = await mandate.registerAgent({ initialAccessToken: required('BATCH_INITIAL_ACCESS_TOKEN'), name: `loan batch (pid ${process.pid})` })
  const reg = agent.registration!
  // The secret is shown once: keep it, as a real agent would keep it in its secret store.
  appendFileSync(ENV_FILE, `BATCH_CLIENT_ID=${reg.clientId}\nBATCH_CLIENT_SECRET=${reg.clientSecret}\n`, { mode: 0o600 })
  log(`registered ${reg.clientId} under role ${reg.role} (scopes ${reg.scope}); credentials saved to ${ENV_FILE} for the next run`)
  return agent
}

// 2. What does the API want? Its RFC 9728 metadata names the resource identifier and who issues tokens for it.
async function apiMetadata(): Promise<{ resource: string; authorization_servers?: string[] }> {
  const res = await fetch(protectedResourceMetadataUrl(api)).catch((err: unknown) => {
    throw new Error(`cannot reach the loans API at ${api}: is examples/resource-server.ts running?`, { cause: err })
  })
  if (!res.ok) throw new Error(`${protectedResourceMetadataUrl(api)}: HTTP ${res.status}`)
  const meta = (await res.json()) as { resource: string; authorization_servers?: string[] }
  if (!meta.authorization_servers?.includes(issuer)) throw new Error(`${api} does not accept tokens from ${issuer}`)
  return meta
}

// 3. A session for this task: short-lived access tokens for the API, renewed through refresh-token rotation.
let session: Session
try {
  const agent = await identify()
  const meta = await apiMetadata()
  session = await agent.startSession({
    task: `loan-review-${new Date().toISOString().slice(0, 10)}`,
    label: 'loan-batch',
    duration: 'task-completion',
    heartbeatIntervalSeconds: 10, // the SDK heartbeats on its own; the progress reports below are extra
    scope: ['loans:read', 'loans:write'],
    resource: meta.resource,
  })
} catch (err) {
  log(`could not start: ${describe(err)}`)
  process.exit(1)
}
let renewals = 0
let calls = 0
session.on('renewed', ({ expiresAt }) => log(`access token renewed (#${++renewals}, refresh token rotated); valid until ${clock(expiresAt)}`))
// Problems no call of ours was waiting for (a background heartbeat failing). An end is reported where it is thrown.
session.on('error', (err) => {
  if (!(err instanceof SessionEndedError)) log(`session problem: ${describe(err)}`)
})
log(`session ${session.id} started for task ${session.task} (heartbeat every ${session.heartbeatIntervalSeconds} s)`)

/** One call to the API with the session's current token (a 401 gets one renewal and one retry). */
async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await session.fetch(`${api}${path}`, init)
  calls++
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: HTTP ${res.status} ${res.headers.get('www-authenticate') ?? (await res.text())}`)
  return (await res.json()) as T
}

// 4. The work, with a progress heartbeat every five loans.
try {
  const { loans } = await call<{ loans: string[] }>('/loans')
  for (const [i, id] of loans.entries()) {
    if (cancelled) break
    const loan = await call<{ amount: number; income: number }>(`/loans/${id}`)
    const decision = loan.amount <= loan.income / 2 ? 'approve' : 'refer'
    await call(`/loans/${id}/assessment`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision }) })
    const done = i + 1
    if (done % 5 === 0 || done === loans.length) {
      const beat = await session.heartbeat({ progress: done / loans.length, note: `${done}/${loans.length} loans assessed` })
      log(`${done}/${loans.length} loans assessed, ${calls} API calls; heartbeat #${beat.heartbeatCount} accepted`)
    }
    if (done < loans.length) await sleep(paceMs)
  }
} catch (err) {
  // Whatever went wrong, end the session: its tokens stop working at once.
  if (err instanceof SessionEndedError) {
    // The SDK learns of the end from a refused renewal or heartbeat; the server says how and why.
    const info = await session.info().catch(() => undefined)
    log(`the session ended under us: ${info ? `${info.state} (${info.endReason})` : err.state}`)
  } else log(`failed: ${describe(err)}`)
  await session.complete('failed').catch(() => undefined)
  process.exit(1)
}

// 5. Done: complete the session. Every token carrying its sid is now inactive.
const lastToken = await session.accessToken()
await session.complete(cancelled ? 'cancelled' : 'succeeded')
log(`session completed (${cancelled ? 'cancelled' : 'succeeded'}): ${calls} API calls, token renewed ${renewals} time(s)`)

try {
  await session.fetch(`${api}/loans`)
} catch (err) {
  if (err instanceof SessionEndedError) log(`session.fetch now throws SessionEndedError (state ${err.state})`)
}
// The API hears of the completion through its revocation stream, within a second or so.
for (let i = 0; i < 20; i++) {
  const res = await fetch(`${api}/loans`, { headers: { authorization: `Bearer ${lastToken}` } })
  await res.body?.cancel()
  if (res.status !== 200) {
    log(`the API refuses the session's last token: HTTP ${res.status} ${res.headers.get('www-authenticate')}`)
    process.exit(0)
  }
  await sleep(250)
}
log('the API still accepts the session token 5 s after completion: is it following the revocation stream?')
process.exit(1)

/** One line for an error: the server's RFC 6749 code for Mandate's refusals, the cause for network failures. */
function describe(err: unknown): string {
  if (err instanceof MandateError) {
    return `${err.error}${err.status ? ` (HTTP ${err.status})` : ''}${err.errorDescription ? `: ${err.errorDescription}` : ''}${err.retryAfterSeconds ? `; retry after ${err.retryAfterSeconds} s` : ''}`
  }
  if (err instanceof Error) {
    const code = (err.cause as { code?: string } | undefined)?.code
    return `${err.message}${code ? ` (${code})` : ''}`
  }
  return String(err)
}
