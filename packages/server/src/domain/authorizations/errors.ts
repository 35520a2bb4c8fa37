import { DomainError } from '../errors.js'

/**
 * An authorization code or a person's refresh token that yields nothing: unknown, expired, of an
 * ended grant or withdrawn consent, replayed or reused. The protocol answers invalid_grant.
 */
export class AuthorizationRefused extends DomainError {
  constructor(message: string, readonly why: string) {
    super(message)
  }
}
