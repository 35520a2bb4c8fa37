import { MandateError } from '../errors.js'

/** An access token as the SDK hands it out. */
export interface TokenSet {
  accessToken: string
  tokenType: 'Bearer'
  /** Seconds the server said the token lives (RFC 6749 §5.1 expires_in). */
  expiresIn: number
  /** Milliseconds since the epoch, counted from when the request was sent (so never late). */
  expiresAt: number
  /** The granted scope, when the server said it. */
  scope: string | undefined
}

export interface TokenResponse extends TokenSet {
  refreshToken: string | undefined
}

/** RFC 6749 §5.1: checks a token response. `sentAt` is when the request left, in ms. */
export function parseTokenResponse(body: Record<string, unknown>, sentAt: number): TokenResponse {
  const { access_token, token_type, expires_in, scope, refresh_token } = body
  if (typeof access_token !== 'string' || access_token === '') throw invalid('access_token is missing')
  // RFC 6749 §7.1: the type is case-insensitive; only Bearer (RFC 6750) is understood here.
  if (typeof token_type !== 'string' || token_type.toLowerCase() !== 'bearer') throw invalid('token_type is not Bearer')
  if (typeof expires_in !== 'number' || !Number.isFinite(expires_in) || expires_in <= 0) throw invalid('expires_in is missing')
  if (scope !== undefined && typeof scope !== 'string') throw invalid('scope is not a string')
  if (refresh_token !== undefined && (typeof refresh_token !== 'string' || refresh_token === '')) throw invalid('refresh_token is not a string')
  return { accessToken: access_token, tokenType: 'Bearer', expiresIn: expires_in, expiresAt: sentAt + expires_in * 1000, scope, refreshToken: refresh_token }
}

function invalid(description: string): MandateError {
  return new MandateError({ error: 'invalid_response', errorDescription: `token response: ${description}`, status: 200 })
}
