import { authenticateForm, type ClientCredentials } from '../http/client-auth.js'
import type { SendOptions } from '../http/transport.js'
import type { ClientContext } from './context.js'
import { parseTokenResponse, type TokenResponse } from './token-response.js'

/** POST to the token endpoint (RFC 6749 §3.2) with client authentication, and check the answer. */
export async function requestToken(ctx: ClientContext, creds: ClientCredentials, params: Record<string, string | readonly string[] | undefined>, send: SendOptions): Promise<TokenResponse> {
  const url = await ctx.discovery.endpoint('token_endpoint')
  const form = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue
    for (const one of typeof v === 'string' ? [v] : v) form.append(k, one)
  }
  const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' })
  authenticateForm(creds, headers, form)
  const sentAt = ctx.transport.now()
  const body = await ctx.transport.request<Record<string, unknown>>(url, { method: 'POST', headers, body: form.toString() }, send)
  return parseTokenResponse(body, sentAt)
}
