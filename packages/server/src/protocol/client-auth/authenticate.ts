import { isAgentUsable, type AgentDirectory } from '../../domain/agents/agent-directory.js'
import type { Agent } from '../../ports/agent-repo.js'
import type { Clock } from '../../ports/clock.js'
import type { Role } from '../../ports/role-repo.js'
import { InvalidClient } from '../errors.js'
import { presentedCredentials, type PresentedMethod } from './credentials.js'

export interface AuthenticatedClient {
  agent: Agent
  role: Role
  method: PresentedMethod
}

export interface ClientAuthenticator {
  /**
   * `anyMethod`: accept either method whatever the agent registered. The registered
   * token_endpoint_auth_method governs the token endpoint (RFC 7591 §2); Mandate's own agent
   * endpoints (sessions) take both, so a client_secret_post agent can still make a GET.
   * `allowPublic`: a public client (registered with `none`) may name itself by client_id alone;
   * only where OAuth lets it act (the token and revocation endpoints, RFC 6749 §2.1).
   */
  authenticate(authorization: string | undefined, params: ReadonlyMap<string, string>, options?: { anyMethod?: boolean; allowPublic?: boolean }): Promise<AuthenticatedClient>
}

export interface SecretCheck {
  digest(secret: string): string
  equal(a: string, b: string): boolean
}

const MAX_CLIENT_ID = 128
// Compared against when the client is unknown, so the work done does not reveal which ids exist.
const NO_DIGEST = '-'.repeat(43)

/** Client authentication for the token, introspection and revocation endpoints (RFC 6749 §2.3). */
export function clientAuthenticator(directory: AgentDirectory, secrets: SecretCheck, clock: Clock): ClientAuthenticator {
  return {
    async authenticate(authorization, params, options = {}) {
      const presented = presentedCredentials(authorization, params)
      if (!presented) throw new InvalidClient('client authentication is required')
      if (presented.method === 'none') return authenticatePublic(directory, presented.clientId, clock, options.allowPublic === true)
      // The presented id, bounded, so refusals can be audited against the client that was tried.
      const tried = presented.clientId.slice(0, MAX_CLIENT_ID)
      const refuse = (description: string, detail?: string) => new InvalidClient(description, detail, tried, presented.method === 'client_secret_post')
      const agent = presented.clientId.length <= MAX_CLIENT_ID ? await directory.find(presented.clientId) : undefined
      const matches = secrets.equal(secrets.digest(presented.clientSecret), agent?.secretDigest ?? NO_DIGEST)
      if (!agent || !matches) throw refuse('client authentication failed', agent ? 'wrong secret' : 'unknown client')
      // Enforce the method the agent registered (RFC 7591 §2 token_endpoint_auth_method).
      if (!options.anyMethod && agent.authMethod !== presented.method) throw refuse(`this client must authenticate with ${agent.authMethod}`, `used ${presented.method}`)
      if (!isAgentUsable(agent, clock.now())) {
        const why = agent.status === 'active' ? 'the client secret has expired' : `the agent is ${agent.status}`
        throw refuse(why)
      }
      const role = await directory.role(agent.role)
      if (!role) throw refuse('the agent has no role', `role ${agent.role} is missing`)
      return { agent, role, method: presented.method }
    },
  }
}

/**
 * A request naming only a client_id: accepted for a public client where public clients may act,
 * and refused as before (client authentication is required, with a challenge) for anyone else.
 */
async function authenticatePublic(directory: AgentDirectory, clientId: string, clock: Clock, allowed: boolean): Promise<AuthenticatedClient> {
  const tried = clientId.slice(0, MAX_CLIENT_ID)
  const agent = allowed && clientId.length <= MAX_CLIENT_ID ? await directory.find(clientId) : undefined
  if (!agent || agent.authMethod !== 'none') throw new InvalidClient('client authentication is required', agent ? 'confidential client without credentials' : 'no credentials', tried)
  if (!isAgentUsable(agent, clock.now())) throw new InvalidClient(`the agent is ${agent.status}`, undefined, tried, true)
  const role = await directory.role(agent.role)
  if (!role) throw new InvalidClient('the agent has no role', `role ${agent.role} is missing`, tried, true)
  return { agent, role, method: 'none' }
}
