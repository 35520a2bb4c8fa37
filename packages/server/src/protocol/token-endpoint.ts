import { auditActor } from '../domain/agents/agent-service.js'
import type { AuditRecorder } from '../domain/audit/audit-log.js'
import type { ActionContext } from '../domain/context.js'
import { noMetrics, type TokenMetrics } from '../ports/metrics.js'
import type { ClientAuthenticator } from './client-auth/authenticate.js'
import { DomainError } from '../domain/errors.js'
import { oauthErrorFor } from './domain-errors.js'
import { InvalidClient, OAuthError, InvalidRequest, TooManyRequests, UnauthorizedClient, UnsupportedGrantType } from './errors.js'
import type { GrantHandler, TokenResponse } from './grants/types.js'

export interface TokenEndpointInput {
  authorization: string | undefined
  /**
   * Reads the request's parameters; it may throw invalid_request (not a form, a repeated
   * parameter), which is refused and audited like any other token error.
   */
  read(): { params: ReadonlyMap<string, string>; resources: readonly string[] }
  ctx: ActionContext
  /** Authenticates the client for this request (the HTTP edge's, which applies rate limits); default: the endpoint's own. */
  clients?: ClientAuthenticator
}

/** RFC 6749 §3.2: validates the request, authenticates the client, runs the grant, audits either way. */
export function tokenEndpoint(deps: { grants: ReadonlyMap<string, GrantHandler>; clients: ClientAuthenticator; audit: AuditRecorder; metrics?: TokenMetrics }) {
  const metrics = deps.metrics ?? noMetrics.tokens
  return async function token(input: TokenEndpointInput): Promise<TokenResponse> {
    let clientId: string | null = null
    let role: string | null = null
    let grantType: string | undefined
    try {
      const { params, resources } = input.read()
      grantType = params.get('grant_type')
      if (grantType === undefined) throw new InvalidRequest('grant_type is required')
      // Public clients (RFC 6749 §2.1) may use the grants they registered for: never client_credentials.
      const client = await (input.clients ?? deps.clients).authenticate(input.authorization, params, { allowPublic: true })
      clientId = client.agent.id
      role = client.role.name
      const handler = deps.grants.get(grantType)
      if (!handler) throw new UnsupportedGrantType(`grant_type ${grantType.slice(0, 64)} is not supported`)
      if (!client.agent.grantTypes.includes(grantType)) throw new UnauthorizedClient(`this agent is not registered for the ${grantType} grant`)
      const { response, audit } = await handler.handle({ grantType, client, params, resources, ctx: input.ctx })
      await deps.audit.record({ ...auditActor({ ...input.ctx, actorType: 'agent', actorId: clientId }), action: 'token.issued', outcome: 'success', target: audit.target, role, details: audit.details })
      metrics.issued(grantType, role)
      return response
    } catch (thrown) {
      // A grant's domain refusal (a person's refresh token or code: unknown, expired, reused, ended) is audited as its wire error.
      const err = thrown instanceof DomainError ? refusalOf(thrown) : thrown
      // A request refused by a rate limit is counted and audited in aggregate (rate_limit.exceeded), never one row each.
      // RFC 8628 §3.5: authorization_pending is a device's normal poll, not a refusal (its start and decision are audited).
      if (err instanceof OAuthError && !(err instanceof TooManyRequests) && err.code !== 'authorization_pending') {
        // An unauthenticated caller is anonymous; the client it tried to be is the target.
        const tried = clientId ?? (err instanceof InvalidClient ? err.clientId ?? null : null)
        await deps.audit.record({
          ...auditActor({ ...input.ctx, actorType: clientId ? 'agent' : 'anonymous', actorId: clientId }),
          action: 'token.refused', outcome: 'failure', reason: `${err.code}: ${err.description}`, role, target: tried,
          details: { grant_type: grantType?.slice(0, 64) ?? null, ...(err.detail ? { detail: err.detail } : {}) },
        })
      }
      throw thrown
    }
  }
}

/** The wire error of a domain refusal; an unexpected domain error (a bug, answered 500) is no refusal. */
function refusalOf(err: DomainError): OAuthError | DomainError {
  const wire = oauthErrorFor(err)
  return wire.status < 500 ? wire : err
}
