import type { FetchLike } from '../http/transport.js'

export type FetchInput = string | URL | Request

export interface BearerSource {
  token(): Promise<string>
  /** A token to use instead of one a resource server refused. */
  replace(rejected: string): Promise<string>
}

/**
 * fetch with `Authorization: Bearer` (RFC 6750 §2.1). On a 401 the token may have been revoked
 * or have expired early (clock skew), so it is replaced once and the request sent once more,
 * when its body can be sent twice (a stream cannot).
 */
export async function bearerFetch(fetch: FetchLike, input: FetchInput, init: RequestInit | undefined, source: BearerSource): Promise<Response> {
  const replayable = !(init?.body instanceof ReadableStream)
  // A Request's body can be read once; keep a copy for the retry.
  const spare = input instanceof Request && replayable ? input.clone() : input
  const token = await source.token()
  const res = await fetch(input, withBearer(input, init, token))
  if (res.status !== 401 || !replayable) return res
  await res.body?.cancel().catch(() => undefined)
  const next = await source.replace(token)
  return fetch(spare, withBearer(spare, init, next))
}

function withBearer(input: FetchInput, init: RequestInit | undefined, token: string): RequestInit {
  // fetch(request, init) takes init's headers instead of the request's, so merge them.
  const headers = new Headers(input instanceof Request ? input.headers : undefined)
  new Headers(init?.headers).forEach((value, name) => headers.set(name, value))
  headers.set('authorization', `Bearer ${token}`)
  return { ...init, headers }
}
