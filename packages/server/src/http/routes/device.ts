import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { FoundDeviceCode } from '../../domain/devices/device-authorizations.js'
import { formatUserCode, normaliseUserCode } from '../../domain/devices/user-code.js'
import { InvalidRequest } from '../../protocol/errors.js'
import { addressKey } from '../address-key.js'
import type { Browser } from '../pages/browser.js'
import { deviceCodePage, deviceDonePage } from '../pages/device-view.js'
import { messagePage } from '../pages/views.js'
import { readForm, readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'
import { deviceConsent } from './device-consent.js'

const HTML = 'text/html; charset=utf-8'

/**
 * RFC 8628 §3.3: the user-code page. GET /device shows the form (pre-filled from
 * verification_uri_complete), POST /device looks the code up and shows the consent page,
 * POST /device/decision approves or denies. Everything is behind sign-in.
 */
export function deviceRoutes(app: FastifyInstance, s: HttpServices, browser: Browser): void {
  app.get('/device', async (request, reply) => {
    const typed = readQuery(request, ['user_code']).get('user_code')
    const code = typed === undefined ? undefined : normaliseUserCode(typed)
    const shown = code === undefined ? undefined : formatUserCode(code)
    if (!(await signedIn(request, reply, s, browser))) return toSignIn(reply, s, shown === undefined ? '/device' : `/device?user_code=${shown}`)
    const error = typed !== undefined && code === undefined ? 'The link does not hold a valid code. Type the code your device shows.' : undefined
    return reply.type(HTML).send(deviceCodePage({ issuer: s.issuer(), csrfToken: browser.formToken(request, reply), userCode: shown, error }))
  })

  app.post('/device', async (request, reply) => {
    const { params } = readForm(request)
    const refused = browser.refusePost(request, params.get('csrf_token'))
    if (refused !== undefined) return refuseForm(request, reply, s, refused)
    const current = await signedIn(request, reply, s, browser)
    if (!current) return toSignIn(reply, s, '/device')
    const typed = params.get('user_code')
    const again = (status: number, error: string) =>
      reply.code(status).type(HTML).send(deviceCodePage({ issuer: s.issuer(), csrfToken: browser.formToken(request, reply), userCode: typed, error }))
    if (typed === undefined) return again(400, 'Enter the code your device shows.')
    const found = await lookup(request, reply, s, current.user.id, typed)
    if (found === 'throttled') return again(429, 'Too many codes that did not match. Wait a while and try again.')
    if (found === 'unknown') return again(400, 'That code does not match a waiting device, or it has expired. Check the code on your device and try again.')
    return reply.type(HTML).send(await deviceConsent.page(s, found, browser.formToken(request, reply)))
  })

  app.post('/device/decision', async (request, reply) => {
    const { params } = readForm(request)
    const refused = browser.refusePost(request, params.get('csrf_token'))
    if (refused !== undefined) return refuseForm(request, reply, s, refused)
    const current = await signedIn(request, reply, s, browser)
    if (!current) return toSignIn(reply, s, '/device')
    const decision = params.get('decision')
    if (decision !== 'approve' && decision !== 'deny') throw new InvalidRequest('decision must be approve or deny')
    const typed = params.get('user_code')
    if (typed === undefined) throw new InvalidRequest('user_code is required')
    const found = await lookup(request, reply, s, current.user.id, typed)
    if (found === 'throttled') return reply.code(429).type(HTML).send(messagePage(s.issuer(), 'Too many attempts', 'Too many codes that did not match. Wait a while and try again.'))
    if (found === 'unknown') return reply.code(400).type(HTML).send(deviceDonePage(s.issuer(), 'gone', ''))
    const ctx = { actorType: 'human' as const, actorId: current.user.id, ip: request.ip, requestId: request.id }
    const agentName = deviceConsent.agentName(found)
    if (decision === 'deny') {
      const denied = await s.device.flow.deny(found, current.user.id, ctx)
      return reply.code(denied ? 200 : 400).type(HTML).send(deviceDonePage(s.issuer(), denied ? 'denied' : 'gone', agentName))
    }
    // The words approved must be the words shown: if the request or the role changed since, show them again.
    const digest = await deviceConsent.digest(s, found)
    if (params.get('text_digest') !== digest) return reply.code(409).type(HTML).send(await deviceConsent.page(s, found, browser.formToken(request, reply), 'What this agent asks for has changed. Read it again before you decide.'))
    const approved = await s.device.flow.approve(found, { userId: current.user.id, authTime: current.session.createdAt }, digest, ctx)
    return reply.code(approved ? 200 : 400).type(HTML).send(deviceDonePage(s.issuer(), approved ? 'approved' : 'gone', agentName))
  })
}

async function signedIn(request: FastifyRequest, reply: FastifyReply, s: HttpServices, browser: Browser) {
  const secret = browser.sessionSecret(request)
  const current = secret === undefined ? undefined : await s.signIn.current(secret, { ip: request.ip, requestId: request.id })
  // A dead session's cookie goes with the answer.
  if (!current && secret !== undefined) browser.endSession(reply)
  return current
}

/** RFC 9110 §15.4.4: 303 to the sign-in page, which leads back here (return_to is a path on this server). */
function toSignIn(reply: FastifyReply, s: HttpServices, returnTo: string) {
  return reply.code(303).header('location', `${s.issuer()}/login?return_to=${encodeURIComponent(returnTo)}`).send()
}

async function lookup(request: FastifyRequest, reply: FastifyReply, s: HttpServices, userId: string, typed: string): Promise<FoundDeviceCode | 'throttled' | 'unknown'> {
  const ctx = { actorType: 'human' as const, actorId: userId, ip: request.ip, requestId: request.id }
  const result = await s.device.flow.lookup(typed, { userId, addressKey: addressKey(request.ip), endpoint: `POST ${request.routeOptions.url ?? '/device'}` }, ctx)
  if (result.outcome === 'found') return result.found
  if (result.outcome === 'throttled') {
    reply.header('retry-after', String(result.retryAfterSeconds))
    return 'throttled'
  }
  return 'unknown'
}

/** A form post from another site or without its token: 403, nothing done, and audited. */
async function refuseForm(request: FastifyRequest, reply: FastifyReply, s: HttpServices, why: string) {
  await s.audit.record({ actorType: 'anonymous', actorId: null, action: 'device.form_refused', outcome: 'failure', reason: why, ip: request.ip, requestId: request.id, details: { check: 'csrf' } })
  request.errorCode = 'access_denied'
  return reply
    .code(403)
    .type(HTML)
    .send(messagePage(s.issuer(), 'This form cannot be used', 'The form has expired or did not come from this site. Go back, reload the page and try again.'))
}
