import { isAgentUsable } from '../../domain/agents/agent-directory.js'
import type { ConsentService } from '../../domain/consents/consent-service.js'
import type { ActionContext } from '../../domain/context.js'
import { effectiveScopes } from '../../domain/scope-token.js'
import type { Agent } from '../../ports/agent-repo.js'
import type { Clock } from '../../ports/clock.js'
import type { ConsentFormRepo } from '../../ports/consent-form-repo.js'
import type { Role } from '../../ports/role-repo.js'
import { InvalidRequest, OAuthError } from '../errors.js'
import { matchRedirectUri } from '../redirect-uri.js'
import type { AuthorizeEndpoint, Person } from './authorize-endpoint.js'
import type { ClientLookup } from './client-step.js'
import type { AuthorizeRequest } from './request-steps.js'
import type { RequestSeal } from './sealed-request.js'

export type ConsentAnswer =
  | { kind: 'redirect'; location: string }
  /** What the page said no longer matches what would be said now (the role's purposes changed): show it again. */
  | { kind: 'changed'; request: AuthorizeRequest }
  /** This form was answered before (here or on another node): nothing is done again. */
  | { kind: 'answered' }

export interface ConsentAnswerDeps {
  seal: RequestSeal
  clients: ClientLookup
  consents: Pick<ConsentService, 'grant'>
  endpoint: Pick<AuthorizeEndpoint, 'issueCode' | 'errorRedirect'>
  /** Where answers are recorded, so each form gives at most one consent and one code. */
  forms: Pick<ConsentFormRepo, 'claim'>
  clock: Clock
}

/**
 * The consent form's answer. The sealed request must be this person's, from this sign-in session,
 * and unexpired; the client is read again (it may have been suspended meanwhile). Deny sends
 * access_denied (RFC 6749 §4.1.2.1); approve records the consent and sends a code.
 */
export function consentAnswer(deps: ConsentAnswerDeps) {
  return async function answer(
    input: { sealed: string | undefined; decision: string | undefined; person: Person; digestNow(request: AuthorizeRequest): Promise<string> },
    ctx: ActionContext,
  ): Promise<ConsentAnswer> {
    const sealed = deps.seal.open(input.sealed, deps.clock.now())
    if (sealed.userId !== input.person.user.id || sealed.sessionId !== input.person.session.id) throw new InvalidRequest('this consent form was made for another sign-in; start again from the application')
    if (input.decision !== 'approve' && input.decision !== 'deny') throw new InvalidRequest('decision must be approve or deny')
    const { agent, role } = await client(sealed.clientId)
    // The registration may have changed since the page was shown (RFC 7592): never send anything to a URI it no longer lists.
    const registered = Array.isArray(agent.metadata.redirect_uris) ? (agent.metadata.redirect_uris as string[]) : []
    if (matchRedirectUri(registered, sealed.redirectUri) === undefined) throw new InvalidRequest('the application no longer uses this redirect URI; start again from the application')
    const request: AuthorizeRequest = {
      agent, role, redirectUri: sealed.redirectUri, redirectUriSent: sealed.redirectUriSent, state: sealed.state, scope: sealed.scope,
      audience: sealed.audience, codeChallenge: sealed.codeChallenge, nonce: sealed.nonce, prompt: new Set(),
    }
    // Every final answer first records the form as answered, atomically: a replayed or concurrent post of the same form gets nothing.
    const firstAnswer = () => deps.forms.claim(sealed.formId, deps.clock.now(), sealed.expiresAt)
    if (input.decision === 'deny') {
      if (!(await firstAnswer())) return { kind: 'answered' }
      return { kind: 'redirect', location: deps.endpoint.errorRedirect(request, new OAuthError('access_denied', 'the person denied the request'), request.state) }
    }
    // The role's ceiling may have come down since the page was shown: never grant beyond it.
    const ceiling = new Set(effectiveScopes(agent.scopes, role.scopes))
    if (!request.scope.every((s) => ceiling.has(s))) {
      if (!(await firstAnswer())) return { kind: 'answered' }
      return { kind: 'redirect', location: deps.endpoint.errorRedirect(request, new OAuthError('invalid_scope', 'the client may no longer hold every scope requested'), request.state) }
    }
    if ((await input.digestNow(request)) !== sealed.textDigest) return { kind: 'changed', request }
    if (!(await firstAnswer())) return { kind: 'answered' }
    const consent = await deps.consents.grant({ userId: input.person.user.id, agent, role, scopes: request.scope, textDigest: sealed.textDigest }, { ...ctx, actorType: 'human', actorId: input.person.user.id })
    return { kind: 'redirect', location: await deps.endpoint.issueCode(request, { ...input.person, session: { ...input.person.session, createdAt: sealed.authTime } }, consent, ctx) }
  }

  async function client(id: string): Promise<{ agent: Agent; role: Role }> {
    const agent = await deps.clients.find(id)
    const role = agent && isAgentUsable(agent, deps.clock.now()) ? await deps.clients.role(agent.role) : undefined
    if (!agent || !role) throw new OAuthError('invalid_client', 'the client can no longer be used', 400)
    return { agent, role }
  }
}
