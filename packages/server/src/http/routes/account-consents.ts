import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ActionContext } from '../../domain/context.js'
import { ConsentNotFound } from '../../domain/errors.js'
import type { User } from '../../ports/user-repo.js'
import { InvalidRequest } from '../../protocol/errors.js'
import { consentReceiptJson } from '../consent-json.js'
import type { Browser, PostRefusal } from '../pages/browser.js'
import { consentsPage } from '../pages/consents-view.js'
import { messagePage } from '../pages/views.js'
import { readForm, readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'

const HTML = 'text/html; charset=utf-8'
const PAGE_SIZE = 100
export const CONSENT_ID = /^cns_[A-Za-z0-9_-]{1,100}$/
const NOTICES: Record<string, string> = {
  withdrawn: 'Your consent is withdrawn. The agent can no longer act for you under it.',
  already_withdrawn: 'That consent had already been withdrawn; nothing changed.',
}

/** GET /account/consents, POST /account/consents/withdraw, GET /account/consents/export. */
export function accountConsentRoutes(app: FastifyInstance, s: HttpServices, browser: Browser): void {
  app.get('/account/consents', async (request, reply) => {
    const noticeKey = readQuery(request, ['notice']).get('notice')
    if (noticeKey !== undefined && NOTICES[noticeKey] === undefined) throw new InvalidRequest(`notice must be one of ${Object.keys(NOTICES).join(', ')}`)
    const user = await signedIn(request, reply, s, browser, '/account/consents')
    if (!user) return reply
    const rows = await s.consents.listForUser(user.id, { limit: PAGE_SIZE + 1 })
    const consents = rows.slice(0, PAGE_SIZE).map((consent) => ({ consent, status: s.consents.status(consent) }))
    const page = consentsPage({ issuer: s.issuer(), csrfToken: browser.formToken(request, reply), consents, more: rows.length > PAGE_SIZE, notice: noticeKey && NOTICES[noticeKey] })
    return reply.type(HTML).send(page)
  })

  app.get('/account/consents/export', async (request, reply) => {
    readQuery(request, [])
    const user = await signedIn(request, reply, s, browser, '/account/consents/export')
    if (!user) return reply
    const consents = await s.consents.exportForUser(user.id)
    const body = {
      issuer: s.issuer(),
      user_id: user.id,
      username: user.username,
      exported_at: new Date(s.clock.now()).toISOString(),
      consents: consents.map((c) => consentReceiptJson(c, s.consents.status(c))),
    }
    return reply
      .type('application/json; charset=utf-8')
      .header('content-disposition', 'attachment; filename="mandate-consents.json"')
      .send(JSON.stringify(body, null, 2))
  })

  app.post('/account/consents/withdraw', async (request, reply) => {
    const { params } = readForm(request)
    const refused = browser.refusePost(request, params.get('csrf_token'))
    if (refused !== undefined) return refuseForm(request, reply, s, refused)
    const user = await signedIn(request, reply, s, browser, '/account/consents')
    if (!user) return reply
    const id = params.get('consent')
    const ctx: ActionContext = { actorType: 'human', actorId: user.id, ip: request.ip, requestId: request.id }
    // A refused withdrawal is audited as the person, with why; never the text posted when it is not a consent id.
    const refuse = (reason: string, target: string | null) => s.audit.record({ ...ctx, action: 'consent.withdrawn', outcome: 'failure', reason, target, details: { check: 'consent' } })
    if (id === undefined || !CONSENT_ID.test(id)) {
      await refuse(id === undefined ? 'no consent named' : 'not a consent id', null)
      throw new InvalidRequest('consent must be the id of one of your consents (cns_…)')
    }
    let changed: boolean
    try {
      ;({ changed } = await s.consents.withdraw(user.id, id, ctx))
    } catch (err) {
      // Someone else's consent, or none: 404 and nothing changed.
      if (err instanceof ConsentNotFound) await refuse('no such consent of this person', id)
      throw err
    }
    // RFC 9110 §15.4.4: 303 turns the POST into a GET of the list, which says what happened.
    return reply.code(303).header('location', `${s.issuer()}/account/consents?notice=${changed ? 'withdrawn' : 'already_withdrawn'}`).send()
  })
}

/** The signed-in person; otherwise answers with a redirect to the sign-in page and returns undefined. */
async function signedIn(request: FastifyRequest, reply: FastifyReply, s: HttpServices, browser: Browser, returnTo: string): Promise<User | undefined> {
  const secret = browser.sessionSecret(request)
  const current = secret === undefined ? undefined : await s.signIn.current(secret, { ip: request.ip, requestId: request.id })
  if (current) return current.user
  // A dead session's cookie goes with the redirect.
  if (secret !== undefined) browser.endSession(reply)
  reply.code(303).header('location', `${s.issuer()}/login?return_to=${encodeURIComponent(returnTo)}`).send()
  return undefined
}

/** A form post from another site or without its token: 403, nothing done, and audited. */
async function refuseForm(request: FastifyRequest, reply: FastifyReply, s: HttpServices, why: PostRefusal) {
  await s.audit.record({ actorType: 'anonymous', actorId: null, action: 'consent.withdrawn', outcome: 'failure', reason: why, ip: request.ip, requestId: request.id, details: { check: 'csrf' } })
  request.errorCode = 'access_denied'
  return reply.code(403).type(HTML).send(messagePage(s.issuer(), 'This form cannot be used', 'The form has expired or did not come from this site. Go back, reload the page and try again.'))
}
