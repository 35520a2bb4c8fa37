// The operator's part: two roles, the resource server's credentials, and an initial access token
// for the batch agents. Writes what the other examples need to examples/.env and prints it.
//
//   MANDATE_ADMIN_TOKEN=… node --import tsx examples/setup.ts
import { chmodSync, writeFileSync } from 'node:fs'
import { Mandate } from '@mandate/sdk'
import { ENV_FILE, issuer as issuerFromEnv, required } from './env.js'

const issuer = issuerFromEnv()
const adminToken = required('MANDATE_ADMIN_TOKEN')
// Short-lived tokens, so that a run of a minute shows the session renewing them.
const tokenTtlSeconds = Number(process.env.BATCH_TOKEN_TTL_SECONDS || 20)

/** One call to the admin API (it is not part of the SDK: agents and resource servers never use it). */
async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${issuer}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>
  if (res.status === 401) throw new Error(`the admin API refused MANDATE_ADMIN_TOKEN (401): is it the token ${issuer} printed or was started with?`)
  return { status: res.status, json }
}

/** Creates the role, or brings an existing one (from an earlier run) to these settings. */
async function role(settings: { name: string } & Record<string, unknown>): Promise<void> {
  let res = await admin('POST', '/roles', settings)
  if (res.status === 409) res = await admin('PUT', `/roles/${settings.name}`, settings)
  if (res.status !== 200 && res.status !== 201) throw new Error(`role ${settings.name}: ${res.status} ${JSON.stringify(res.json)}`)
  console.error(`role ${settings.name}: scopes ${(settings.scopes as string[]).join(' ')}${settings.can_introspect ? ', can_introspect' : ''}`)
}

async function initialAccessToken(roleName: string, uses: number): Promise<string> {
  const res = await admin('POST', `/roles/${roleName}/initial-access-tokens`, { uses, expires_in: 86_400 })
  if (res.status !== 201) throw new Error(`initial access token for ${roleName}: ${res.status} ${JSON.stringify(res.json)}`)
  return res.json.token as string
}

try {
  // A resource server is an agent too: its role may introspect and follow the revocation feed.
  await role({ name: 'loans-api', scopes: ['introspect'], can_introspect: true })
  // What the batch agents may do, and how long their access tokens live.
  await role({ name: 'loan-batch', scopes: ['loans:read', 'loans:write'], token_ttl_seconds: tokenTtlSeconds, max_session_seconds: 86_400 })

  // Register the loans API's credentials now, with the SDK, so the operator hands out no initial access token for it.
  const api = await new Mandate({ issuer }).registerAgent({ initialAccessToken: await initialAccessToken('loans-api', 1), name: 'loans API (example)' })
  console.error(`resource server credentials: ${api.clientId} (role loans-api)`)

  // Batch agents register themselves with this (10 registrations, valid for a day).
  const batchIat = await initialAccessToken('loan-batch', 10)
  console.error('initial access token for role loan-batch: 10 uses, 24 h')

  const lines = [
    `MANDATE_ISSUER=${issuer}`,
    `LOANS_API_CLIENT_ID=${api.clientId}`,
    `LOANS_API_CLIENT_SECRET=${api.registration!.clientSecret}`,
    `BATCH_INITIAL_ACCESS_TOKEN=${batchIat}`,
  ]
  writeFileSync(ENV_FILE, `${lines.join('\n')}\n`, { mode: 0o600 })
  chmodSync(ENV_FILE, 0o600) // an existing file keeps its mode otherwise
  console.error(`wrote ${ENV_FILE} (the other examples read it; variables set in your shell take precedence):`)
  console.log(lines.join('\n'))
} catch (err) {
  console.error(`setup failed: ${err instanceof Error ? err.message : String(err)}`)
  if (err instanceof TypeError && String(err.cause).includes('ECONNREFUSED')) console.error(`is the server running at ${issuer}? (npm start, or set MANDATE_ISSUER)`)
  process.exit(1)
}
