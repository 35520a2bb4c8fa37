import type { ClientContext } from '../agent/context.js'
import { Emitter } from '../emitter.js'
import { MandateError, SessionEndedError, type EndedState } from '../errors.js'
import { bearerFetch, type FetchInput } from './bearer-fetch.js'
import { HeartbeatLoop } from './heartbeats.js'
import type { HeartbeatReport, SessionApi, StartedSession } from './session-api.js'
import { TokenKeeper } from './token-keeper.js'
import { endedStateFrom, type SessionInfo, type SessionOutcome, type SessionState, type StartSessionOptions } from './wire.js'

export interface SessionEvents extends Record<string, unknown> {
  /**
   * Something went wrong that no caller was waiting for: a heartbeat of the timer failed, a
   * renewal failed while the current token was still valid (callers were given that token), or
   * the session ended without complete() (once). Errors thrown to a caller are not emitted.
   */
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
  /** Finding out how the session ended (one GET /sessions/:id), shared by whoever noticed. */
  private ending: Promise<SessionEndedError> | undefined
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
    this.keeper = new TokenKeeper(tokens, {
      renew: (rt) => this.renew(rt),
      now: ctx.transport.now,
      onHiddenFailure: (err, current) =>
        this.report(err, 'access token renewal failed; using the current token while it lasts', { expiresAt: new Date(current.expiresAt).toISOString() }),
    })
    // With a health check the server probes the task itself; heartbeats would be noise.
    if (options.healthCheckUrl === undefined) {
      const intervalMs = (info.heartbeatIntervalSeconds ?? options.heartbeatIntervalSeconds ?? 60) * 1000
      this.loop = new HeartbeatLoop(intervalMs, () => this.backgroundHeartbeat())
      this.loop.start()
    }
  }

  get state(): SessionState {
    return this.currentState
  }

  on<K extends keyof SessionEvents>(event: K, listener: (value: SessionEvents[K]) => void): () => void {
    return this.events.on(event, listener)
  }

  /**
   * A valid access token: the cached one, or a renewed one when it nears expiry (one renewal at
   * a time). If that renewal fails for a reason that may pass (network, 5xx, 429) while the
   * current token is still valid, that token is returned and the failure goes to `error`; the
   * next call tries again (at most about once a second, backing off to every 10 s). Once the
   * token has expired, the failure is thrown.
   */
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
      throw await this.classify(err)
    }
  }

  /** Ends the session with its outcome; its tokens stop working everywhere. */
  async complete(outcome: SessionOutcome = 'succeeded'): Promise<SessionInfo> {
    if (this.endedWith) throw this.endedWith
    this.loop?.stop()
    try {
      const info = await this.api.complete(this.id, outcome)
      this.end(this.completed(outcome, info), true)
      return info
    } catch (err) {
      // 409 after a retried request may mean our first try got through: ask the server.
      if (err instanceof MandateError && err.status === 409) {
        const info = await this.api.get(this.id).catch(() => undefined)
        if (info?.state === 'completed' && info.outcome === outcome) {
          this.end(this.completed(outcome, info), true)
          return info
        }
      }
      throw await this.classify(err)
    }
  }

  /** The server's view of the session. */
  async info(): Promise<SessionInfo> {
    try {
      return await this.api.get(this.id)
    } catch (err) {
      if (isClientRefused(err)) throw this.agentRefused(err)
      throw err
    }
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
      if (err instanceof MandateError && err.error === 'invalid_grant') throw await this.learnEnd(err, endedStateFrom(err.errorDescription))
      if (isClientRefused(err)) throw this.agentRefused(err)
      throw err
    }
  }

  /** A heartbeat of the timer: nobody waits for it, so its failure is reported here. */
  private async backgroundHeartbeat(): Promise<void> {
    if (this.endedWith) return
    try {
      await this.heartbeat()
    } catch (err) {
      // An end has been reported by end(), once.
      if (!(err instanceof SessionEndedError)) this.report(err as MandateError, 'heartbeat failed')
    }
  }

  /** The error to throw for a failed request: a SessionEndedError (recording the end) when it says the session is over. */
  private async classify(err: unknown): Promise<MandateError> {
    const e = err instanceof MandateError ? err : new MandateError({ error: 'client_error', errorDescription: err instanceof Error ? err.message : String(err), status: 0, cause: err })
    if (e instanceof SessionEndedError) return e
    if (isClientRefused(e)) return this.agentRefused(e)
    if (e.status === 409 && e.error === 'session_ended') return this.learnEnd(e, endedStateFrom(e.errorDescription))
    if (e.status === 404) return this.learnEnd(e, 'ended')
    return e
  }

  /**
   * The server said the session is over without saying how: ask it (GET /sessions/:id) for the
   * state and end reason, best effort, and record the end. Whoever notices first asks; everyone
   * gets the same error.
   */
  private learnEnd(cause: MandateError, hint: EndedState): Promise<SessionEndedError> {
    if (this.endedWith) return Promise.resolve(this.endedWith)
    this.ending ??= this.api.get(this.id).then(
      (info) => ({ state: info.state === 'active' ? hint : info.state, endReason: info.state === 'active' ? undefined : (info.endReason ?? undefined) }),
      () => ({ state: hint, endReason: undefined }),
    ).then(({ state, endReason }) => {
      this.end(new SessionEndedError(this.id, state, { error: cause.error, errorDescription: cause.errorDescription, status: cause.status, endReason, cause }))
      // complete() may have ended it meanwhile; the first end stands.
      return this.endedWith!
    })
    return this.ending
  }

  /**
   * The server no longer authenticates the agent (invalid_client: suspended, retired, its secret
   * expired or replaced): nothing can be done in this session any more, so for this SDK it has
   * ended. The server cannot be asked how (that needs the same credentials), hence `'ended'`.
   */
  private agentRefused(cause: MandateError): SessionEndedError {
    this.end(new SessionEndedError(this.id, 'ended', { error: cause.error, errorDescription: cause.errorDescription, status: cause.status, endReason: AGENT_NOT_AUTHENTICATED, cause }))
    // A refusal noticed earlier may have ended it first; the first end stands.
    return this.endedWith!
  }

  private completed(outcome: SessionOutcome, info: SessionInfo): SessionEndedError {
    return new SessionEndedError(this.id, 'completed', { error: 'session_ended', errorDescription: `session completed (${outcome})`, status: 200, endReason: info.endReason ?? undefined })
  }

  /** Reports a failure no caller will see: to `error` listeners, or the logger when there are none. */
  private report(err: MandateError, message: string, fields: Record<string, unknown> = {}): void {
    if (!this.events.emit('error', err)) this.ctx.logger.warn(message, { session: this.id, error: err.error, status: err.status, ...fields })
  }

  /** Records the end, once; `asked` when it was this session's complete(). */
  private end(err: SessionEndedError, asked = false): void {
    if (this.endedWith) return
    this.endedWith = err
    this.currentState = err.state
    this.loop?.stop()
    // An end nobody asked for is an error too: surface it, once, never silently.
    if (!asked) this.report(err, 'session ended', { state: err.state, endReason: err.endReason })
    this.events.emit('ended', err)
  }
}

/** SessionEndedError.endReason when the server stopped authenticating the agent. */
export const AGENT_NOT_AUTHENTICATED = 'agent_not_authenticated'

/**
 * RFC 6749 §5.2 invalid_client: the agent's credentials no longer authenticate it. 401 for Basic;
 * an agent that authenticates in the body (client_secret_post) gets 400, which §5.2 allows.
 */
function isClientRefused(err: unknown): err is MandateError & { error: 'invalid_client' } {
  return err instanceof MandateError && err.error === 'invalid_client' && (err.status === 401 || err.status === 400)
}
