export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post'

export interface ClientCredentials {
  clientId: string
  clientSecret: string
  authMethod: ClientAuthMethod
}

/** application/x-www-form-urlencoded encoding of one value (RFC 6749 Appendix B). */
export function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1)
}

/** RFC 6749 §2.3.1: Basic base64(form-urlencode(id) ":" form-urlencode(secret)). */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  // After form-urlencoding the string is ASCII, so btoa (available in every runtime) is exact.
  return `Basic ${btoa(`${formEncode(clientId)}:${formEncode(clientSecret)}`)}`
}

/** Authenticates a form-encoded request (the token endpoint) with the client's method. */
export function authenticateForm(creds: ClientCredentials, headers: Headers, params: URLSearchParams): void {
  if (creds.authMethod === 'client_secret_basic') headers.set('authorization', basicAuthorization(creds.clientId, creds.clientSecret))
  else {
    // RFC 6749 §2.3.1: client_id and client_secret in the request body.
    params.set('client_id', creds.clientId)
    params.set('client_secret', creds.clientSecret)
  }
}

/** Authenticates a JSON request (sessions): Basic, or client_id/client_secret members in the body. */
export function authenticateJson(creds: ClientCredentials, headers: Headers, body: Record<string, unknown>): Record<string, unknown> {
  if (creds.authMethod === 'client_secret_basic') {
    headers.set('authorization', basicAuthorization(creds.clientId, creds.clientSecret))
    return body
  }
  return { ...body, client_id: creds.clientId, client_secret: creds.clientSecret }
}
