import { MandateError, MandateNetworkError } from '../errors.js'
import { DEFAULT_RETRY, backoffDelay, failedBeforeSending, parseRetryAfter, sleep, type RetryPolicy } from './retry.js'

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

export interface TransportOptions {
  fetch?: FetchLike
  retry?: Partial<RetryPolicy>
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number
  /** Injectable for tests: how the transport waits between attempts. */
  sleep?: (ms: number) => Promise<void>
}

export interface SendOptions {
  /**
   * How many times a request the server may already have acted on (a network error after it was
   * sent, a 500/502/504) may be sent again. Idempotent requests: as many as the policy allows;
   * a refresh-token rotation: 1 (the server answers a replay within 30 s with the same
   * successor); registration or starting a session: 0. A 429, a 503 or a connection that never
   * opened are always retried: the server did not act on those.
   */
  maxReplays: number
  signal?: AbortSignal
}

export const IDEMPOTENT: SendOptions = { maxReplays: Number.POSITIVE_INFINITY }
export const NOT_IDEMPOTENT: SendOptions = { maxReplays: 0 }

/** fetch with bounded retries: transient network errors and 5xx back off exponentially; 429 honours Retry-After. */
export class Transport {
  readonly fetch: FetchLike
  readonly policy: RetryPolicy
  readonly now: () => number
  private readonly wait: (ms: number, signal?: AbortSignal) => Promise<void>

  constructor(options: TransportOptions = {}) {
    const injectedFetch = options.fetch
    // Looked up at call time, so a test (or an APM agent) that wraps globalThis.fetch later still sees our calls.
    this.fetch = injectedFetch ?? ((input, init) => globalThis.fetch(input, init))
    this.policy = { ...DEFAULT_RETRY, ...options.retry }
    this.now = options.now ?? Date.now
    const injected = options.sleep
    this.wait = injected ? (ms) => injected(ms) : sleep
  }

  async send(url: string, init: RequestInit, options: SendOptions): Promise<Response> {
    let replays = 0
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= this.policy.maxAttempts
      let res: Response
      try {
        res = await this.fetch(url, { ...init, signal: options.signal })
      } catch (err) {
        if (options.signal?.aborted) throw err
        const unsent = failedBeforeSending(err)
        // The origin only: a URL may carry a cursor or an id, never worth a log line.
        if (last || (!unsent && replays >= options.maxReplays)) throw new MandateNetworkError(`request to ${new URL(url).origin} failed`, err)
        if (!unsent) replays++
        await this.wait(backoffDelay(this.policy, attempt), options.signal)
        continue
      }
      const retry = this.retryDelay(res, attempt, replays < options.maxReplays)
      if (retry === undefined || last) return res
      if (retry.replay) replays++
      await res.body?.cancel().catch(() => undefined)
      await this.wait(retry.delay, options.signal)
    }
  }

  /** How long to wait before retrying this response, or undefined to hand it back. */
  private retryDelay(res: Response, attempt: number, mayReplay: boolean): { delay: number; replay: boolean } | undefined {
    const retryAfter = parseRetryAfter(res.headers.get('retry-after'), this.now())
    const delay = retryAfter ?? backoffDelay(this.policy, attempt)
    // RFC 6585 §4 / RFC 9110 §15.6.4: 429 and 503 were not acted on; wait as long as the server asks, within reason.
    if (res.status === 429 || res.status === 503) return delay <= this.policy.maxRetryAfterMs ? { delay, replay: false } : undefined
    // A 500/502/504 may have been acted on: only requests safe to replay go again.
    if (res.status >= 500 && mayReplay) return { delay: Math.min(delay, this.policy.maxRetryAfterMs), replay: true }
    return undefined
  }

  /** The JSON body of a 2xx response; otherwise a MandateError built from RFC 6749 §5.2 JSON. */
  async json<T>(res: Response): Promise<T> {
    const text = await res.text()
    let body: unknown
    try {
      body = text === '' ? undefined : JSON.parse(text)
    } catch {
      body = undefined
    }
    if (res.ok) {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new MandateError({ error: 'invalid_response', errorDescription: `expected a JSON object (HTTP ${res.status})`, status: res.status })
      return body as T
    }
    throw errorFromResponse(res, body, this.now())
  }

  /** Sends and reads the JSON answer in one step. */
  async request<T>(url: string, init: RequestInit, options: SendOptions): Promise<T> {
    return this.json<T>(await this.send(url, init, options))
  }
}

/** RFC 6749 §5.2 error JSON (or a bare status) as a MandateError. */
export function errorFromResponse(res: Response, body: unknown, now: number): MandateError {
  const b = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {}
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), now)
  return new MandateError({
    error: typeof b.error === 'string' ? b.error : `http_${res.status}`,
    errorDescription: typeof b.error_description === 'string' ? b.error_description : undefined,
    status: res.status,
    retryAfterSeconds: retryAfterMs === undefined ? undefined : Math.ceil(retryAfterMs / 1000),
  })
}
