import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { InvalidRequest } from '../../protocol/errors.js'
import { addressKey } from '../address-key.js'
import type { Browser, PostRefusal } from '../pages/browser.js'
import { safeReturnTo } from '../pages/return-to.js'
import { messagePage, signInPage } from '../pages/views.js'
import { readForm, readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'

const HTML = 'text/html; charset=utf-8'
const DEFAULT_RETURN = '/account'

/** GET and POST /login (sign in with a username and password), POST /logout. */
export function signInRoutes(app: FastifyInstance, s: HttpServices, browser: Browser): void {
  app.get('/login', async (request, reply) => {
    const returnTo = returnToParam(readQuery(request, ['return_to']).get('return_to'))
    const secret = browser.sessionSecret(request)
    if (secret !== undefined && (await s.signIn.current(secret, ctx(request)))) return redirect(reply, s, returnTo ?? DEFAULT_RETURN)
    return reply.type(HTML).send(signInPage({ issuer: s.issuer(), csrfToken: browser.formToken(request, reply), returnTo }))
  })

  app.post('/login', async (request, reply) => {
    const { params } = readForm(request)
    const refused = browser.refusePost(request, params.get('csrf_token'))
    if (refused !== undefined) return refuseForm(request, reply, s, 'user.signin', refused)
    const returnTo = returnToParam(params.get('return_to'))
    const username = params.get('username')
    const password = params.get('password')
    const form = (status: number, error: string) =>
      reply.code(status).type(HTML).send(signInPage({ issuer: s.issuer(), csrfToken: browser.formToken(request, reply), returnTo, username, error }))
    if (username === undefined || password === undefined) return form(400, 'Enter your username and your password.')
    const result = await s.signIn.signIn({ username, password, ip: request.ip, addressKey: addressKey(request.ip), requestId: request.id, previousSecret: browser.sessionSecret(request) })
    switch (result.outcome) {
      case 'signed_in':
        // A new session id at every sign-in (OWASP Session Management: renew the id on any privilege change).
        browser.startSession(reply, result.secret, Math.ceil((result.session.absoluteExpiresAt - result.session.createdAt) / 1000))
        return redirect(reply, s, returnTo ?? DEFAULT_RETURN)
      case 'throttled':
        reply.header('retry-after', String(result.retryAfterSeconds))
        return form(429, `Too many sign-in attempts. Wait ${minutesOrSeconds(result.retryAfterSeconds)} and try again.`)
      case 'suspended':
        return form(403, 'This account is suspended. Ask your administrator.')
      case 'refused':
        // One message for a wrong password and an unknown username: nobody learns which usernames exist.
        return form(403, 'The username or password is not right.')
    }
  })

  app.post('/logout', async (request, reply) => {
    const { params } = readForm(request)
    const refused = browser.refusePost(request, params.get('csrf_token'))
    if (refused !== undefined) return refuseForm(request, reply, s, 'user.signout', refused)
    const secret = browser.sessionSecret(request)
    if (secret !== undefined) await s.signIn.signOut(secret, ctx(request))
    browser.endSession(reply)
    return redirect(reply, s, '/login')
  })
}

/** A form post from another site or without its token: 403, nothing done, and audited. */
async function refuseForm(request: FastifyRequest, reply: FastifyReply, s: HttpServices, action: string, why: PostRefusal) {
  await s.audit.record({ actorType: 'anonymous', actorId: null, action, outcome: 'failure', reason: why, ip: request.ip, requestId: request.id, details: { check: 'csrf' } })
  request.errorCode = 'access_denied'
  return reply
    .code(403)
    .type(HTML)
    .send(messagePage(s.issuer(), 'This form cannot be used', 'The form has expired or did not come from this site. Go back, reload the page and try again.'))
}

/** RFC 9110 §15.4.4: 303 turns the POST into a GET of the next page. Always a URL on this server. */
function redirect(reply: FastifyReply, s: HttpServices, path: string) {
  return reply.code(303).header('location', s.issuer() + path).send()
}

function returnToParam(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  const path = safeReturnTo(raw)
  if (path === undefined) throw new InvalidRequest('return_to must be a path on this server, such as /account')
  return path
}

function ctx(request: FastifyRequest) {
  return { ip: request.ip, requestId: request.id }
}

function minutesOrSeconds(seconds: number): string {
  return seconds < 120 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`
}
