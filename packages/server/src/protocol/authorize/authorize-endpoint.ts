import type { AuthorizationCodes } from '../../domain/authorizations/authorization-codes.js'
import type { ConsentOwner, ConsentService } from '../../domain/consents/consent-service.js'
import type { ActionContext } from '../../domain/context.js'
import type { Clock } from '../../ports/clock.js'
import type { User } from '../../ports/user-repo.js'
import type { UserSession } from '../../ports/user-session-repo.js'
import { OAuthError } from '../errors.js'
import { withResponseParams } from '../redirect-uri.js'
import { resolveClient, type AuthorizeClient, type ClientLookup, type ClientSeen } from './client-step.js'
import type { AuthorizeParams } from './read-params.js'
import { checkRequest, type AuthorizeRequest } from './request-steps.js'

/** The person signed in on this browser, and their sign-in session. */
export interface Person {
  user: User
  session: UserSession
}

export type Validation =
  /** The client or redirect URI is bad: say so on a page, never redirect (RFC 6749 §4.1.2.1). */
  | { kind: 'error-page'; error: OAuthError; seen: ClientSeen }
  | { kind: 'redirect'; location: string; error: OAuthError; client: AuthorizeClient }
  | { kind: 'valid'; request: AuthorizeRequest }

export type Decision =
  /** `refused`: the error sent back (login_required, consent_required); absent when a code is sent. */
  | { kind: 'redirect'; location: string; refused?: OAuthError }
  /** `fresh`: the person must sign in again even if signed in (prompt=login). */
  | { kind: 'sign-in'; fresh: boolean }
  | { kind: 'consent'; request: AuthorizeRequest; person: Person; owner: ConsentOwner }

export interface AuthorizeDeps {
  clients: ClientLookup
  consents: Pick<ConsentService, 'findLive' | 'ownerOf'>
  codes: Pick<AuthorizationCodes, 'issue'>
  issuer(): string
  clock: Clock
}

/** GET /authorize (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1) as ordered small steps. */
export function authorizeEndpoint(deps: AuthorizeDeps) {
  /** RFC 6749 §4.1.2.1 + RFC 9207 §2: error, description, state and iss on the client's redirect URI. */
  const errorRedirect = (client: Pick<AuthorizeClient, 'redirectUri'>, err: OAuthError, state: string | undefined): string =>
    withResponseParams(client.redirectUri, { error: err.code, error_description: err.description, state, iss: deps.issuer() })

  async function validate(params: AuthorizeParams): Promise<Validation> {
    let client: AuthorizeClient
    const seen: ClientSeen = {}
    try {
      client = await resolveClient(params, deps.clients, deps.clock.now(), seen)
    } catch (err) {
      if (err instanceof OAuthError) return { kind: 'error-page', error: err, seen }
      throw err
    }
    try {
      return { kind: 'valid', request: checkRequest(params, client) }
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err
      // RFC 6749 §4.1.2.1: the error carries the exact state sent; one that cannot be echoed (too long, repeated) gets the page instead.
      const state = stateOf(params)
      if (state === undefined && params.sent('state')) return { kind: 'error-page', error: err, seen }
      return { kind: 'redirect', location: errorRedirect(client, err, state), error: err, client }
    }
  }

  /** Who is signed in and what they consented to decide the next step (OIDC Core §3.1.2.1 prompt). */
  async function decide(request: AuthorizeRequest, person: Person | undefined, ctx: ActionContext): Promise<Decision> {
    const none = request.prompt.has('none')
    if (request.prompt.has('login')) return { kind: 'sign-in', fresh: true }
    if (!person) return none ? refuse(request, new OAuthError('login_required', 'the person is not signed in')) : { kind: 'sign-in', fresh: false }
    const consent = request.prompt.has('consent')
      ? null
      : await deps.consents.findLive({ userId: person.user.id, agentId: request.agent.id, roleName: request.role.name, scopes: request.scope })
    if (consent) return { kind: 'redirect', location: await issueCode(request, person, consent, ctx) }
    if (none) return refuse(request, new OAuthError('consent_required', 'the person has not consented to this request'))
    return { kind: 'consent', request, person, owner: await deps.consents.ownerOf(request.agent) }
  }

  const refuse = (request: AuthorizeRequest, error: OAuthError): Decision => ({ kind: 'redirect', location: errorRedirect(request, error, request.state), refused: error })

  /** RFC 6749 §4.1.2: the code, state and (RFC 9207) iss on the redirect URI. */
  async function issueCode(request: AuthorizeRequest, person: Person, consent: { id: string }, ctx: ActionContext): Promise<string> {
    const code = await deps.codes.issue({
      userId: person.user.id, agent: request.agent, consent, scope: request.scope, audience: request.audience,
      redirectUri: request.redirectUri, redirectUriSent: request.redirectUriSent, codeChallenge: request.codeChallenge,
      nonce: request.nonce ?? null, authTime: person.session.createdAt,
    }, ctx)
    return withResponseParams(request.redirectUri, { code, state: request.state, iss: deps.issuer() })
  }

  return { validate, decide, issueCode, errorRedirect }
}

export type AuthorizeEndpoint = ReturnType<typeof authorizeEndpoint>

function stateOf(params: AuthorizeParams): string | undefined {
  try {
    return params.get('state')
  } catch {
    return undefined
  }
}
