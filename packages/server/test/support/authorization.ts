import { createHash, randomBytes } from 'node:crypto'
import type { TestServer } from './server.js'
import { basic, call, createRole, form, initialAccessToken, register, type Reply } from './client.js'
import { BrowserClient, createPerson, type PageReply } from './browser-client.js'

export const REDIRECT = 'https://app.example.com/callback'

export interface CodeClient {
  clientId: string
  /** Undefined for a public client (token_endpoint_auth_method none). */
  clientSecret: string | undefined
  role: string
  redirectUris: string[]
  registrationAccessToken: string
}

/** A role whose agents may act for people, and one agent registered for the code flow. */
export async function codeClient(server: TestServer, opts: { scopes?: string[]; metadata?: Record<string, unknown>; role?: Record<string, unknown> } = {}): Promise<CodeClient> {
  const role = await createRole(server, { scopes: opts.scopes ?? ['openid', 'profile', 'read', 'write'], ...opts.role })
  const iat = await initialAccessToken(server, role)
  const metadata = { client_name: 'Loan Reader', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], redirect_uris: [REDIRECT], ...opts.metadata }
  const res = await register(server, iat, metadata)
  if (res.status !== 201) throw new Error(`registering a code client failed: ${res.status} ${res.text}`)
  return {
    clientId: res.body.client_id as string, clientSecret: res.body.client_secret as string | undefined, role,
    redirectUris: metadata.redirect_uris as string[], registrationAccessToken: res.body.registration_access_token as string,
  }
}

/** RFC 7636 §4.1/§4.2: a verifier and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

export function authorizePath(params: Record<string, string | string[]>): string {
  return `/authorize?${form(params)}`
}

/** The usual request parameters for a client, overridable. */
export function authorizeParams(client: CodeClient, challenge: string, extra: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  return { response_type: 'code', client_id: client.clientId, redirect_uri: client.redirectUris[0]!, scope: 'openid read', state: 'st-123', code_challenge: challenge, code_challenge_method: 'S256', ...extra }
}

/** A path and query on this server from an absolute Location. */
export function localPath(server: TestServer, location: string | null): string {
  if (location === null || !location.startsWith(server.issuer)) throw new Error(`not a location on this server: ${location}`)
  return location.slice(server.issuer.length)
}

/** Signs a new person in through the pages; returns the browser and the person. */
export async function signedInPerson(server: TestServer) {
  const person = await createPerson(server)
  const browser = new BrowserClient(server)
  const res = await browser.signIn(person.username, person.password)
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`)
  return { browser, person }
}

/** The consent page's hidden request and CSRF token. */
export function consentForm(page: PageReply): { request: string; csrf_token: string } {
  const request = /name="request" value="([^"]+)"/.exec(page.html)?.[1]
  if (request === undefined) throw new Error(`no consent form: ${page.status} ${page.html.slice(0, 400)}`)
  return { request, csrf_token: BrowserClient.formToken(page.html) }
}

/** Opens /authorize as a signed-in person, approves on the consent page if shown; returns the redirect to the client. */
export async function authorizeAndApprove(browser: BrowserClient, path: string): Promise<URL> {
  let res = await browser.get(path)
  if (res.status === 200) {
    res = await browser.request('POST', '/authorize/consent', { form: { ...consentForm(res), decision: 'approve' } })
  }
  const location = res.headers.get('location')
  if (res.status !== 302 && res.status !== 303) throw new Error(`authorize: ${res.status} ${res.html.slice(0, 400)}`)
  return new URL(location!)
}

export function clientAuth(client: CodeClient, params: Record<string, string | string[]>): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  if (client.clientSecret !== undefined) headers.authorization = basic(client.clientId, client.clientSecret)
  return { headers, body: form(client.clientSecret === undefined ? { client_id: client.clientId, ...params } : params) }
}

export function exchangeCode(server: TestServer, client: CodeClient, code: string, verifier: string | undefined, extra: Record<string, string | string[]> = {}): Promise<Reply> {
  const params: Record<string, string | string[]> = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUris[0]!, ...extra }
  if (verifier !== undefined) params.code_verifier = verifier
  return call(server, 'POST', '/token', clientAuth(client, params))
}

export function refresh(server: TestServer, client: CodeClient, refreshToken: string, extra: Record<string, string> = {}): Promise<Reply> {
  return call(server, 'POST', '/token', clientAuth(client, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }))
}

/** The whole flow for a new person: sign in, approve, exchange. Returns the token response body and more. */
export async function tokensForPerson(server: TestServer, client: CodeClient, extra: Record<string, string | string[]> = {}) {
  const { browser, person } = await signedInPerson(server)
  const { verifier, challenge } = pkce()
  const back = await authorizeAndApprove(browser, authorizePath(authorizeParams(client, challenge, extra)))
  const code = back.searchParams.get('code')
  if (code === null) throw new Error(`no code: ${back.href}`)
  const res = await exchangeCode(server, client, code, verifier)
  if (res.status !== 200) throw new Error(`code exchange: ${res.status} ${res.text}`)
  return { browser, person, code, verifier, tokens: res.body as Record<string, string | number> }
}
