import {
  AgentNotActive, AgentNotFound, InitialAccessTokenNotFound, BadRegistrationCredential, DomainError, InvalidStatusChange, RefreshRefused, RoleExists, RoleFull, RoleHasAgents, RoleNotFound,
  SessionEnded, SessionNotFound, StandbyKeyNotReady, UserExists, UserNotFound, ValidationFailed, ConsentNotFound,
} from '../domain/errors.js'
import { AuthorizationRefused } from '../domain/authorizations/errors.js'
import { Conflict, InvalidGrant, InvalidRequest, InvalidToken, NotFound, OAuthError } from './errors.js'

/** Which wire error a caller sees for a domain error. Endpoints with their own codes map first. */
export function oauthErrorFor(err: DomainError): OAuthError {
  if (err instanceof ValidationFailed) return new InvalidRequest(err.message)
  if (err instanceof RoleNotFound || err instanceof AgentNotFound || err instanceof InitialAccessTokenNotFound || err instanceof SessionNotFound || err instanceof UserNotFound || err instanceof ConsentNotFound) return new NotFound(err.message)
  if (err instanceof SessionEnded) return new OAuthError('session_ended', err.message, 409)
  if (err instanceof RefreshRefused) return new InvalidGrant(err.message, err.why) // RFC 6749 §5.2
  if (err instanceof AuthorizationRefused) return new InvalidGrant(err.message, err.why) // RFC 6749 §5.2
  if (err instanceof StandbyKeyNotReady) return new Conflict(err.message, err.retryAfterSeconds)
  if (err instanceof RoleExists || err instanceof RoleHasAgents || err instanceof InvalidStatusChange || err instanceof UserExists) return new Conflict(err.message)
  if (err instanceof BadRegistrationCredential) return new InvalidToken(err.message) // RFC 7591 §3, RFC 6750 §3.1
  if (err instanceof RoleFull) return new OAuthError('access_denied', err.message, 403)
  if (err instanceof AgentNotActive) return new OAuthError('access_denied', err.message, 403)
  return new OAuthError('server_error', 'internal error', 500, err.message)
}
