import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Agent } from '../../ports/agent-repo.js'
import { TooManyRequests, type OAuthError } from '../../protocol/errors.js'
import { FormBody } from '../bodies.js'
import { toOAuthError } from '../error-response.js'
import type { Browser } from '../pages/browser.js'
import { sendPageError } from '../pages/page-errors.js'
import type { HttpServices } from '../services.js'

/** What /authorize had established about a request when it refused it. */
export interface RefusalFacts {
  agent?: Pick<Agent, 'id' | 'role'>
  /** `unchecked` when the refusal came before the redirect URI was looked at. */
  redirectUri: 'valid' | 'invalid' | 'unchecked'
  /** The signed-in person once looked up (null: nobody); looked up here when absent. */
  userId?: string | null
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by /authorize before it throws a refusal shown as a page, for its audit event. */
    authorizeRefusal?: RefusalFacts
  }
}

/**
 * Every refused authorization request is audited (`authorization.refused`), once, before the
 * answer: the error, the client when known, whether the redirect URI was valid, the address, and
 * the person when one is signed in. Never the state, the code challenge, the nonce or the query.
 * A flood stays bounded: /authorize is limited per address, and 429s are tallied, not audited here.
 */
export function authorizeRefusals(s: HttpServices, browser: Browser) {
  async function record(request: FastifyRequest, err: OAuthError, facts: RefusalFacts, answered: 'page' | 'redirect'): Promise<void> {
    const userId = facts.userId !== undefined ? facts.userId : await signedIn(request)
    await s.audit.record({
      actorType: userId ? 'human' : 'anonymous', actorId: userId ?? null, ip: request.ip, requestId: request.id,
      action: 'authorization.refused', outcome: 'failure', reason: `${err.code}: ${err.description}`,
      target: facts.agent?.id ?? null, role: facts.agent?.role ?? null,
      details: { error: err.code, client_id: facts.agent?.id ?? presentedClientId(request), redirect_uri: facts.redirectUri, answered, endpoint: `${request.method} ${request.routeOptions.url ?? '?'}` },
    })
  }

  /** The person behind the browser's sign-in cookie, if the session is live (a refusal before the lookup). */
  async function signedIn(request: FastifyRequest): Promise<string | undefined> {
    const secret = browser.sessionSecret(request)
    if (secret === undefined) return undefined
    return (await s.signIn.current(secret, { ip: request.ip, requestId: request.id }))?.user.id
  }

  /** The pages' error handler, auditing each refusal first; rate-limit refusals are tallied instead. */
  function errorHandler() {
    const send = sendPageError(() => s.issuer())
    return async (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
      const e = toOAuthError(err)
      if (e.status < 500 && !(e instanceof TooManyRequests)) await record(request, e, request.authorizeRefusal ?? { redirectUri: 'unchecked' }, 'page')
      return send(err, request, reply)
    }
  }

  return { record, errorHandler }
}

/** The client_id the request named, when it is one short printable value (it may name no client). */
function presentedClientId(request: FastifyRequest): string | null {
  const q = request.url.indexOf('?')
  const values = q < 0 ? [] : new URLSearchParams(request.url.slice(q + 1)).getAll('client_id')
  if (values.length === 0 && request.body instanceof FormBody) values.push(...(request.body.values.get('client_id') ?? []))
  const id = values.length === 1 ? values[0]! : undefined
  return id !== undefined && /^[\x21-\x7e]{1,128}$/.test(id) ? id : null
}
