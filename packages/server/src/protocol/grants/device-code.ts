import type { ActionContext } from '../../domain/context.js'
import type { DevicePolling } from '../../domain/devices/device-polling.js'
import type { Consent } from '../../ports/consent-repo.js'
import type { DeviceCode } from '../../ports/device-code-repo.js'
import type { User } from '../../ports/user-repo.js'
import type { AuthenticatedClient } from '../client-auth/authenticate.js'
import { DEVICE_CODE_GRANT } from '../device/device-authorization-endpoint.js'
import { AccessDenied, AuthorizationPending, ExpiredToken, SlowDown } from '../device/errors.js'
import { InvalidGrant, InvalidRequest } from '../errors.js'
import type { GrantHandler, TokenResponse } from './types.js'

/** Device codes are `mdd_` + 43 characters; anything much longer is not one and is not looked up. */
const MAX_DEVICE_CODE = 128

/** Issues a person's tokens for an approved device request (the authorization piece's grants and refresh tokens). */
export interface DeviceTokenIssuer {
  issue(
    input: { code: DeviceCode; user: User; consent: Consent; client: AuthenticatedClient },
    ctx: ActionContext,
  ): Promise<{ response: TokenResponse; audit: { target: string; details: Record<string, unknown> } }>
}

/**
 * RFC 8628 §3.4–3.5: the client polls with its device code. Until the person decides it gets
 * authorization_pending (slow_down when it polls faster than its interval); then tokens once,
 * or access_denied; expired_token once the code has expired. A second exchange is invalid_grant.
 */
export function deviceCodeGrant(deps: { polling: Pick<DevicePolling, 'poll'>; issuer: DeviceTokenIssuer }): GrantHandler {
  return {
    grantType: DEVICE_CODE_GRANT,
    async handle({ client, params, ctx }) {
      const deviceCode = params.get('device_code')
      if (deviceCode === undefined) throw new InvalidRequest('device_code is required') // RFC 8628 §3.4
      if (deviceCode.length > MAX_DEVICE_CODE) throw new InvalidGrant('the device code is not valid for this client')
      const outcome = await deps.polling.poll({ agentId: client.agent.id, roleName: client.role.name }, deviceCode)
      switch (outcome.kind) {
        case 'pending':
          throw new AuthorizationPending()
        case 'slow_down':
          throw new SlowDown(outcome.intervalSeconds)
        case 'expired':
          throw new ExpiredToken()
        case 'denied':
          throw new AccessDenied(outcome.reason)
        case 'invalid':
          throw new InvalidGrant(outcome.reason)
        case 'approved': {
          const { code, user, consent } = outcome
          const issued = await deps.issuer.issue({ code, user, consent, client }, { ...ctx, actorType: 'agent', actorId: client.agent.id })
          return { response: issued.response, audit: { target: issued.audit.target, details: { ...issued.audit.details, grant_type: DEVICE_CODE_GRANT, device_authorization: code.id } } }
        }
      }
    },
  }
}
