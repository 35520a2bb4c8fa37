import type { TestServer } from './server.js'

/** Small wire-level helpers; tests assert on status, headers and bodies, not internals. */
export interface Reply<T = Record<string, unknown>> {
  status: number
  headers: Headers
  body: T
  text: string
}

export async function call<T = Record<string, unknown>>(server: TestServer, method: string, path: string, init: { headers?: Record<string, string>; body?: string | Uint8Array } = {}): Promise<Reply<T>> {
  const res = await fetch(server.url + path, { method, headers: init.headers, body: init.body })
  const text = await res.text()
  let body: unknown = undefined
  try {
    body = text === '' ? undefined : JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: res.status, headers: res.headers, body: body as T, text }
}

export function admin(server: TestServer, method: string, path: string, json?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${server.adminToken}` }
  if (json !== undefined) headers['content-type'] = 'application/json'
  return call(server, method, `/admin${path}`, { headers, body: json === undefined ? undefined : JSON.stringify(json) })
}

export function form(params: Record<string, string | string[]>): string {
  const sp = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) sp.append(k, one)
  return sp.toString()
}

export function basic(id: string, secret: string): string {
  return 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')
}

export interface RegisteredAgent {
  clientId: string
  clientSecret: string
  registrationAccessToken: string
  registrationClientUri: string
  body: Record<string, unknown>
}

let roleCounter = 0

/** Creates a role (unique name unless given) and returns its name. */
export async function createRole(server: TestServer, settings: Record<string, unknown> = {}): Promise<string> {
  const name = (settings.name as string | undefined) ?? `role-${process.pid}-${++roleCounter}`
  const res = await admin(server, 'POST', '/roles', { scopes: ['read', 'write'], ...settings, name })
  if (res.status !== 201) throw new Error(`creating role failed: ${res.status} ${res.text}`)
  return name
}

export async function initialAccessToken(server: TestServer, role: string, opts: { uses?: number; expires_in?: number } = {}): Promise<string> {
  const res = await admin(server, 'POST', `/roles/${role}/initial-access-tokens`, opts)
  if (res.status !== 201) throw new Error(`creating initial access token failed: ${res.status} ${res.text}`)
  return res.body.token as string
}

export async function register(server: TestServer, iat: string, metadata: Record<string, unknown> = {}): Promise<Reply> {
  return call(server, 'POST', '/register', {
    headers: { authorization: `Bearer ${iat}`, 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  })
}

/** A role, an initial access token and one registered agent. */
export async function registeredAgent(server: TestServer, opts: { role?: Record<string, unknown>; metadata?: Record<string, unknown> } = {}): Promise<RegisteredAgent & { role: string }> {
  const role = await createRole(server, opts.role)
  const iat = await initialAccessToken(server, role)
  const res = await register(server, iat, opts.metadata)
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${res.text}`)
  return {
    role,
    clientId: res.body.client_id as string,
    clientSecret: res.body.client_secret as string,
    registrationAccessToken: res.body.registration_access_token as string,
    registrationClientUri: res.body.registration_client_uri as string,
    body: res.body,
  }
}

export function tokenRequest(server: TestServer, agent: Pick<RegisteredAgent, 'clientId' | 'clientSecret'>, params: Record<string, string | string[]> = {}) {
  return call(server, 'POST', '/token', {
    headers: { authorization: basic(agent.clientId, agent.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: 'client_credentials', ...params }),
  })
}

export async function accessToken(server: TestServer, agent: Pick<RegisteredAgent, 'clientId' | 'clientSecret'>, params: Record<string, string | string[]> = {}): Promise<string> {
  const res = await tokenRequest(server, agent, params)
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.text}`)
  return res.body.access_token as string
}

export function introspect(server: TestServer, caller: Pick<RegisteredAgent, 'clientId' | 'clientSecret'>, token: string) {
  return call(server, 'POST', '/introspect', {
    headers: { authorization: basic(caller.clientId, caller.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ token }),
  })
}

/** RFC 7592 management of a registration, authenticated by its registration access token. */
export function manageRegistration(server: TestServer, clientId: string, token: string, method: 'GET' | 'PUT' | 'DELETE', json?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` }
  if (json !== undefined) headers['content-type'] = 'application/json'
  return call(server, method, `/register/${encodeURIComponent(clientId)}`, { headers, body: json === undefined ? undefined : JSON.stringify(json) })
}

export interface AuditEventJson {
  actor_type: string
  actor_id: string | null
  action: string
  outcome: string
  reason: string | null
  target: string | null
  role: string | null
  ip: string | null
  details: Record<string, unknown>
}

/** Audit events matching the admin API query (newest first). */
export async function auditEvents(server: TestServer, query: Record<string, string>): Promise<AuditEventJson[]> {
  const res = await admin(server, 'GET', `/audit?${new URLSearchParams({ limit: '1000', ...query }).toString()}`)
  if (res.status !== 200) throw new Error(`audit query failed: ${res.status} ${res.text}`)
  return res.body.events as AuditEventJson[]
}
