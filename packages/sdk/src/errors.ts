/**
 * An error the authorization server reported (RFC 6749 §5.2 `{ error, error_description }`),
 * or a failure to reach it. `status` is the HTTP status, 0 when no response arrived.
 */
export class MandateError extends Error {
  override name = 'MandateError'
  readonly error: string
  readonly errorDescription: string | undefined
  readonly status: number
  /** Seconds the server asked us to wait (Retry-After), when it said. */
  readonly retryAfterSeconds: number | undefined

  constructor(init: { error: string; errorDescription?: string; status: number; retryAfterSeconds?: number; cause?: unknown }) {
    super(init.errorDescription ? `${init.error}: ${init.errorDescription}` : init.error, { cause: init.cause })
    this.error = init.error
    this.errorDescription = init.errorDescription
    this.status = init.status
    this.retryAfterSeconds = init.retryAfterSeconds
  }
}

/** The server could not be reached (connection refused, reset, DNS, timeout) after the retries allowed. */
export class MandateNetworkError extends MandateError {
  override name = 'MandateNetworkError'
  constructor(message: string, cause: unknown) {
    super({ error: 'network_error', errorDescription: message, status: 0, cause })
  }
}

/** How a session ended, as far as the SDK knows (`ended` when the server did not say). */
export type EndedState = 'completed' | 'expired' | 'terminated' | 'ended'

/**
 * The session has ended: completed through this SDK, or found ended when the server refused a
 * heartbeat (409 session_ended), a renewal (invalid_grant) or a read (404). Nothing more can be
 * done with it. On an end it did not cause, the SDK asks the server (GET /sessions/:id) how the
 * session ended; `state` is `'ended'` and `endReason` undefined only when that answer is missing.
 * When the server no longer authenticates the agent (`invalid_client`: suspended, retired, its
 * secret expired), the session is over for it too: `state` `'ended'` (the server cannot be asked
 * without credentials), `endReason` `'agent_not_authenticated'`, and the server's description.
 */
export class SessionEndedError extends MandateError {
  override name = 'SessionEndedError'
  readonly sessionId: string
  readonly state: EndedState
  /** The server's end reason: `heartbeat_missed`, `duration_elapsed`, `refresh_token_reused`, an operator's reason, `completed: succeeded`, …, or `agent_not_authenticated`; undefined when unknown. */
  readonly endReason: string | undefined

  constructor(sessionId: string, state: EndedState, init: { error: string; errorDescription?: string; status: number; endReason?: string | undefined; cause?: unknown }) {
    super(init)
    this.sessionId = sessionId
    this.state = state
    this.endReason = init.endReason
  }
}
