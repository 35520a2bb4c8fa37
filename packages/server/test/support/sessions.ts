import type { TestServer } from './server.js'
import { basic, call, form, type RegisteredAgent, type Reply } from './client.js'

type Caller = Pick<RegisteredAgent, 'clientId' | 'clientSecret'>

/** Wire helpers for the session endpoints, authenticated with HTTP Basic as agents do. */
export function sessionCall(server: TestServer, caller: Caller | undefined, method: string, path: string, json?: unknown): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (caller) headers.authorization = basic(caller.clientId, caller.clientSecret)
  if (json !== undefined) headers['content-type'] = 'application/json'
  return call(server, method, path, { headers, body: json === undefined ? undefined : JSON.stringify(json) })
}

export function startSession(server: TestServer, agent: Caller, body: Record<string, unknown>): Promise<Reply> {
  return sessionCall(server, agent, 'POST', '/sessions', body)
}

/** Starts a session and fails the test unless it was created. */
export async function startedSession(server: TestServer, agent: Caller, body: Record<string, unknown> = {}) {
  const res = await startSession(server, agent, { task: 'nightly-batch', duration: 'task-completion', ...body })
  if (res.status !== 201) throw new Error(`starting a session failed: ${res.status} ${res.text}`)
  return res.body as { session_id: string; access_token: string; refresh_token: string; expires_in: number; max_expires_at: number } & Record<string, unknown>
}

export function heartbeat(server: TestServer, agent: Caller, id: string, body?: Record<string, unknown>): Promise<Reply> {
  return sessionCall(server, agent, 'POST', `/sessions/${encodeURIComponent(id)}/heartbeat`, body)
}

export function complete(server: TestServer, agent: Caller, id: string, outcome: unknown = 'succeeded'): Promise<Reply> {
  return sessionCall(server, agent, 'POST', `/sessions/${encodeURIComponent(id)}/complete`, { outcome })
}

export function getSession(server: TestServer, agent: Caller, id: string): Promise<Reply> {
  return sessionCall(server, agent, 'GET', `/sessions/${encodeURIComponent(id)}`)
}

/** RFC 6749 §6 renewal at the token endpoint. */
export function refresh(server: TestServer, agent: Caller, refreshToken: string, extra: Record<string, string | string[]> = {}): Promise<Reply> {
  return call(server, 'POST', '/token', {
    headers: { authorization: basic(agent.clientId, agent.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }),
  })
}
