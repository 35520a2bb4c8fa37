/**
 * What the server records for operators, as narrow recorders: code that counts something names
 * only the recorder it needs and never sees the metrics library (adapters/metrics/ implements
 * these over prom-client; `noMetrics` is what a server without MANDATE_METRICS_TOKEN gets).
 * Label values must come from small fixed sets (route patterns, grant types, role names, OAuth
 * error codes), never from ids or raw URLs.
 */

/** One request answered: its route pattern (undefined when no route matched), method, status, and time taken. */
export interface RequestMetrics {
  request(route: string | undefined, method: string, status: number, seconds: number): void
  /** An error answer: the route pattern and the OAuth error code it carried. */
  refused(route: string | undefined, code: string): void
}

export interface TokenMetrics {
  /** An access token was signed: the grant (or `session_start`) and the agent's role. */
  issued(grantType: string, role: string): void
}

export interface SessionMetrics {
  started(): void
  /** A session ended (counted once, by whoever ended it): completed, expired or terminated. */
  ended(state: string): void
}

export interface AuditMetrics {
  /** A group commit succeeded: how many events it wrote and how long the write took. */
  committed(events: number, seconds: number): void
  /** A group commit failed; its events were refused. */
  failed(events: number): void
}

/** Hits and misses of one lookup cache. */
export interface CacheMetrics {
  hit(): void
  miss(): void
}

/**
 * For the rate limiter: `limited(kind)` when a request is refused for exceeding a limit, where
 * `kind` names the limit (a few fixed values, e.g. `client`, `ip`); `fallback(true)` while the
 * limiter runs on its node-local buckets because the shared store (Redis) is unreachable, and
 * `fallback(false)` once it is back.
 */
export interface RateLimitMetrics {
  limited(kind: string): void
  fallback(active: boolean): void
}

/** Values read only when metrics are scraped: free on the hot path. */
export interface MetricSources {
  /** Audit events waiting to be written, including the batch being written. */
  auditQueueDepth(): number
  /** Open revocation streams (SSE) on this node. */
  revocationStreams(): number
  /** The PostgreSQL connection pool; undefined on SQLite. */
  databasePool(): { total: number; idle: number; waiting: number } | undefined
}

export interface Metrics {
  /** False when nothing reads the metrics; callers may skip work done only to record them. */
  readonly enabled: boolean
  http: RequestMetrics
  tokens: TokenMetrics
  sessions: SessionMetrics
  audit: AuditMetrics
  rateLimits: RateLimitMetrics
  /** One recorder per named cache (`agents`, `roles`, `sessions`). */
  cache(name: string): CacheMetrics
  /** Registers the values read at scrape time. */
  observe(sources: MetricSources): void
}

const nothing = () => undefined

/** Records nothing: for a server whose /metrics is disabled, and for tests. */
export const noMetrics: Metrics = Object.freeze({
  enabled: false,
  http: { request: nothing, refused: nothing },
  tokens: { issued: nothing },
  sessions: { started: nothing, ended: nothing },
  audit: { committed: nothing, failed: nothing },
  rateLimits: { limited: nothing, fallback: nothing },
  cache: () => ({ hit: nothing, miss: nothing }),
  observe: nothing,
})
