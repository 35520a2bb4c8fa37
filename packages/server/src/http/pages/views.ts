import { html } from './html.js'
import { layout } from './layout.js'

export interface SignInView {
  issuer: string
  csrfToken: string
  returnTo: string | undefined
  /** What the person typed, shown again after a failure (never the password). */
  username?: string
  /** Announced to screen readers (role="alert"). */
  error?: string
}

export function signInPage(v: SignInView): string {
  const describedBy = v.error === undefined ? undefined : 'signin-error'
  return layout(v.issuer, 'Sign in', html`<h1>Sign in</h1>
${v.error === undefined ? '' : html`<p class="alert" role="alert" id="signin-error">${v.error}</p>`}
<form method="post" action="${v.issuer}/login">
<input type="hidden" name="csrf_token" value="${v.csrfToken}">
${v.returnTo === undefined ? '' : html`<input type="hidden" name="return_to" value="${v.returnTo}">`}
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="254" value="${v.username ?? ''}"${describedBy === undefined ? '' : html` aria-describedby="${describedBy}" aria-invalid="true"`}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256"${describedBy === undefined ? '' : html` aria-describedby="${describedBy}" aria-invalid="true"`}>
<button type="submit">Sign in</button>
</form>`)
}

export interface AccountView {
  issuer: string
  csrfToken: string
  username: string
  displayName: string
  signedInAt: string
  idleMinutes: number
  expiresAt: string
}

export function accountPage(v: AccountView): string {
  return layout(v.issuer, 'Your account', html`<h1>Your account</h1>
<dl>
<dt>Name</dt><dd>${v.displayName}</dd>
<dt>Username</dt><dd>${v.username}</dd>
<dt>Signed in</dt><dd><time datetime="${v.signedInAt}">${v.signedInAt}</time></dd>
<dt>Session ends</dt><dd>after ${v.idleMinutes} minutes without activity, and at the latest at <time datetime="${v.expiresAt}">${v.expiresAt}</time></dd>
</dl>
<p><a href="${v.issuer}/account/consents">Consents</a>: the agents you allowed to act for you, and why</p>
<form method="post" action="${v.issuer}/logout">
<input type="hidden" name="csrf_token" value="${v.csrfToken}">
<button type="submit">Sign out</button>
</form>`)
}

/** A page that only says what went wrong (a refused form, a bad link). */
export function messagePage(issuer: string, title: string, message: string): string {
  return layout(issuer, title, html`<h1>${title}</h1>
<p class="alert" role="alert">${message}</p>
<p><a href="${issuer}/login">Go to the sign-in page</a></p>`)
}
