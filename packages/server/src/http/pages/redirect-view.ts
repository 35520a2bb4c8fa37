import { html } from './html.js'
import { layout } from './layout.js'

/**
 * A page that sends the browser on to the client by itself (a meta refresh, no script), with a
 * link for browsers that do not follow it. Used when /authorize answers inside a redirect chain
 * that began with one of this server's forms (the sign-in page): Chromium checks CSP form-action
 * against every hop of a form submission's redirects, so a 302 to the client there is blocked.
 * A meta refresh starts a new navigation, which form-action does not govern.
 */
export function continuePage(issuer: string, location: string, clientName: string): string {
  return layout(issuer, 'Returning to the application', html`<meta http-equiv="refresh" content="0;url=${location}">
<h1>Returning to the application</h1>
<p class="notice">You are being sent back to ${clientName}.</p>
<p><a href="${location}">Continue to ${clientName}</a></p>`)
}
