import { admin, createRole, initialAccessToken } from '../../../server/test/support/client.js'
import { startTestServer, type TestServer } from '../../../server/test/support/server.js'
import { Mandate, silentLogger, type FetchLike, type Logger, type MandateOptions, type RegisteredAgent, type RetryPolicy } from '../../src/index.js'

export { admin, createRole, initialAccessToken, startTestServer, type TestServer }

/** A Mandate client for the test server; quiet unless a test passes its own logger. */
export function mandateFor(server: TestServer, options: Partial<MandateOptions> = {}): Mandate {
  return new Mandate({ issuer: server.issuer, logger: silentLogger, ...options })
}

/** A role with these settings and one agent registered under it through the SDK. */
export async function registeredAgent(server: TestServer, role: Record<string, unknown> = {}, options: { fetch?: FetchLike; logger?: Logger; retry?: Partial<RetryPolicy>; scope?: string } = {}): Promise<{ agent: RegisteredAgent; role: string; mandate: Mandate }> {
  const name = await createRole(server, role)
  const { scope: _scope, ...mandateOptions } = options
  const mandate = mandateFor(server, mandateOptions)
  const agent = await mandate.registerAgent({ initialAccessToken: await initialAccessToken(server, name), name: `agent of ${name}`, scope: options.scope })
  return { agent, role: name, mandate }
}

/** Credentials of a resource server: an agent whose role may introspect and read the revocation feed. */
export async function resourceServerCredentials(server: TestServer): Promise<{ clientId: string; clientSecret: string }> {
  const { agent } = await registeredAgent(server, { scopes: ['introspect'], can_introspect: true })
  return { clientId: agent.registration.clientId, clientSecret: agent.registration.clientSecret }
}

/** POST /admin/agents/:id/suspend */
export async function suspend(server: TestServer, agentId: string): Promise<void> {
  const res = await admin(server, 'POST', `/agents/${encodeURIComponent(agentId)}/suspend`, { reason: 'sdk test' })
  if (res.status !== 200) throw new Error(`suspend failed: ${res.status} ${res.text}`)
}
