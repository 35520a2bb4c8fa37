import { AgentNotActive, AgentNotFound, InitialAccessTokenNotFound, BadRegistrationCredential, DomainError, InvalidStatusChange, RoleExists, RoleFull, RoleHasAgents, RoleNotFound, ValidationFailed } from '../domain/errors.js'
import { Conflict, InvalidRequest, InvalidToken, NotFound, OAuthError } from './errors.js'

/** Which wire error a caller sees for a domain error. Endpoints with their own codes map first. */
export function oauthErrorFor(err: DomainError): OAuthError {
  if (err instanceof ValidationFailed) return new InvalidRequest(err.message)
  if (err instanceof RoleNotFound || err instanceof AgentNotFound || err instanceof InitialAccessTokenNotFound) return new NotFound(err.message)
  if (err instanceof RoleExists || err instanceof RoleHasAgents || err instanceof InvalidStatusChange) return new Conflict(err.message)
  if (err instanceof BadRegistrationCredential) return new InvalidToken(err.message) // RFC 7591 §3, RFC 6750 §3.1
  if (err instanceof RoleFull) return new OAuthError('access_denied', err.message, 403)
  if (err instanceof AgentNotActive) return new OAuthError('access_denied', err.message, 403)
  return new OAuthError('server_error', 'internal error', 500, err.message)
}
