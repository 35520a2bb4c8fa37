import type { Consent, ConsentStatus } from '../../ports/consent-repo.js'
import { html } from './html.js'
import { layout } from './layout.js'

export interface ConsentsView {
  issuer: string
  csrfToken: string
  /** Newest first, each with its status now. */
  consents: Array<{ consent: Consent; status: ConsentStatus }>
  /** Older consents exist beyond this page: the export has them all. */
  more: boolean
  /** Said once after a withdrawal (role="status"). */
  notice?: string
}

const STATUS_WORDS: Record<ConsentStatus, string> = { active: 'Active', withdrawn: 'Withdrawn', expired: 'Expired' }

/** GET /account/consents: what the person consented to, for whom and why; withdraw any active one. */
export function consentsPage(v: ConsentsView): string {
  return layout(v.issuer, 'Your consents', html`<h1>Your consents</h1>
${v.notice === undefined ? '' : html`<p class="notice" role="status">${v.notice}</p>`}
${v.consents.length === 0 ? html`<p>You have not consented to any agent.</p>` : v.consents.map(({ consent, status }) => consentSection(v, consent, status))}
${v.more ? html`<p>Older consents are in the download.</p>` : ''}
<p><a href="${v.issuer}/account/consents/export" download="mandate-consents.json">Download your consent receipts (JSON)</a></p>
<p><a href="${v.issuer}/account">Back to your account</a></p>`)
}

function consentSection(v: ConsentsView, c: Consent, status: ConsentStatus) {
  const agent = agentLabel(c)
  const headingId = `consent-${c.id}`
  return html`<section aria-labelledby="${headingId}">
<h2 id="${headingId}">${agent}</h2>
<dl>
<dt>Agent</dt><dd>${c.agentId === null ? `every agent of the role ${c.roleName}` : c.agentId}</dd>
<dt>Role</dt><dd>${c.roleName} (version ${c.roleVersion})</dd>
<dt>May use</dt><dd>${c.scopes.join(', ')}</dd>
<dt>Purposes</dt><dd>${c.purposes.length === 0 ? 'none declared' : html`<ul>${c.purposes.map((p) => html`<li>${p.description} (${p.id}; lawful basis: ${p.lawfulBasis.replace(/_/g, ' ')})</li>`)}</ul>`}</dd>
<dt>Granted</dt><dd>${time(c.grantedAt)}</dd>
<dt>Expires</dt><dd>${time(c.expiresAt)}</dd>
<dt>Status</dt><dd>${STATUS_WORDS[status]}${c.withdrawnAt === null ? '' : html` on ${time(c.withdrawnAt)}`}</dd>
</dl>
${status !== 'active' ? '' : html`<form method="post" action="${v.issuer}/account/consents/withdraw">
<input type="hidden" name="csrf_token" value="${v.csrfToken}">
<input type="hidden" name="consent" value="${c.id}">
<button type="submit" aria-describedby="${headingId}">Withdraw this consent</button>
</form>`}
</section>
`
}

function agentLabel(c: Consent): string {
  if (c.agentId === null) return `Agents of the role ${c.roleName}`
  return c.agentName ?? `Agent ${c.agentId}`
}

function time(ms: number) {
  const iso = new Date(ms).toISOString()
  return html`<time datetime="${iso}">${iso}</time>`
}
