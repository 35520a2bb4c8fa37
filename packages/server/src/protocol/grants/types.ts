import type { ActionContext } from '../../domain/context.js'
import type { AuthenticatedClient } from '../client-auth/authenticate.js'

/** A token request after the edge parsed it and the client authenticated. Never the framework's request. */
export interface TokenRequest {
  grantType: string
  client: AuthenticatedClient
  /** Single-valued parameters; repeats were refused at the edge. */
  params: ReadonlyMap<string, string>
  /** RFC 8707 resource indicators (the one parameter that may repeat). */
  resources: readonly string[]
  ctx: ActionContext
}

/** RFC 6749 §5.1 successful response. */
export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  scope: string
  refresh_token?: string
  /** OpenID Connect Core §3.1.3.3: with the code grant when `openid` was granted. */
  id_token?: string
}

export interface GrantHandler {
  grantType: string
  handle(req: TokenRequest): Promise<{ response: TokenResponse; audit: { target: string; details: Record<string, unknown> } }>
}
