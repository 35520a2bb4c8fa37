import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Person } from '../../protocol/authorize/authorize-endpoint.js'
import { AuthorizeParams } from '../../protocol/authorize/read-params.js'
import type { AuthorizeRequest } from '../../protocol/authorize/request-steps.js'
import { InvalidRequest } from '../../protocol/errors.js'
import { FormBody, MalformedForm, parseForm } from '../bodies.js'
import { Browser } from '../pages/browser.js'
import { consentPage, consentText } from '../pages/consent-view.js'
import { pageHeaders, PAGE_CSP } from '../pages/page-headers.js'
import { continuePage } from '../pages/redirect-view.js'
import { messagePage } from '../pages/views.js'
import { readForm } from '../request-readers.js'
import type { HttpServices } from '../services.js'
import { authorizeRefusals } from './authorize-refusals.js'

const HTML = 'text/html; charset=utf-8'
const CONSENT_PATH = '/authorize/consent'

declare module 'fastify' {
  interface FastifyReply {
    /** The consent page's form may end in a redirect to this origin (see consentCsp). */
    formActionSource?: string
  }
}

/** GET /authorize and the consent form's POST /authorize/consent: pages for people, errors as pages. */
export async function authorizeRoutes(app: FastifyInstance, s: HttpServices): Promise<void> {
  await app.register(async (pages) => {
    pages.addHook('onSend', pageHeaders)
    pages.addHook('onSend', consentCsp)
    const browser = new Browser(() => s.issuer(), s.csrf)
    // Every refusal is audited before it is shown (authorization.refused).
    const refusals = authorizeRefusals(s, browser)
    pages.setErrorHandler(refusals.errorHandler())

    // OIDC Core §3.1.2.1: the authorization endpoint MUST support GET and POST (a form body, the same parameters).
    // No automatic HEAD twin: a HEAD that issued a code would hand it to nobody (see the HEAD route below).
    pages.route({ method: ['GET', 'POST'], url: '/authorize', exposeHeadRoute: false, handler: async (request, reply) => {
      const { query, params } = readAuthorizeQuery(request)
      const validation = await s.authorization.endpoint.validate(params)
      if (validation.kind === 'error-page') {
        request.authorizeRefusal = { agent: validation.seen.agent, redirectUri: validation.seen.redirectUri ?? 'unchecked' }
        throw validation.error
      }
      if (validation.kind === 'redirect') {
        await refusals.record(request, validation.error, { agent: validation.client.agent, redirectUri: 'valid' }, 'redirect')
        return toClient(request, reply, s, validation.location, undefined)
      }
      const { request: authz } = validation
      const secret = browser.sessionSecret(request)
      const person = secret === undefined ? undefined : await s.signIn.current(secret, ctx(request))
      const decision = await s.authorization.endpoint.decide(authz, person, { actorType: person ? 'human' : 'anonymous', actorId: person?.user.id ?? null, ...ctx(request) })
      switch (decision.kind) {
        case 'redirect':
          if (decision.refused) await refusals.record(request, decision.refused, { agent: authz.agent, redirectUri: 'valid', userId: person?.user.id ?? null }, 'redirect')
          return toClient(request, reply, s, decision.location, authz)
        case 'sign-in': {
          // OIDC Core §3.1.2.1 prompt=login: end this sign-in, then come back without the prompt,
          // so the sign-in that follows (and its auth_time) is after this request.
          if (decision.fresh && secret !== undefined) await s.signIn.signOut(secret, ctx(request))
          if (decision.fresh || (secret !== undefined && !person)) browser.endSession(reply)
          const back = `/authorize?${decision.fresh ? withoutPromptLogin(query) : query}`
          return reply.code(303).header('location', `${s.issuer()}/login?return_to=${encodeURIComponent(back)}`).send()
        }
        case 'consent':
          return showConsent(reply, s, browser, request, decision.request, decision.person)
      }
    } })

    // RFC 9110 §9.3.2: HEAD answers as GET would, without content; being safe, it never signs anyone out nor issues a code,
    // so a request that GET would carry on (sign-in, consent page, code) answers 200.
    pages.head('/authorize', async (request, reply) => {
      const validation = await s.authorization.endpoint.validate(readAuthorizeQuery(request).params)
      // Refused as GET would be, and audited as GET is.
      if (validation.kind === 'error-page') {
        request.authorizeRefusal = { agent: validation.seen.agent, redirectUri: validation.seen.redirectUri ?? 'unchecked' }
        throw validation.error
      }
      if (validation.kind === 'redirect') {
        await refusals.record(request, validation.error, { agent: validation.client.agent, redirectUri: 'valid' }, 'redirect')
        return reply.code(302).header('location', validation.location).send()
      }
      return reply.code(200).type(HTML).send()
    })

    pages.post(CONSENT_PATH, async (request, reply) => {
      const { params } = readForm(request)
      const refused = browser.refusePost(request, params.get('csrf_token'))
      if (refused !== undefined) {
        await s.audit.record({ actorType: 'anonymous', actorId: null, action: 'authorization.consent', outcome: 'failure', reason: refused, ...ctx(request), details: { check: 'csrf' } })
        request.errorCode = 'access_denied'
        return reply.code(403).type(HTML).send(messagePage(s.issuer(), 'This form cannot be used', 'The form has expired or did not come from this site. Go back to the application and start again.'))
      }
      const secret = browser.sessionSecret(request)
      const person = secret === undefined ? undefined : await s.signIn.current(secret, ctx(request))
      if (!person) throw new InvalidRequest('you are no longer signed in; go back to the application and start again')
      const digestNow = async (authz: AuthorizeRequest) => (await textFor(s, authz)).digest
      const answer = await s.authorization.answer({ sealed: params.get('request'), decision: params.get('decision'), person, digestNow }, { actorType: 'human', actorId: person.user.id, ...ctx(request) })
      if (answer.kind === 'answered') {
        await s.audit.record({ actorType: 'human', actorId: person.user.id, action: 'authorization.consent', outcome: 'failure', reason: 'the consent form was already answered', ...ctx(request), details: { check: 'answered' } })
        request.errorCode = 'invalid_request'
        return reply.code(409).type(HTML).send(messagePage(s.issuer(), 'Already answered', 'You have already answered this request; nothing was changed. Go back to the application, and start again from there if you need to.'))
      }
      if (answer.kind === 'changed') return showConsent(reply, s, browser, request, answer.request, person, 'What this agent asks for has changed since the page was shown. Read it again before you answer.')
      // RFC 9110 §15.4.4: 303, so the browser GETs the redirect URI. The consent page's CSP allows this origin.
      return reply.code(303).header('location', answer.location).send()
    })
  })
}

