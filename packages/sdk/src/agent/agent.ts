import { authenticateForm, type ClientAuthMethod, type ClientCredentials } from '../http/client-auth.js'
import { IDEMPOTENT } from '../http/transport.js'
import { SessionApi } from '../session/session-api.js'
import { Session } from '../session/session.js'
import type { StartSessionOptions } from '../session/wire.js'
import { scopeString, type ClientContext } from './context.js'
import type { Registration } from './registration.js'
import { requestToken } from './token-endpoint.js'
import type { TokenSet } from './token-response.js'

export interface AgentCredentials {
  clientId: string
  clientSecret: string
  /** How the agent was registered to authenticate; client_secret_basic when omitted. */
  authMethod?: ClientAuthMethod
}

export interface ClientCredentialsOptions {
  scope?: string | readonly string[]
  /** RFC 8707 resource indicator(s): the token's `aud`. */
  resource?: string | readonly string[]
}

/** An agent this SDK has just registered (Mandate.registerAgent): its registration is always there. */
export type RegisteredAgent = Agent & { readonly registration: Registration }

/** A registered agent: gets tokens, starts sessions. */
export class Agent {
  readonly clientId: string
  private readonly creds: ClientCredentials
  private readonly sessions: SessionApi

  constructor(
    private readonly ctx: ClientContext,
    credentials: AgentCredentials,
    /** Set when this agent was registered through this SDK (see RegisteredAgent); undefined for `mandate.agent(credentials)`. */
    readonly registration?: Registration,
  ) {
    this.clientId = credentials.clientId
    this.creds = { clientId: credentials.clientId, clientSecret: credentials.clientSecret, authMethod: credentials.authMethod ?? 'client_secret_basic' }
    this.sessions = new SessionApi(ctx, this.creds)
  }

  /** An access token through the client_credentials grant (RFC 6749 §4.4), for agents that do not use sessions. */
  async clientCredentialsToken(options: ClientCredentialsOptions = {}): Promise<TokenSet> {
    // client_credentials changes nothing on the server, so it is safe to retry.
    const { refreshToken: _ignored, ...token } = await requestToken(this.ctx, this.creds, { grant_type: 'client_credentials', scope: scopeString(options.scope), resource: options.resource }, IDEMPOTENT)
    return token
  }

  /** Starts a task-bound session (POST /sessions) and its heartbeats. */
  async startSession(options: StartSessionOptions): Promise<Session> {
    const started = await this.sessions.start(options)
    return new Session(this.ctx, this.sessions, started, options)
  }

  /** RFC 7009 token revocation (an access token or a refresh token). */
  async revokeToken(token: string, tokenTypeHint?: 'access_token' | 'refresh_token'): Promise<void> {
    const url = await this.ctx.discovery.endpoint('revocation_endpoint')
    const form = new URLSearchParams({ token })
    if (tokenTypeHint) form.set('token_type_hint', tokenTypeHint)
    const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded' })
    authenticateForm(this.creds, headers, form)
    // RFC 7009 §2.2: revoking is idempotent, and 200 whether or not the token was known.
    const res = await this.ctx.transport.send(url, { method: 'POST', headers, body: form.toString() }, IDEMPOTENT)
    if (!res.ok) await this.ctx.transport.json(res)
    else await res.body?.cancel().catch(() => undefined)
  }
}
