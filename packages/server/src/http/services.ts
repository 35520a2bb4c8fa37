import type { AdminCredentials } from '../domain/admin/admin-credentials.js'
import type { MetricsCredential } from '../domain/admin/metrics-credential.js'
import type { Readiness } from '../domain/readiness.js'
import type { AgentService } from '../domain/agents/agent-service.js'
import type { RegistrationService } from '../domain/agents/registration-service.js'
import type { RoleService } from '../domain/agents/role-service.js'
import type { AuditRecorder } from '../domain/audit/audit-log.js'
import type { VerifyResult } from '../domain/audit/verify.js'
import type { ActionContext } from '../domain/context.js'
import type { KeyService } from '../crypto/key-service.js'
import type { RevocationBroadcaster } from '../domain/revocations/revocation-broadcaster.js'
import type { SessionService } from '../domain/sessions/session-service.js'
import type { UserService } from '../domain/people/user-service.js'
import type { SignInService } from '../domain/people/sign-in-service.js'
import type { ConsentService } from '../domain/consents/consent-service.js'
import type { CsrfTokens } from '../crypto/csrf-tokens.js'
import type { Clock } from '../ports/clock.js'
import type { RevocationFeed } from '../ports/revocation-feed.js'
import type { sessionStart } from '../protocol/session-endpoint.js'
import type { AuditEvent, AuditQuery } from '../ports/audit-store.js'
import type { AuthenticatedClient, ClientAuthenticator } from '../protocol/client-auth/authenticate.js'
import type { TokenEndpointInput } from '../protocol/token-endpoint.js'
import type { TokenResponse } from '../protocol/grants/types.js'
import type { IntrospectionResponse } from '../protocol/introspection.js'
import type { PersonClaims } from '../protocol/oidc/claims.js'
import type { EdgeRateLimitDeps } from './rate-limit.js'
import type { AuthorizeEndpoint } from '../protocol/authorize/authorize-endpoint.js'
import type { consentAnswer } from '../protocol/authorize/consent-answer.js'
import type { RequestSeal } from '../protocol/authorize/sealed-request.js'
import type { DeviceAuthorizations } from '../domain/devices/device-authorizations.js'
import type { DeviceAuthorizationInput, DeviceAuthorizationResponse } from '../protocol/device/device-authorization-endpoint.js'
import type { ConsentOwner } from '../domain/consents/consent-service.js'
import type { Agent } from '../ports/agent-repo.js'
import type { RatePolicy } from '../ports/rate-limiter.js'

/** What the HTTP edge needs from the rest of the server, each by its narrowest interface. */
export interface HttpServices {
  issuer(): string
  keys: Pick<KeyService, 'jwks' | 'rotate'>
  clients: ClientAuthenticator
  token(input: TokenEndpointInput): Promise<TokenResponse>
  introspect(caller: AuthenticatedClient, params: ReadonlyMap<string, string>): Promise<IntrospectionResponse>
  /** OIDC Core §5.3: the person's claims for a Bearer access token (already taken off the request). */
  userInfo(accessToken: string): Promise<PersonClaims>
  revoke(caller: AuthenticatedClient, params: ReadonlyMap<string, string>, ctx: ActionContext): Promise<void>
  registration: RegistrationService
  roles: RoleService
  agents: AgentService
  users: Pick<UserService, 'create' | 'list' | 'get' | 'suspend' | 'resume'>
  /** People signing in and out, and their sessions. */
  signIn: Pick<SignInService, 'signIn' | 'current' | 'signOut'>
  /** Tokens for the forms of the sign-in and account pages. */
  csrf: CsrfTokens
  people: { idleSeconds: number }
  /** People's consents: the account pages and GET /admin/consents. */
  consents: Pick<ConsentService, 'listForUser' | 'exportForUser' | 'withdraw' | 'list' | 'status'>
  /** RFC 8628: POST /device_authorization (and its per-address limit), and the user-code pages. */
  device: {
    authorize(input: DeviceAuthorizationInput): Promise<DeviceAuthorizationResponse>
    addressRateLimit: RatePolicy
    flow: Pick<DeviceAuthorizations, 'lookup' | 'approve' | 'deny'>
    ownerOf(agent: Agent): Promise<ConsentOwner>
    consentValiditySeconds: number
  }
  /** GET /authorize and its consent form (the authorization code flow for people). */
  authorization: {
    endpoint: Pick<AuthorizeEndpoint, 'validate' | 'decide'>
    answer: ReturnType<typeof consentAnswer>
    seal: RequestSeal
    ownerOf(agent: Agent): Promise<ConsentOwner>
    consentValiditySeconds: number
  }
  admins: AdminCredentials
  audit: AuditRecorder
  auditLog: { query(q: AuditQuery): Promise<AuditEvent[]>; verify(): Promise<VerifyResult> }
  sessions: Pick<SessionService, 'getOwn' | 'heartbeat' | 'complete' | 'get' | 'list' | 'terminate'>
  startSession: ReturnType<typeof sessionStart>
  revocationFeed: RevocationFeed
  revocations: Pick<RevocationBroadcaster, 'subscribe'>
  clock: Clock
  /** Token buckets (in process or shared through Redis), where refusals are tallied, and the per-address limits. */
  rateLimits: Omit<EdgeRateLimitDeps, 'clients' | 'now'>
  /** Whether this node should get traffic (GET /readyz). */
  readiness: Pick<Readiness, 'check'>
  /** GET /metrics: who may read them, and the Prometheus text. */
  metrics: { credential: MetricsCredential; scrape(): Promise<{ contentType: string; body: string }> }
}
