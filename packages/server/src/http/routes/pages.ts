import type { FastifyInstance } from 'fastify'
import { Browser } from '../pages/browser.js'
import { sendPageError } from '../pages/page-errors.js'
import { pageHeaders } from '../pages/page-headers.js'
import { STYLESHEET } from '../pages/stylesheet.js'
import { readQuery } from '../request-readers.js'
import type { HttpServices } from '../services.js'
import { accountRoutes } from './account.js'
import { accountConsentRoutes } from './account-consents.js'
import { signInRoutes } from './signin.js'
import { deviceRoutes } from './device.js'

/** The server-rendered pages for people (sign-in, account) and their stylesheet. */
export async function pageRoutes(app: FastifyInstance, s: HttpServices): Promise<void> {
  await app.register(async (pages) => {
    pages.addHook('onSend', pageHeaders)
    // Errors on these routes are pages too, with the same statuses as the JSON API.
    pages.setErrorHandler(sendPageError(() => s.issuer()))
    const browser = new Browser(() => s.issuer(), s.csrf)
    signInRoutes(pages, s, browser)
    accountRoutes(pages, s, browser)
    accountConsentRoutes(pages, s, browser)
    deviceRoutes(pages, s, browser)
  })
  app.get('/static/mandate.css', async (request, reply) => {
    readQuery(request, [])
    return reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(STYLESHEET)
  })
}
