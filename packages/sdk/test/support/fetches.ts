import type { FetchLike } from '../../src/index.js'

const urlOf = (input: string | URL | Request) => new URL(input instanceof Request ? input.url : input.toString())

/** Wraps the real fetch and records every request, so tests can count them. */
export function countingFetch(inner: FetchLike = (i, init) => fetch(i, init)) {
  const requests: { url: URL; method: string; body: string | undefined }[] = []
  const wrapped: FetchLike = (input, init) => {
    requests.push({ url: urlOf(input), method: init?.method ?? (input instanceof Request ? input.method : 'GET'), body: typeof init?.body === 'string' ? init.body : undefined })
    return inner(input, init)
  }
  return {
    fetch: wrapped,
    requests,
    count: (pathname: string, method?: string) => requests.filter((r) => r.url.pathname === pathname && (method === undefined || r.method === method)).length,
  }
}

/** Sends requests for `from`'s origin to `to` instead (through a proxy), leaving everything else as it is. */
export function redirectingFetch(from: string, to: string, inner: FetchLike = (i, init) => fetch(i, init)): FetchLike {
  const origin = new URL(from).origin
  const target = new URL(to).origin
  return (input, init) => {
    const url = urlOf(input)
    if (url.origin !== origin) return inner(input, init)
    const rewritten = target + url.pathname + url.search
    return inner(input instanceof Request ? new Request(rewritten, input) : rewritten, init)
  }
}
