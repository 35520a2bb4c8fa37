import { html } from './html.js'
import { layout } from './layout.js'

export interface DeviceCodeView {
  issuer: string
  csrfToken: string
  /** Pre-filled from verification_uri_complete, or what the person typed before an error. */
  userCode?: string
  /** Announced to screen readers (role="alert"). */
  error?: string
}

/**
 * RFC 8628 §3.3: the person types the code their device shows. A code that arrived in the link
 * (§3.3.1) is only pre-filled: the person still compares it with the device and submits it, so
 * a link sent by someone else cannot approve anything by being opened.
 */
export function deviceCodePage(v: DeviceCodeView): string {
  const describedBy = v.error === undefined ? undefined : 'device-error'
  const prefilled = v.userCode !== undefined && v.error === undefined
  return layout(v.issuer, 'Connect a device', html`<h1>Connect a device</h1>
${v.error === undefined ? '' : html`<p class="alert" role="alert" id="device-error">${v.error}</p>`}
<p>${prefilled ? 'Check that this code is the one your device shows, then continue.' : 'Enter the code your device shows.'} Only continue if you started this on a device of your own just now.</p>
<form method="post" action="${v.issuer}/device">
<input type="hidden" name="csrf_token" value="${v.csrfToken}">
<label for="user_code">Code</label>
<input id="user_code" name="user_code" type="text" autocomplete="off" autocapitalize="characters" spellcheck="false" required maxlength="32" placeholder="XXXX-XXXX" value="${v.userCode ?? ''}"${describedBy === undefined ? '' : html` aria-describedby="${describedBy}" aria-invalid="true"`}>
<button type="submit">Continue</button>
</form>`)
}

export type DeviceOutcome = 'approved' | 'denied' | 'gone'

const OUTCOMES: Record<DeviceOutcome, { title: string; message: string }> = {
  approved: { title: 'Device connected', message: 'You approved the request. You can go back to your device; it continues by itself.' },
  denied: { title: 'Request denied', message: 'You denied the request. The device gets no access.' },
  gone: { title: 'This code can no longer be used', message: 'The request was already decided, or it has expired. Start again on your device to get a new code.' },
}

/** After the decision: what happened, and what to do next. */
export function deviceDonePage(issuer: string, outcome: DeviceOutcome, agentName: string): string {
  const { title, message } = OUTCOMES[outcome]
  return layout(issuer, title, html`<h1>${title}</h1>
<p${outcome === 'gone' ? html` class="alert" role="alert"` : ''}>${message}</p>
${outcome === 'gone' ? '' : html`<p>Agent: ${agentName}</p>`}
<p><a href="${issuer}/account">Your account</a></p>`)
}
