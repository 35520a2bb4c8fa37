import type { RequestedClient } from '../domain/agents/registration-service.js'
import type { Agent, TokenEndpointAuthMethod } from '../ports/agent-repo.js'
import type { Role } from '../ports/role-repo.js'
import { characterCount, isPrintableLine } from '../domain/text.js'
import { InvalidClientMetadata, InvalidRedirectUri, InvalidScope } from './errors.js'
import { redirectUriProblem } from './redirect-uri.js'
import { parseScope } from './scopes.js'

const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none']
const GRANT_TYPES = ['client_credentials', 'refresh_token', 'authorization_code', 'urn:ietf:params:oauth:grant-type:device_code']
// refresh_token renews a task-bound session's access tokens (POST /sessions).
const DEFAULT_GRANT_TYPES = ['client_credentials', 'refresh_token']
const MAX_TEXT = 300
const MAX_LIST = 20
const TEXT_FIELDS = ['client_name', 'software_id', 'software_version'] as const
const URI_FIELDS = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri'] as const

/**
 * RFC 7591 §2: checks the metadata a client sends. Fields this server uses are validated;
 * unknown fields are ignored, not refused (§2), and are not stored or echoed. A field sent as
 * null counts as omitted: many client libraries serialise unset fields that way, and RFC 7592
 * §2.2 treats an omitted field and a null one alike.
 */
export function parseClientMetadata(body: unknown): RequestedClient {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidClientMetadata('the request body must be a JSON object of client metadata')
  const b = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null)) as Record<string, unknown>
  const metadata: Record<string, unknown> = {}

  const authMethod = b.token_endpoint_auth_method ?? 'client_secret_basic'
  if (typeof authMethod !== 'string' || !AUTH_METHODS.includes(authMethod as TokenEndpointAuthMethod)) {
    throw new InvalidClientMetadata(`token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}`)
  }
  const grantTypes = stringList(b, 'grant_types') ?? DEFAULT_GRANT_TYPES
  const unsupported = grantTypes.find((g) => !GRANT_TYPES.includes(g))
  if (unsupported !== undefined || grantTypes.length === 0) throw new InvalidClientMetadata(`grant_types may only contain ${GRANT_TYPES.join(', ')}`)
  // RFC 6749 §2.1 / §4.4: a public client holds no credentials, so it cannot act as itself.
  if (authMethod === 'none' && grantTypes.includes('client_credentials')) throw new InvalidClientMetadata('a public client (token_endpoint_auth_method none) cannot use the client_credentials grant')
  const codeClient = grantTypes.includes('authorization_code')
  // RFC 7591 §2.1: response types must match the grant types: code with authorization_code (its
  // default when omitted, §2), none without it.
  const responseTypes = stringList(b, 'response_types')
  if (codeClient && responseTypes !== undefined && (responseTypes.length !== 1 || responseTypes[0] !== 'code')) throw new InvalidClientMetadata('response_types must be ["code"] with the authorization_code grant')
  if (!codeClient && responseTypes !== undefined && responseTypes.length > 0) throw new InvalidClientMetadata('response_types must be empty without the authorization_code grant')

  const redirectUris = stringList(b, 'redirect_uris')
  if (redirectUris !== undefined) {
    for (const uri of redirectUris) {
      const problem = redirectUriProblem(uri)
      if (problem) throw new InvalidRedirectUri(`redirect_uri ${problem}`)
    }
    metadata.redirect_uris = [...new Set(redirectUris)]
  }
  // RFC 6749 §3.1.2.2 / OAuth 2.1 §2.3: a client of the authorization endpoint registers where codes go.
  if (codeClient && (redirectUris === undefined || redirectUris.length === 0)) throw new InvalidClientMetadata('the authorization_code grant needs at least one redirect_uri')

  let scopes: string[] | undefined
  if (b.scope !== undefined) {
    if (typeof b.scope !== 'string') throw new InvalidClientMetadata('scope must be a space-separated string')
    try {
      scopes = parseScope(b.scope)
    } catch (err) {
      if (err instanceof InvalidScope) throw new InvalidClientMetadata(err.description)
      throw err
    }
  }
  for (const f of TEXT_FIELDS) {
    const v = b[f]
    if (v === undefined) continue
    // Shown to operators in consoles and logs: one printable line.
    if (typeof v !== 'string' || characterCount(v) > MAX_TEXT || !isPrintableLine(v)) throw new InvalidClientMetadata(`${f} must be one printable line of at most ${MAX_TEXT} characters`)
    metadata[f] = v
  }
  for (const f of URI_FIELDS) {
    const v = b[f]
    if (v === undefined) continue
    if (typeof v !== 'string' || !isWebUrl(v)) throw new InvalidClientMetadata(`${f} must be an https URL`)
    metadata[f] = v
  }
  const contacts = stringList(b, 'contacts')
  if (contacts !== undefined) {
    if (contacts.some((c) => c.length > MAX_TEXT)) throw new InvalidClientMetadata(`contacts must be strings of at most ${MAX_TEXT} characters`)
    metadata.contacts = contacts
  }
  return { authMethod: authMethod as TokenEndpointAuthMethod, grantTypes: [...new Set(grantTypes)], scopes, metadata }
}

/** RFC 7591 §3.2.1 / RFC 7592 §3: the registered metadata, as returned to the client. */
export function registrationResponse(agent: Agent, role: Role | undefined, issuer: string): Record<string, unknown> {
  return {
    client_id: agent.id,
    client_id_issued_at: Math.floor(agent.createdAt / 1000),
    // RFC 7591 §3.2.1: 0 means the secret does not expire.
    client_secret_expires_at: agent.secretExpiresAt === null ? 0 : Math.floor(agent.secretExpiresAt / 1000),
    registration_client_uri: `${issuer}/register/${encodeURIComponent(agent.id)}`,
    token_endpoint_auth_method: agent.authMethod,
    grant_types: agent.grantTypes,
    response_types: agent.grantTypes.includes('authorization_code') ? ['code'] : [],
    scope: agent.scopes.join(' '),
    ...agent.metadata,
    role: agent.role,
    role_version: agent.roleVersion,
    ...(role && role.lifecycle === 'ephemeral' ? { lifecycle: 'ephemeral' } : {}),
  }
}

function stringList(b: Record<string, unknown>, field: string): string[] | undefined {
  const v = b[field]
  if (v === undefined) return undefined
  if (!Array.isArray(v) || v.length > MAX_LIST || v.some((x) => typeof x !== 'string')) {
    throw new InvalidClientMetadata(`${field} must be an array of at most ${MAX_LIST} strings`)
  }
  return v as string[]
}

function isWebUrl(v: string): boolean {
  if (v.length > 2000) return false
  try {
    const u = new URL(v)
    return u.protocol === 'https:' || (u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]'))
  } catch {
    return false
  }
}
