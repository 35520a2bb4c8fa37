import { isAgentUsable } from '../../domain/agents/agent-directory.js'
import type { Agent } from '../../ports/agent-repo.js'
import type { Role } from '../../ports/role-repo.js'
import { InvalidRequest, OAuthError } from '../errors.js'
import { matchRedirectUri } from '../redirect-uri.js'
import type { AuthorizeParams } from './read-params.js'

export interface AuthorizeClient {
  agent: Agent
  role: Role
  redirectUri: string
  /** Whether the request named the redirect URI (RFC 6749 §4.1.3 then requires it at /token). */
  redirectUriSent: boolean
}

export interface ClientLookup {
  find(id: string): Promise<Agent | undefined>
  role(name: string): Promise<Role | undefined>
}

/**
 * Step 1: the client and where to send the answer. RFC 6749 §4.1.2.1: if either is missing,
 * invalid or mismatched, the person is told on a page and never redirected, so an attacker
 * cannot use this server as an open redirector.
 */
export async function resolveClient(params: AuthorizeParams, clients: ClientLookup, now: number, seen: ClientSeen = {}): Promise<AuthorizeClient> {
  const clientId = params.get('client_id')
  if (clientId === undefined) throw new InvalidRequest('client_id is required')
  const agent = await clients.find(clientId)
  if (!agent || !isAgentUsable(agent, now)) throw new OAuthError('invalid_client', 'the client is unknown or may not be used', 400)
  const role = await clients.role(agent.role)
  if (!role) throw new OAuthError('invalid_client', 'the client has no role', 400)
  seen.agent = agent
  const registered = Array.isArray(agent.metadata.redirect_uris) ? (agent.metadata.redirect_uris as string[]) : []
  if (!agent.grantTypes.includes('authorization_code') || registered.length === 0) throw new OAuthError('unauthorized_client', 'this client is not registered for the authorization code grant', 400)
  seen.redirectUri = 'invalid'
  const presented = params.get('redirect_uri')
  if (presented === undefined) {
    // RFC 6749 §3.1.2.3: it may be left out only when exactly one is registered.
    if (registered.length !== 1) throw new InvalidRequest('redirect_uri is required: this client registered several')
    seen.redirectUri = 'valid'
    return { agent, role, redirectUri: registered[0]!, redirectUriSent: false }
  }
  const match = matchRedirectUri(registered, presented)
  if (match === undefined) throw new InvalidRequest('redirect_uri does not match any redirect URI registered for this client')
  seen.redirectUri = 'valid'
  return { agent, role, redirectUri: match, redirectUriSent: true }
}

/** What step 1 had established when it refused, for the audit event: the client, whether the redirect URI was checked and found bad. */
export interface ClientSeen {
  agent?: Agent
  redirectUri?: 'valid' | 'invalid'
}
