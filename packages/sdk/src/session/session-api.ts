import { scopeString, type ClientContext } from '../agent/context.js'
import { requestToken } from '../agent/token-endpoint.js'
import { parseTokenResponse, type TokenResponse } from '../agent/token-response.js'
import { MandateError } from '../errors.js'
import { authenticateJson, basicAuthorization, type ClientCredentials } from '../http/client-auth.js'
import { IDEMPOTENT, NOT_IDEMPOTENT, type SendOptions } from '../http/transport.js'
import { parseSessionInfo, startBody, type SessionInfo, type SessionOutcome, type StartSessionOptions } from './wire.js'

export interface StartedSession {
  info: SessionInfo
  tokens: TokenResponse & { refreshToken: string }
}

export interface HeartbeatReport {
  /** 0..1 */
  progress?: number
  /** At most 300 characters. */
  note?: string
}

/** RFC 6749 §6 allows one retry of a rotation whose answer was lost: Mandate replays the same successor within 30 s. */
const RENEWAL: SendOptions = { maxReplays: 1 }

/** The wire calls of docs/sessions.md, authenticated as at POST /token. */
export class SessionApi {
  constructor(
    private readonly ctx: ClientContext,
    private readonly creds: ClientCredentials,
  ) {}

  /** POST /sessions. Not replayed once sent: a second try could start a second session. */
  async start(options: StartSessionOptions): Promise<StartedSession> {
    const sentAt = this.ctx.transport.now()
    const body = await this.postJson(await this.ctx.discovery.endpoint('mandate_sessions_endpoint'), startBody(options, scopeString(options.scope)), NOT_IDEMPOTENT)
    const tokens = parseTokenResponse(body, sentAt)
    if (tokens.refreshToken === undefined) throw new MandateError({ error: 'invalid_response', errorDescription: 'session response lacks refresh_token', status: 201 })
    return { info: parseSessionInfo(body), tokens: { ...tokens, refreshToken: tokens.refreshToken } }
  }

  /** A heartbeat is safe to repeat, so it is retried like a read. */
  async heartbeat(id: string, report: HeartbeatReport): Promise<SessionInfo> {
    const body: Record<string, unknown> = {}
    if (report.progress !== undefined) body.progress = report.progress
    if (report.note !== undefined) body.note = report.note
    return parseSessionInfo(await this.postJson(await this.sessionUrl(id, '/heartbeat'), body, IDEMPOTENT))
  }

  /** Completing twice answers 409 the second time; the caller resolves that by reading the session. */
  async complete(id: string, outcome: SessionOutcome): Promise<SessionInfo> {
    return parseSessionInfo(await this.postJson(await this.sessionUrl(id, '/complete'), { outcome }, IDEMPOTENT))
  }

  /** GET /sessions/:id. A GET has no body, so it authenticates with Basic whatever the registered method. */
  async get(id: string): Promise<SessionInfo> {
    const headers = { authorization: basicAuthorization(this.creds.clientId, this.creds.clientSecret), accept: 'application/json' }
    return parseSessionInfo(await this.ctx.transport.request(await this.sessionUrl(id, ''), { method: 'GET', headers }, IDEMPOTENT))
  }

  /** RFC 6749 §6 refresh_token grant; `scope` may narrow the one access token it returns. */
  renew(refreshToken: string, scope?: string): Promise<TokenResponse> {
    return requestToken(this.ctx, this.creds, { grant_type: 'refresh_token', refresh_token: refreshToken, scope }, RENEWAL)
  }

  private async sessionUrl(id: string, suffix: string): Promise<string> {
    const base = await this.ctx.discovery.endpoint('mandate_sessions_endpoint')
    return `${base.replace(/\/$/, '')}/${encodeURIComponent(id)}${suffix}`
  }

  private postJson(url: string, body: Record<string, unknown>, send: SendOptions): Promise<Record<string, unknown>> {
    const headers = new Headers({ 'content-type': 'application/json', accept: 'application/json' })
    const authed = authenticateJson(this.creds, headers, body)
    return this.ctx.transport.request(url, { method: 'POST', headers, body: JSON.stringify(authed) }, send)
  }
}
