/** RFC 6749 §4.1.2.1 and §5.2, OpenID Connect Core §3.1.2.6, RFC 6750 §3.1, RFC 7591 §3.2.2, RFC 7009 §2.2.1 and RFC 8707 §2 error codes. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'unsupported_token_type'
  | 'invalid_client_metadata'
  | 'invalid_redirect_uri'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'login_required'
  | 'consent_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  // RFC 8628 §3.5: the device grant's polling answers.
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  | 'not_found'
  | 'conflict'
  | 'session_ended'
  | 'rate_limited'
  | 'temporarily_unavailable'
  | 'server_error'

/**
 * An error a client may see. `description` is sent; `detail` is only logged.
 * `challenge` asks the serialiser for a WWW-Authenticate header of that scheme.
 */
export class OAuthError extends Error {
  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    readonly status = 400,
    readonly detail?: string,
    readonly challenge?: 'Basic' | 'Bearer',
  ) {
    super(description)
  }
}

export class InvalidRequest extends OAuthError {
  constructor(description: string, detail?: string) {
    super('invalid_request', description, 400, detail)
  }
}

/**
 * RFC 6749 §5.2: invalid_client. A client that tried the Authorization header, or sent no
 * credentials, gets 401 with a Basic challenge (§5.2 MUST; RFC 9110 §15.5.2: every 401 carries
 * one). A client that authenticated in the body (client_secret_post) gets 400 without a
 * challenge, which §5.2 allows: client libraries then surface the error and its description
 * instead of an unexplained Basic challenge it never answered.
 * `clientId` is the client_id the caller presented (unverified), so a refusal can be audited against it.
 */
export class InvalidClient extends OAuthError {
  constructor(description = 'client authentication failed', detail?: string, readonly clientId?: string, authenticatedInBody = false) {
    super('invalid_client', description, authenticatedInBody ? 400 : 401, detail, authenticatedInBody ? undefined : 'Basic')
  }
}

export class InvalidGrant extends OAuthError {
  constructor(description: string, detail?: string) {
    super('invalid_grant', description, 400, detail)
  }
}

export class UnauthorizedClient extends OAuthError {
  constructor(description: string, detail?: string) {
    super('unauthorized_client', description, 400, detail)
  }
}

export class UnsupportedGrantType extends OAuthError {
  constructor(description = 'grant_type is not supported') {
    super('unsupported_grant_type', description, 400)
  }
}

export class InvalidScope extends OAuthError {
  constructor(description = 'requested scope exceeds what the agent may hold', detail?: string) {
    super('invalid_scope', description, 400, detail)
  }
}

export class InvalidTarget extends OAuthError {
  constructor(description: string) {
    super('invalid_target', description, 400)
  }
}

/** RFC 6750 §3.1: a bearer credential that is missing, expired, revoked or malformed. */
export class InvalidToken extends OAuthError {
  constructor(description = 'the access token is missing, expired or invalid', detail?: string) {
    super('invalid_token', description, 401, detail, 'Bearer')
  }
}

/** RFC 6750 §3.1: a request with no credentials at all gets a challenge without an error code. */
export class CredentialsMissing extends InvalidToken {}

/** RFC 6750 §3.1: a valid credential of the wrong kind or with too little authority. */
export class InsufficientScope extends OAuthError {
  constructor(description: string) {
    super('insufficient_scope', description, 403, undefined, 'Bearer')
  }
}

export class InvalidClientMetadata extends OAuthError {
  constructor(description: string) {
    super('invalid_client_metadata', description, 400)
  }
}

export class InvalidRedirectUri extends OAuthError {
  constructor(description: string) {
    super('invalid_redirect_uri', description, 400)
  }
}

export class NotFound extends OAuthError {
  constructor(description = 'not found') {
    super('not_found', description, 404)
  }
}

export class Conflict extends OAuthError {
  /** Sent as Retry-After when the conflict passes by itself. */
  constructor(description: string, readonly retryAfterSeconds?: number) {
    super('conflict', description, 409)
  }
}

/** RFC 6585 §4: too many requests; Retry-After says when to try again. */
export class TooManyRequests extends OAuthError {
  constructor(description: string, readonly retryAfterSeconds: number) {
    super('rate_limited', description, 429)
  }
}
