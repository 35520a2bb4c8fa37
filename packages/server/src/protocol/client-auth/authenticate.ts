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
   */
  authenticate(authorization: string | undefined, params: ReadonlyMap<string, string>, options?: { anyMethod?: boolean }): Promise<AuthenticatedClient>
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
