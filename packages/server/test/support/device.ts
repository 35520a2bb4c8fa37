import { basic, call, form, registeredAgent, type RegisteredAgent } from './client.js'
import { BrowserClient, type PageReply } from './browser-client.js'
import type { TestServer } from './server.js'
import { rawSql } from './db-access.js'

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

export interface DeviceStart {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  expires_in: number
  interval: number
}

/** A role with a purpose, and an agent registered for the device grant (and refresh tokens). */
export async function deviceAgent(server: TestServer, opts: { role?: Record<string, unknown>; metadata?: Record<string, unknown> } = {}) {
  return registeredAgent(server, {
    role: { scopes: ['read', 'write'], purposes: [{ id: 'support', description: 'Answer your support tickets', lawful_basis: 'contract' }], ...opts.role },
    metadata: { grant_types: [DEVICE_GRANT, 'refresh_token'], client_name: 'Kiosk agent', ...opts.metadata },
  })
}

export function deviceAuthorization(server: TestServer, agent: Pick<RegisteredAgent, 'clientId' | 'clientSecret'>, params: Record<string, string | string[]> = {}) {
  return call<DeviceStart & Record<string, unknown>>(server, 'POST', '/device_authorization', {
    headers: { authorization: basic(agent.clientId, agent.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body: form(params),
  })
}

export async function startDevice(server: TestServer, agent: Pick<RegisteredAgent, 'clientId' | 'clientSecret'>, params: Record<string, string | string[]> = {}): Promise<DeviceStart> {
  const res = await deviceAuthorization(server, agent, params)
  if (res.status !== 200) throw new Error(`device authorization failed: ${res.status} ${res.text}`)
  return res.body
}

/** One poll of the token endpoint (RFC 8628 §3.4). */
export function poll(server: TestServer, agent: Pick<RegisteredAgent, 'clientId' | 'clientSecret'>, deviceCode: string, extra: Record<string, string | string[]> = {}) {
  return call(server, 'POST', '/token', {
    headers: { authorization: basic(agent.clientId, agent.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ grant_type: DEVICE_GRANT, device_code: deviceCode, ...extra }),
  })
}

/** A signed-in browser types the code and gets the consent page. */
export async function enterCode(browser: BrowserClient, userCode: string): Promise<PageReply> {
  const page = await browser.get('/device')
  if (page.status !== 200) throw new Error(`device page: ${page.status} ${page.html.slice(0, 300)}`)
  return browser.request('POST', '/device', { form: { csrf_token: BrowserClient.formToken(page.html), user_code: userCode } })
}

/** The hidden fields and token of a consent page, to post a decision with. */
export function consentFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = m[2]!
  return fields
}

/** Types the code, then approves or denies on the consent page. */
export async function decide(browser: BrowserClient, userCode: string, decision: 'approve' | 'deny'): Promise<PageReply> {
  const consent = await enterCode(browser, userCode)
  if (consent.status !== 200) throw new Error(`consent page: ${consent.status} ${consent.html.slice(0, 400)}`)
  return browser.request('POST', '/device/decision', { form: { ...consentFields(consent.html), decision } })
}

export async function deviceCodeRows(server: TestServer): Promise<number> {
  const [row] = await rawSql(server, 'select count(*) as n from device_codes')
  return Number(row!.n)
}
