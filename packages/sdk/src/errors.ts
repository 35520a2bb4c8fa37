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
 * The session has ended (completed, expired, terminated): the server answered a heartbeat with
 * 409 session_ended or a renewal with invalid_grant. Nothing more can be done with it.
 */
export class SessionEndedError extends MandateError {
  override name = 'SessionEndedError'
  readonly sessionId: string
  readonly state: EndedState

  constructor(sessionId: string, state: EndedState, init: { error: string; errorDescription?: string; status: number; cause?: unknown }) {
    super(init)
    this.sessionId = sessionId
    this.state = state
  }
}
