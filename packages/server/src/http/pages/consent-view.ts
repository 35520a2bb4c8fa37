import { createHash } from 'node:crypto'
import type { Agent } from '../../ports/agent-repo.js'
import type { LawfulBasis, Purpose, Role } from '../../ports/role-repo.js'
import { html, type Html } from './html.js'
import { layout } from './layout.js'

/** What the consent page says, and the digest of exactly those words. */
export interface ConsentText {
  title: string
  blocks: ConsentBlock[]
  approve: string
  deny: string
  /** Every word shown, in page order: the title, each paragraph, heading and list item, the two buttons, one per line. */
  words: string
  /** SHA-256 of `words` (UTF-8), base64url: what the consent record keeps. */
  digest: string
}

export type ConsentBlock = { kind: 'p' | 'h2'; text: string } | { kind: 'list'; items: string[] }

export interface ConsentTextInput {
  agent: Pick<Agent, 'id' | 'metadata'>
  /** From ConsentService.ownerOf: the admin behind the agent's initial access token, and its contacts. */
  owner: { admin: string | null; contacts: readonly string[] }
  role: Pick<Role, 'name' | 'version'>
  scopes: readonly string[]
  purposes: readonly Purpose[]
  /** The person consents for every agent of the role, not only this one. */
  roleWide?: boolean
  /** How long the consent lasts (ConsentService.validitySeconds / 86400), said on the page. */
  validDays?: number
}

// GDPR Art. 6(1)(a)-(f), in plain words.
const BASIS_WORDS: Record<LawfulBasis, string> = {
  consent: 'your consent (GDPR Article 6(1)(a))',
  contract: 'a contract with you, or steps you asked for before entering one (GDPR Article 6(1)(b))',
  legal_obligation: 'a legal obligation the operator must meet (GDPR Article 6(1)(c))',
  vital_interests: 'protecting your life or someone else’s (GDPR Article 6(1)(d))',
  public_task: 'a task in the public interest or in the exercise of official authority (GDPR Article 6(1)(e))',
  legitimate_interests: 'the operator’s legitimate interests (GDPR Article 6(1)(f))',
}

// OpenID Connect Core §5.4 and §11: the standard scopes, in plain words.
const SCOPE_WORDS: Record<string, string> = {
  openid: 'Confirm that it is you who is signed in (scope “openid”)',
  profile: 'See your name and username (scope “profile”)',
  email: 'See your email address (scope “email”)',
  offline_access: 'Keep acting for you while you are away, until you withdraw this consent (scope “offline_access”)',
}

/**
 * The words of the consent page, built once for both showing and recording: the page renders
 * these blocks and nothing else, so the digest is over exactly what the person read.
 */
export function consentText(input: ConsentTextInput): ConsentText {
  const name = typeof input.agent.metadata.client_name === 'string' ? shown(input.agent.metadata.client_name) : ''
  const role = `“${input.role.name}” (version ${input.role.version})`
  const blocks: ConsentBlock[] = [
    { kind: 'p', text: name === '' ? `This automated agent has no name. Its client ID is ${input.agent.id}.` : `${name} is an automated agent. Its client ID is ${input.agent.id}.` },
    {
      kind: 'p',
      text: input.owner.admin === null
        ? `It runs under the role ${role}. The administrator who set it up is no longer on record.`
        : `It was set up by the administrator ${input.owner.admin}, under the role ${role}.`,
    },
    { kind: 'p', text: input.owner.contacts.length === 0 ? 'It lists no contact.' : `Contact for this agent: ${input.owner.contacts.join(', ')}.` },
  ]
  if (input.roleWide === true) blocks.push({ kind: 'p', text: `Your answer covers every agent registered under the role “${input.role.name}”, not only this one.` })
  blocks.push({ kind: 'h2', text: 'What it will be able to do' }, { kind: 'list', items: input.scopes.map((s) => SCOPE_WORDS[s] ?? `Use the permission “${s}” on your behalf`) })
  blocks.push({ kind: 'h2', text: 'Why it will process your personal data' })
  blocks.push(
    input.purposes.length === 0
      ? { kind: 'p', text: 'Its role declares no purpose for processing personal data.' }
      : { kind: 'list', items: input.purposes.map((p) => `${p.description} (purpose “${p.id}”). Legal basis: ${BASIS_WORDS[p.lawfulBasis]}.`) },
  )
  const lasts = input.validDays === undefined ? '' : `Your consent lasts ${input.validDays} days unless you withdraw it sooner. `
  blocks.push({ kind: 'p', text: `${lasts}You can see and withdraw it at any time on your account page, under Consents.` })
  const clean = blocks.map((b): ConsentBlock => (b.kind === 'list' ? { kind: 'list', items: b.items.map(shown) } : { kind: b.kind, text: shown(b.text) }))
  const title = shown(name === '' ? 'Allow this agent to act for you?' : `Allow ${name} to act for you?`)
  const approve = 'Approve'
  const deny = 'Deny'
  const words = [title, ...clean.flatMap((b) => (b.kind === 'list' ? b.items : [b.text])), approve, deny].join('\n')
  return { title, blocks: clean, approve, deny, words, digest: createHash('sha256').update(words, 'utf8').digest('base64url') }
}

export interface ConsentPageView {
  issuer: string
  text: ConsentText
  /** A path on this server, e.g. `/authorize/decision`. */
  formAction: string
  /** Carried through the form as hidden fields (not `csrf_token` or `decision`). */
  hidden: Record<string, string>
  csrfToken: string
  /** Announced to screen readers above the form (role="alert"). */
  error?: string
}

/**
 * The consent page: no script; the form posts `decision=approve|deny`, the hidden fields and
 * `csrf_token` (the pages' CSRF field) to `formAction`.
 */
export function consentPage(v: ConsentPageView): string {
  if (!v.formAction.startsWith('/') || v.formAction.startsWith('//')) throw new Error('the consent form posts to a path on this server')
  const reserved = Object.keys(v.hidden).find((k) => k === 'csrf_token' || k === 'decision')
  if (reserved !== undefined) throw new Error(`${reserved} is set by the consent page itself`)
  const t = v.text
  return layout(v.issuer, 'Consent', html`<h1>${t.title}</h1>
${v.error === undefined ? '' : html`<div class="alert" role="alert" id="consent-error">${v.error}</div>`}
${t.blocks.map(renderBlock)}
<form method="post" action="${v.issuer}${v.formAction}">
${Object.entries(v.hidden).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">\n`)}<input type="hidden" name="csrf_token" value="${v.csrfToken}">
<button type="submit" name="decision" value="approve">${t.approve}</button>
<button type="submit" name="decision" value="deny">${t.deny}</button>
</form>`)
}

function renderBlock(b: ConsentBlock): Html {
  if (b.kind === 'list') return html`<ul>
${b.items.map((item) => html`<li>${item}</li>\n`)}</ul>
`
  return b.kind === 'h2' ? html`<h2>${b.text}</h2>\n` : html`<p>${b.text}</p>\n`
}

// Line breaks and controls would split or reorder the words a browser shows (and the digest's lines);
// bidirectional overrides could make the page say something else than its text.
const INVISIBLE = /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** Text as a browser shows it: controls replaced, white space collapsed (HTML does the same). */
function shown(s: string): string {
  return s.replace(INVISIBLE, '\uFFFD').replace(/[\s\u2028\u2029]+/g, ' ').trim()
}
