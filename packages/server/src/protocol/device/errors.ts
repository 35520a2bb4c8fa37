import { OAuthError } from '../errors.js'

/** RFC 8628 §3.5: the person has not decided yet; poll again after the interval. */
export class AuthorizationPending extends OAuthError {
  constructor() {
    super('authorization_pending', 'the person has not approved the request yet; poll again after the interval')
  }
}

/** RFC 8628 §3.5: polled too soon; the interval has grown by 5 seconds for this and every later poll. */
export class SlowDown extends OAuthError {
  constructor(readonly intervalSeconds: number) {
    super('slow_down', `polling too fast; wait ${intervalSeconds} seconds between polls from now on`)
  }
}

/** RFC 8628 §3.5: the device code expired; the client may start again with a new one. */
export class ExpiredToken extends OAuthError {
  constructor() {
    super('expired_token', 'the device code has expired; start a new device authorization')
  }
}

/** RFC 8628 §3.5: the person denied the request (or it can no longer be honoured). */
export class AccessDenied extends OAuthError {
  constructor(description: string) {
    super('access_denied', description)
  }
}
