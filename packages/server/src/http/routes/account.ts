import type { FastifyInstance } from 'fastify'
import type { Browser } from '../pages/browser.js'
import { accountPage } from '../pages/views.js'
import { readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'

/** GET /account: who is signed in, and until when; a sign-out button. */
export function accountRoutes(app: FastifyInstance, s: HttpServices, browser: Browser): void {
  app.get('/account', async (request, reply) => {
    readQuery(request, [])
    const secret = browser.sessionSecret(request)
    const current = secret === undefined ? undefined : await s.signIn.current(secret, { ip: request.ip, requestId: request.id })
    if (!current) {
      // A dead session's cookie goes with the redirect.
      if (secret !== undefined) browser.endSession(reply)
      return reply.code(303).header('location', `${s.issuer()}/login?return_to=%2Faccount`).send()
    }
    const { user, session } = current
    return reply.type('text/html; charset=utf-8').send(
      accountPage({
        issuer: s.issuer(),
        csrfToken: browser.formToken(request, reply),
        username: user.username,
        displayName: user.displayName,
        signedInAt: new Date(session.createdAt).toISOString(),
        idleMinutes: Math.round(s.people.idleSeconds / 60),
        expiresAt: new Date(session.absoluteExpiresAt).toISOString(),
      }),
    )
  })
}
