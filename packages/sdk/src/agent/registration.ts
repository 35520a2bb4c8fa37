import { MandateError } from '../errors.js'
import type { ClientAuthMethod } from '../http/client-auth.js'
import { NOT_IDEMPOTENT } from '../http/transport.js'
import { scopeString, type ClientContext } from './context.js'

export interface RegisterAgentOptions {
  /** The operator's initial access token for a role (RFC 7591 §3). Used once; never logged. */
  initialAccessToken: string
  /** client_name: how the agent shows up in the audit log and the admin API. */
  name?: string
  /** Scopes to register with, within the role's; the role's scopes when omitted. */
  scope?: string | readonly string[]
  /** Defaults to client_secret_basic. */
  authMethod?: ClientAuthMethod
  /** Further RFC 7591 §2 client metadata (software_id, contacts, …). */
  metadata?: Record<string, unknown>
}

/** What registration returned: the credentials and the RFC 7592 management handle. */
export interface Registration {
  clientId: string
  clientSecret: string
  authMethod: ClientAuthMethod
  /** Milliseconds since the epoch, or undefined when the secret does not expire (RFC 7591 §3.2.1: 0). */
  clientSecretExpiresAt: number | undefined
  scope: string
  role: string | undefined
  registrationAccessToken: string | undefined
  registrationClientUri: string | undefined
  /** The whole response, for members this type does not name. */
  raw: Record<string, unknown>
}

/** RFC 7591 §3.1: self-registration with an initial access token. Not retried once sent: each try uses up one use. */
export async function register(ctx: ClientContext, options: RegisterAgentOptions): Promise<Registration> {
  const url = await ctx.discovery.endpoint('registration_endpoint')
  const body: Record<string, unknown> = { ...options.metadata }
  if (options.name !== undefined) body.client_name = options.name
  const scope = scopeString(options.scope)
  if (scope !== undefined) body.scope = scope
  if (options.authMethod !== undefined) body.token_endpoint_auth_method = options.authMethod
  const headers = { authorization: `Bearer ${options.initialAccessToken}`, 'content-type': 'application/json', accept: 'application/json' }
  const res = await ctx.transport.request<Record<string, unknown>>(url, { method: 'POST', headers, body: JSON.stringify(body) }, NOT_IDEMPOTENT)
  const { client_id, client_secret, token_endpoint_auth_method, client_secret_expires_at } = res
  if (typeof client_id !== 'string' || typeof client_secret !== 'string') {
    throw new MandateError({ error: 'invalid_response', errorDescription: 'registration response lacks client_id or client_secret', status: 201 })
  }
  const authMethod: ClientAuthMethod = token_endpoint_auth_method === 'client_secret_post' ? 'client_secret_post' : 'client_secret_basic'
  return {
    clientId: client_id,
    clientSecret: client_secret,
    authMethod,
    clientSecretExpiresAt: typeof client_secret_expires_at === 'number' && client_secret_expires_at > 0 ? client_secret_expires_at * 1000 : undefined,
    scope: typeof res.scope === 'string' ? res.scope : '',
    role: typeof res.role === 'string' ? res.role : undefined,
    registrationAccessToken: typeof res.registration_access_token === 'string' ? res.registration_access_token : undefined,
    registrationClientUri: typeof res.registration_client_uri === 'string' ? res.registration_client_uri : undefined,
    raw: res,
  }
}
