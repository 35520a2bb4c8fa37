import type { Agent } from '../../src/ports/agent-repo.js'
import type { Consent } from '../../src/ports/consent-repo.js'
import type { LawfulBasis, Role } from '../../src/ports/role-repo.js'
import { consentText } from '../../src/http/pages/consent-view.js'
import type { TestServer } from './server.js'
import { admin } from './client.js'

export const PURPOSES = [
  { id: 'credit-check', description: 'Checks your credit history when you apply for a loan', lawful_basis: 'contract' },
  { id: 'automated-deletion', description: 'Deletes your data when the law requires it', lawful_basis: 'legal_obligation' },
]

/**
 * A consent granted through the server's own ConsentService, as the authorization endpoint
 * does after the person approves: the agent and role are read through the admin API and the
 * digest is that of the consent page's words.
 */
export async function grantConsent(server: TestServer, userId: string, agentId: string, scopes: string[], opts: { roleWide?: boolean } = {}): Promise<Consent> {
  const agentJson = (await admin(server, 'GET', `/agents/${agentId}`)).body
  const roleJson = (await admin(server, 'GET', `/roles/${agentJson.role as string}`)).body
  const purposes = (roleJson.purposes as Array<{ id: string; description: string; lawful_basis: LawfulBasis }>).map((p) => ({ id: p.id, description: p.description, lawfulBasis: p.lawful_basis }))
  // Only the fields the consent service reads; the rest of an Agent and a Role does not matter here.
  const agent = { id: agentId, role: agentJson.role, metadata: agentJson.metadata, initialAccessTokenId: agentJson.initial_access_token_id } as Agent
  const role = { name: roleJson.name, version: roleJson.version, scopes: roleJson.scopes, purposes } as Role
  const owner = await server.mandate.consents.ownerOf(agent)
  const text = consentText({ agent, owner, role, scopes, purposes, roleWide: opts.roleWide })
  return server.mandate.consents.grant({ userId, agent, role, scopes, textDigest: text.digest, roleWide: opts.roleWide }, { actorType: 'human', actorId: userId, ip: '127.0.0.1', requestId: null })
}
