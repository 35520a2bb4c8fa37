import type { DeviceAuthorizations } from '../../domain/devices/device-authorizations.js'
import { formatUserCode } from '../../domain/devices/user-code.js'
import type { ActionContext } from '../../domain/context.js'
import { effectiveScopes } from '../../domain/scope-token.js'
import type { AuditRecorder } from '../../domain/audit/audit-log.js'
import type { AuthenticatedClient, ClientAuthenticator } from '../client-auth/authenticate.js'
import { InvalidClient, OAuthError, TooManyRequests, UnauthorizedClient } from '../errors.js'
import { parseResources } from '../resource.js'
import { narrowScope, parseScope } from '../scopes.js'

/** RFC 8628 §3.4: the grant type a client polls the token endpoint with. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/** RFC 8628 §3.2: the device authorization response. */
export interface DeviceAuthorizationResponse {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  expires_in: number
  interval: number
}

/** Where people type the user code: `{issuer}/device` (RFC 8628 §3.2 verification_uri). */
export function verificationUri(issuer: string): string {
  return `${issuer}/device`
}

/** A device authorization request as the HTTP edge hands it over (as for the token endpoint). */
export interface DeviceAuthorizationInput {
  authorization: string | undefined
  /** Reads the form; may throw invalid_request (not a form, a repeated parameter), refused and audited like any other error. */
  read(): { params: ReadonlyMap<string, string>; resources: readonly string[] }
  ctx: ActionContext
  /** The edge's authenticator, which applies the per-agent and failed-authentication limits. */
  clients: ClientAuthenticator
}

/**
 * RFC 8628 §3.1–3.2: an authenticated client (or a public one naming its client_id) asks for a
 * device code. Scope within the agent's (the role's ceiling applies); `resource` (RFC 8707)
 * binds the audience of the tokens the approval will yield. Refusals are audited.
 */
export function deviceAuthorizationEndpoint(deps: { devices: Pick<DeviceAuthorizations, 'start'>; audit: AuditRecorder; issuer(): string }) {
  return async function deviceAuthorization(input: DeviceAuthorizationInput): Promise<DeviceAuthorizationResponse> {
    let client: AuthenticatedClient | undefined
    try {
      const { params, resources } = input.read()
      // RFC 8628 §3.1: a public client names itself with client_id (RFC 6749 §2.1 lets it act here as at /token).
      client = await input.clients.authenticate(input.authorization, params, { allowPublic: true })
      return await start(client, params, resources, input.ctx)
    } catch (err) {
      // Rate-limit refusals are tallied (rate_limit.exceeded), never audited one by one.
      if (err instanceof OAuthError && !(err instanceof TooManyRequests)) {
        const tried = client?.agent.id ?? (err instanceof InvalidClient ? (err.clientId ?? null) : null)
        await deps.audit.record({
          actorType: client ? 'agent' : 'anonymous', actorId: client?.agent.id ?? null, ip: input.ctx.ip, requestId: input.ctx.requestId,
          action: 'device.authorization_refused', outcome: 'failure', reason: `${err.code}: ${err.description}`, target: tried, role: client?.role.name ?? null,
        })
      }
      throw err
    }
  }

  async function start(client: AuthenticatedClient, params: ReadonlyMap<string, string>, resources: readonly string[], ctx: ActionContext): Promise<DeviceAuthorizationResponse> {
    const { agent, role } = client
    // RFC 6749 §5.2 unauthorized_client: the client is not registered for the device grant.
    if (!agent.grantTypes.includes(DEVICE_CODE_GRANT)) throw new UnauthorizedClient(`this agent is not registered for the ${DEVICE_CODE_GRANT} grant`)
    const requested = params.get('scope')
    const scope = narrowScope(requested === undefined ? undefined : parseScope(requested), effectiveScopes(agent.scopes, role.scopes))
    const audience = parseResources(resources)
    const started = await deps.devices.start({ agent, role, scope, audience }, { ...ctx, actorType: 'agent', actorId: agent.id })
    const shown = formatUserCode(started.userCode)
    const uri = verificationUri(deps.issuer())
    return {
      device_code: started.deviceCode,
      user_code: shown,
      verification_uri: uri,
      // RFC 8628 §3.3.1: the code travels in the link; the page still asks the person to confirm it.
      verification_uri_complete: `${uri}?user_code=${shown}`,
      expires_in: started.expiresIn,
      interval: started.interval,
    }
  }
}
