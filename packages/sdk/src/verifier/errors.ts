/** RFC 6750 §3.1 error codes. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope'

/** What the resource server answers when it refuses a request; middleware sends exactly this. */
export abstract class VerificationError extends Error {
  abstract readonly status: number
  /** The RFC 6749 §5.2-style JSON body. */
  abstract body(): { error: string; error_description: string }
  /** Response headers to send (WWW-Authenticate, Retry-After). */
  abstract headers(): Record<string, string>
}

export interface ChallengeParams {
  realm?: string
  /** RFC 9728 §5.1: where the resource's metadata is. */
  resourceMetadata?: string
}

/**
 * A refused bearer token (RFC 6750 §3): carries the code, the HTTP status and a ready
 * WWW-Authenticate value. `tokenMissing` marks a request with no token at all, whose challenge
 * carries no error code (RFC 6750 §3.1).
 */
export class BearerError extends VerificationError {
  override name = 'BearerError'
  readonly status: 400 | 401 | 403
  readonly wwwAuthenticate: string

  constructor(
    readonly code: BearerErrorCode,
    readonly description: string,
    challenge: ChallengeParams,
    readonly extra: { scope?: string; tokenMissing?: boolean } = {},
  ) {
    super(description)
    // RFC 6750 §3.1: invalid_request 400, invalid_token 401, insufficient_scope 403; no token at all 401.
    this.status = extra.tokenMissing ? 401 : code === 'invalid_request' ? 400 : code === 'invalid_token' ? 401 : 403
    this.wwwAuthenticate = bearerChallenge(challenge, extra.tokenMissing ? undefined : { code, description, scope: extra.scope })
  }

  get tokenMissing(): boolean {
    return this.extra.tokenMissing === true
  }

  body() {
    return { error: this.code, error_description: this.description }
  }

  headers(): Record<string, string> {
    return { 'www-authenticate': this.wwwAuthenticate }
  }
}

/** The verifier cannot vouch for any token just now (revocation feed not synced, or stale, or keys unreachable). */
export class VerifierUnavailableError extends VerificationError {
  override name = 'VerifierUnavailableError'
  readonly status = 503

  constructor(
    readonly description: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(description)
  }

  body() {
    return { error: 'temporarily_unavailable', error_description: this.description }
  }

  headers(): Record<string, string> {
    return { 'retry-after': String(this.retryAfterSeconds) }
  }
}

/** RFC 6750 §3: `Bearer realm="…", error="…", error_description="…", scope="…"` plus RFC 9728 §5.1 resource_metadata. */
export function bearerChallenge(p: ChallengeParams, error?: { code: BearerErrorCode; description: string; scope?: string | undefined }): string {
  const parts: string[] = []
  if (p.realm !== undefined) parts.push(`realm=${quote(p.realm)}`)
  if (error) {
    parts.push(`error=${quote(error.code)}`)
    parts.push(`error_description=${quote(error.description)}`)
    if (error.scope !== undefined) parts.push(`scope=${quote(error.scope)}`)
  }
  if (p.resourceMetadata !== undefined) parts.push(`resource_metadata=${quote(p.resourceMetadata)}`)
  return parts.length === 0 ? 'Bearer' : `Bearer ${parts.join(', ')}`
}

/**
 * RFC 6750 §3: attribute values are quoted strings of %x20-21 / %x23-5B / %x5D-7E, so quotes,
 * backslashes and anything outside printable ASCII are replaced rather than escaped.
 */
function quote(value: string): string {
  return `"${value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '?')}"`
}