async function textFor(s: HttpServices, authz: AuthorizeRequest) {
  const owner = await s.authorization.ownerOf(authz.agent)
  return consentText({ agent: authz.agent, owner, role: authz.role, scopes: authz.scope, purposes: authz.role.purposes, validDays: Math.round(s.authorization.consentValiditySeconds / 86_400) })
}

async function showConsent(reply: FastifyReply, s: HttpServices, browser: Browser, request: FastifyRequest, authz: AuthorizeRequest, person: Person, error?: string) {
  const text = await textFor(s, authz)
  const sealed = s.authorization.seal.seal(authz, { userId: person.user.id, sessionId: person.session.id, authTime: person.session.createdAt }, text.digest, s.clock.now())
  reply.formActionSource = formActionSource(authz.redirectUri)
  return reply.code(200).type(HTML).send(consentPage({ issuer: s.issuer(), text, formAction: CONSENT_PATH, hidden: { request: sealed }, csrfToken: browser.formToken(request, reply), error }))
}

/**
 * A redirect to the client. Inside a redirect chain begun by one of our own forms (the sign-in
 * page: Sec-Fetch-Site same-origin), Chromium would block a 302 to another origin under
 * form-action 'self'; a page that moves on by itself is sent instead.
 */
function toClient(request: FastifyRequest, reply: FastifyReply, s: HttpServices, location: string, authz: AuthorizeRequest | undefined) {
  if (request.headers['sec-fetch-site'] === 'same-origin') {
    const name = typeof authz?.agent.metadata.client_name === 'string' ? authz.agent.metadata.client_name : 'the application'
    return reply.code(200).type(HTML).send(continuePage(s.issuer(), location, name))
  }
  // RFC 9110 §15.4.4: after a POST /authorize, 303 so the browser GETs the redirect URI.
  return reply.code(request.method === 'POST' ? 303 : 302).header('location', location).send()
}

/**
 * The raw query, parsed strictly (RFC 6749 §3.1: unknown parameters are ignored, not refused); for
 * POST the form body instead, re-encoded as the query a GET would carry (sign-in comes back by GET).
 */
function readAuthorizeQuery(request: FastifyRequest): { query: string; params: AuthorizeParams } {
  if (request.method === 'POST') {
    if (request.body instanceof MalformedForm) throw request.body.error
    if (!(request.body instanceof FormBody)) throw new InvalidRequest('POST /authorize takes an application/x-www-form-urlencoded body')
    const values = request.body.values
    const query = [...values].flatMap(([name, all]) => all.map((v) => `${encodeURIComponent(name)}=${encodeURIComponent(v)}`)).join('&')
    return { query, params: new AuthorizeParams(values, query.length) }
  }
  const q = request.url.indexOf('?')
  const query = q < 0 ? '' : request.url.slice(q + 1)
  try {
    return { query, params: new AuthorizeParams(parseForm(query), query.length) }
  } catch {
    throw new InvalidRequest('the query string has malformed percent-encoding or invalid UTF-8')
  }
}

function withoutPromptLogin(query: string): string {
  const sp = new URLSearchParams(query)
  const prompt = (sp.get('prompt') ?? '').split(' ').filter((p) => p !== '' && p !== 'login')
  if (prompt.length === 0) sp.delete('prompt')
  else sp.set('prompt', prompt.join(' '))
  return sp.toString()
}

/** CSP source for where the consent form's answer redirects: the redirect URI's origin (or its private-use scheme). */
function formActionSource(redirectUri: string): string {
  const url = new URL(redirectUri)
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol
}

/**
 * The consent page's form posts here and is answered with a 303 to the client's redirect URI.
 * Chromium checks form-action against every redirect of a form submission, so the consent page
 * (only it) names that one origin beside 'self'; every other page keeps form-action 'self'.
 */
async function consentCsp(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (reply.formActionSource === undefined) return
  reply.header('content-security-policy', PAGE_CSP.replace("form-action 'self'", `form-action 'self' ${reply.formActionSource}`))
}

function ctx(request: FastifyRequest) {
  return { ip: request.ip, requestId: request.id }
}
