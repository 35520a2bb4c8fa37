import type { FetchLike, Logger } from '../../src/index.js'
import { delay } from './waiting.js'

const urlOf = (input: string | URL | Request) => new URL(input instanceof Request ? input.url : input.toString())

/** Wraps fetch and records every request with when it was sent and when its answer arrived (performance.now()). */
export function timedFetch(inner: FetchLike = (i, init) => fetch(i, init)) {
  const requests: { url: URL; method: string; sentAt: number; answeredAt: number | undefined }[] = []
  const wrapped: FetchLike = async (input, init) => {
    const entry = { url: urlOf(input), method: init?.method ?? (input instanceof Request ? input.method : 'GET'), sentAt: performance.now(), answeredAt: undefined as number | undefined }
    requests.push(entry)
    const res = await inner(input, init)
    entry.answeredAt = performance.now()
    return res
  }
  return {
    fetch: wrapped,
    requests,
    to: (pathname: string) => requests.filter((r) => r.url.pathname === pathname),
  }
}

/** One request to a resource server with a bearer token: its status and JSON error, if any. */
export async function present(url: string, token: string): Promise<{ status: number; error: string | undefined; description: string | undefined }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  const body = (await res.json().catch(() => ({}))) as { error?: string; error_description?: string }
  return { status: res.status, error: body.error, description: body.error_description }
}

export interface Refusal {
  /** performance.now() when the first refusal arrived. */
  at: number
  status: number
  error: string | undefined
  description: string | undefined
  /** How many requests were accepted (2xx) before it. */
  acceptedBefore: number
  /** performance.now() when the last accepted answer arrived (undefined when none was). */
  lastAcceptedAt: number | undefined
}

/**
 * Presents `token` to the resource server back to back (one request at a time, `gapMs` apart)
 * until one is refused; every answer before it must be a 2xx. Rejects after `timeoutMs`.
 */
export async function firstRefusal(url: string, token: string, timeoutMs: number, gapMs = 5): Promise<Refusal> {
  const start = performance.now()
  let acceptedBefore = 0
  let lastAcceptedAt: number | undefined
  for (;;) {
    const r = await present(url, token)
    const at = performance.now()
    if (r.status < 200 || r.status > 299) return { at, ...r, acceptedBefore, lastAcceptedAt }
    acceptedBefore++
    lastAcceptedAt = at
    if (at - start > timeoutMs) throw new Error(`the token was still accepted after ${timeoutMs} ms (${acceptedBefore} requests)`)
    await delay(gapMs)
  }
}

/** A logger that keeps what it is told, for asserting on warnings. */
export function recordingLogger() {
  const lines: { level: 'error' | 'warn' | 'info' | 'debug'; message: string; fields: Record<string, unknown> | undefined; at: number }[] = []
  const logger: Logger = {
    error: (message, fields) => void lines.push({ level: 'error', message, fields, at: performance.now() }),
    warn: (message, fields) => void lines.push({ level: 'warn', message, fields, at: performance.now() }),
    info: (message, fields) => void lines.push({ level: 'info', message, fields, at: performance.now() }),
    debug: (message, fields) => void lines.push({ level: 'debug', message, fields, at: performance.now() }),
  }
  return { logger, lines, warnings: () => lines.filter((l) => l.level === 'warn').map((l) => l.message) }
}
