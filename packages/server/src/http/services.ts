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
import type { CsrfTokens } from '../crypto/csrf-tokens.js'
import type { Clock } from '../ports/clock.js'
import type { RevocationFeed } from '../ports/revocation-feed.js'
import type { sessionStart } from '../protocol/session-endpoint.js'
import type { AuditEvent, AuditQuery } from '../ports/audit-store.js'
import type { AuthenticatedClient, ClientAuthenticator } from '../protocol/client-auth/authenticate.js'
import type { TokenEndpointInput } from '../protocol/token-endpoint.js'
import type { TokenResponse } from '../protocol/grants/types.js'
import type { IntrospectionResponse } from '../protocol/introspection.js'
import type { EdgeRateLimitDeps } from './rate-limit.js'

/** What the HTTP edge needs from the rest of the server, each by its narrowest interface. */
export interface HttpServices {
  issuer(): string
  keys: Pick<KeyService, 'jwks' | 'rotate'>
  clients: ClientAuthenticator
  token(input: TokenEndpointInput): Promise<TokenResponse>
  introspect(caller: AuthenticatedClient, params: ReadonlyMap<string, string>): Promise<IntrospectionResponse>
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
