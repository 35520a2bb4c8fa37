import type { ClientContext } from '../agent/context.js'
import { Emitter } from '../emitter.js'
import { MandateError, SessionEndedError } from '../errors.js'
import { bearerFetch, type FetchInput } from './bearer-fetch.js'
import { HeartbeatLoop } from './heartbeats.js'
import type { HeartbeatReport, SessionApi, StartedSession } from './session-api.js'
import { TokenKeeper } from './token-keeper.js'
import { endedStateFrom, type SessionInfo, type SessionOutcome, type SessionState, type StartSessionOptions } from './wire.js'

export interface SessionEvents extends Record<string, unknown> {
  /** Something went wrong that no caller was waiting for (a heartbeat, most often). */
  error: MandateError
  /** The session ended; accessToken() and fetch() reject with this error from now on. */
  ended: SessionEndedError
  /** A heartbeat was accepted. */
  heartbeat: SessionInfo
  /** The access token was renewed (rotating the refresh token). */
  renewed: { expiresAt: number }
}

/**
 * A task-bound session (docs/sessions.md): keeps a short-lived access token fresh through
 * refresh-token rotation, heartbeats while the task runs, and ends when the task completes.
 */
export class Session {
  readonly id: string
  readonly task: string
  readonly heartbeatIntervalSeconds: number | undefined
  readonly heartbeatGraceSeconds: number | undefined
  /** Unix seconds: the session's absolute end. */
  readonly maxExpiresAt: number | undefined
  /** Unix seconds: without a heartbeat by then the server ends the session. */
  heartbeatDeadline: number | undefined
  private currentState: SessionState = 'active'
  private endedWith: SessionEndedError | undefined
  private readonly events: Emitter<SessionEvents>
  private readonly keeper: TokenKeeper
  private readonly loop: HeartbeatLoop | undefined

  constructor(
    private readonly ctx: ClientContext,
    private readonly api: SessionApi,
    started: StartedSession,
    options: StartSessionOptions,
  ) {
    const { info, tokens } = started
    this.id = info.sessionId
    this.task = info.task ?? options.task
    this.heartbeatIntervalSeconds = info.heartbeatIntervalSeconds
    this.heartbeatGraceSeconds = info.heartbeatGraceSeconds
    this.maxExpiresAt = info.maxExpiresAt
    this.heartbeatDeadline = info.heartbeatDeadline
    this.events = new Emitter(ctx.logger)
    if (options.onError) this.events.on('error', options.onError)
    this.keeper = new TokenKeeper(tokens, (rt) => this.renew(rt), ctx.transport.now)
    // With a health check the server probes the task itself; heartbeats would be noise.
    if (options.healthCheckUrl === undefined) {
      const intervalMs = (info.heartbeatIntervalSeconds ?? options.heartbeatIntervalSeconds ?? 60) * 1000
      this.loop = new HeartbeatLoop(intervalMs, () => this.heartbeat().then(() => undefined))
      this.loop.start()
    }
  }

  get state(): SessionState {
    return this.currentState
  }

  on<K extends keyof SessionEvents>(event: K, listener: (value: SessionEvents[K]) => void): () => void {
    return this.events.on(event, listener)
  }

  /** A valid access token: the cached one, or a renewed one when it nears expiry (one renewal at a time). */
  async accessToken(): Promise<string> {
    if (this.endedWith) throw this.endedWith
    return this.keeper.get()
  }

  /** fetch with the session's bearer token; a 401 gets one renewal and one retry (RFC 6750 §3.1 invalid_token). */
  fetch(input: FetchInput, init?: RequestInit): Promise<Response> {
    return bearerFetch(this.ctx.transport.fetch, input, init, {
      token: () => this.accessToken(),
      replace: async (rejected) => {
        if (this.endedWith) throw this.endedWith
        return this.keeper.replace(rejected)
      },
    })
  }

  /** Sends a heartbeat now (the timer sends them anyway); with progress and a note if given. */
  async heartbeat(report: HeartbeatReport = {}): Promise<SessionInfo> {
    if (this.endedWith) throw this.endedWith
    try {
      const info = await this.api.heartbeat(this.id, report)
      this.heartbeatDeadline = info.heartbeatDeadline ?? this.heartbeatDeadline
      this.events.emit('heartbeat', info)
      return info
    } catch (err) {
      throw this.failed(err)
    }
  }

  /** Ends the session with its outcome; its tokens stop working everywhere. */
  async complete(outcome: SessionOutcome = 'succeeded'): Promise<SessionInfo> {
    if (this.endedWith) throw this.endedWith
    this.loop?.stop()
    try {
      const info = await this.api.complete(this.id, outcome)
      this.end(new SessionEndedError(this.id, 'completed', { error: 'session_ended', errorDescription: `session completed (${outcome})`, status: 200 }))
      return info
    } catch (err) {
      // 409 after a retried request may mean our first try got through: ask the server.
      if (err instanceof MandateError && err.status === 409) {
        const info = await this.api.get(this.id).catch(() => undefined)
        if (info?.state === 'completed' && info.outcome === outcome) {
          this.end(new SessionEndedError(this.id, 'completed', { error: 'session_ended', errorDescription: `session completed (${outcome})`, status: 200 }))
          return info
        }
      }
      throw this.failed(err)
    }
  }

  /** The server's view of the session. */
  info(): Promise<SessionInfo> {
    return this.api.get(this.id)
  }

  /** Stops heartbeating without ending the session (it expires after its grace period). */
  stop(): void {
    this.loop?.stop()
  }

  private async renew(refreshToken: string) {
    try {
      const next = await this.api.renew(refreshToken)
      this.events.emit('renewed', { expiresAt: next.expiresAt })
      return next
    } catch (err) {
      // RFC 6749 §5.2 invalid_grant: the refresh token is dead, which for a session means it ended.
      if (err instanceof MandateError && err.error === 'invalid_grant') {
        const ended = new SessionEndedError(this.id, 'ended', { error: err.error, errorDescription: err.errorDescription, status: err.status, cause: err })
        this.end(ended)
        throw ended
      }
      throw err
    }
  }

  /** Classifies a failure, records an end, reports it; returns the error to throw. */
  private failed(err: unknown): MandateError {
    let e = err instanceof MandateError ? err : new MandateError({ error: 'client_error', errorDescription: err instanceof Error ? err.message : String(err), status: 0, cause: err })
    if (!(e instanceof SessionEndedError) && ((e.status === 409 && e.error === 'session_ended') || e.status === 404)) {
      e = new SessionEndedError(this.id, e.status === 409 ? endedStateFrom(e.errorDescription) : 'ended', { error: e.error, errorDescription: e.errorDescription, status: e.status, cause: e })
    }
    if (e instanceof SessionEndedError) this.end(e)
    else if (!this.events.emit('error', e)) this.ctx.logger.warn('session request failed', { session: this.id, error: e.error, status: e.status })
    return e
  }

  private end(err: SessionEndedError): void {
    if (this.endedWith) return
    this.endedWith = err
    this.currentState = err.state
    this.loop?.stop()
    if (err.state !== 'completed') {
      // An end nobody asked for is an error too: surface it, never silently.
      if (!this.events.emit('error', err)) this.ctx.logger.warn('session ended', { session: this.id, state: err.state, error: err.error })
    }
    this.events.emit('ended', err)
  }
}
