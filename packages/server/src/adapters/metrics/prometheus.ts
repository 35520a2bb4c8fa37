import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { CacheMetrics, MetricSources, Metrics } from '../../ports/metrics.js'

export interface PrometheusMetrics extends Metrics {
  /** The Prometheus text exposition of everything this server instance recorded. */
  scrape(): Promise<{ contentType: string; body: string }>
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx']
/** The route label of a request no route matched (404, 405, malformed URLs). */
const UNMATCHED = 'unmatched'

/**
 * One registry per server instance (several servers may share a process, as in the tests):
 * prom-client's global registry is never used. Labelled children are created once per label
 * combination and kept, so recording costs a map lookup or two and no allocation.
 */
export function prometheusMetrics(): PrometheusMetrics {
  const registry = new Registry()
  const registers = [registry]
  // Process metrics (CPU, memory, file descriptors, GC, event-loop lag), read at scrape time.
  collectDefaultMetrics({ register: registry })

  const duration = new Histogram({
    name: 'mandate_http_request_duration_seconds',
    help: 'Time from receiving a request to the end of its response, by route pattern, method and status class. Revocation streams are not included.',
    labelNames: ['route', 'method', 'status_class'], buckets: LATENCY_BUCKETS, registers,
  })
  const refusals = new Counter({
    name: 'mandate_refusals_total',
    help: 'Requests answered with an error, by route pattern and OAuth error code (invalid_client, invalid_scope, rate_limited, temporarily_unavailable, server_error, ...).',
    labelNames: ['route', 'reason'], registers,
  })
  const issued = new Counter({
    name: 'mandate_tokens_issued_total',
    help: 'Access tokens signed, by grant type (client_credentials, refresh_token, or session_start for the first token of a session) and the agent\'s role.',
    labelNames: ['grant_type', 'role'], registers,
  })
  const sessionsStarted = new Counter({ name: 'mandate_sessions_started_total', help: 'Task-bound sessions started on this node.', registers })
  const sessionsEnded = new Counter({
    name: 'mandate_sessions_ended_total',
    help: 'Task-bound sessions ended by this node (each session is counted once, by the node that ended it), by final state: completed, expired or terminated.',
    labelNames: ['state'], registers,
  })
  const commitSeconds = new Histogram({
    name: 'mandate_audit_commit_duration_seconds',
    help: 'Time one audit group commit (one transaction, one fsync on SQLite) took to write. Requests wait for it before they are answered.',
    buckets: COMMIT_BUCKETS, registers,
  })
  const batchEvents = new Histogram({ name: 'mandate_audit_batch_events', help: 'Audit events written per group commit.', buckets: BATCH_BUCKETS, registers })
  const commitFailures = new Counter({
    name: 'mandate_audit_commit_failures_total',
    help: 'Audit group commits that failed (database unavailable); the requests waiting on them were refused with 503.',
    registers,
  })
  const cacheLookups = new Counter({
    name: 'mandate_cache_lookups_total',
    help: 'Lookups in the in-process caches (agents, roles, sessions; each entry lives 1 s), by cache and result (hit or miss; a miss reads the database).',
    labelNames: ['cache', 'result'], registers,
  })
  const limited = new Counter({
    name: 'mandate_rate_limited_total',
    help: 'Requests refused with 429 for exceeding a rate limit, by kind of limit.',
    labelNames: ['kind'], registers,
  })
  const fallback = new Gauge({
    name: 'mandate_rate_limiter_local_fallback',
    help: '1 while the rate limiter counts on this node alone because the shared store (Redis) is unreachable, else 0.',
    registers,
  })
  fallback.set(0)

  let sources: MetricSources | undefined
  new Gauge({
    name: 'mandate_audit_queue_depth', help: 'Audit events waiting to be written on this node, including the batch being written.', registers,
    collect() {
      if (sources) this.set(sources.auditQueueDepth())
    },
  })
  new Gauge({
    name: 'mandate_revocation_streams', help: 'Open revocation streams (GET /revocations/stream, Server-Sent Events) on this node.', registers,
    collect() {
      if (sources) this.set(sources.revocationStreams())
    },
  })
  new Gauge({
    name: 'mandate_db_pool_connections', help: 'PostgreSQL connection pool of this node: total open, idle, and waiting (requests queued for a connection). Absent on SQLite.',
    labelNames: ['state'], registers,
    collect() {
      const pool = sources?.databasePool()
      if (!pool) return
      this.labels('total').set(pool.total)
      this.labels('idle').set(pool.idle)
      this.labels('waiting').set(pool.waiting)
    },
  })

  const durations = nested((route, method) => STATUS_CLASSES.map((c) => duration.labels(route, method, c)))
  const refusalsBy = nested((route, reason) => refusals.labels(route, reason))
  const issuedBy = nested((grant, role) => issued.labels(grant, role))
  const endedBy = new Map<string, { inc(): void }>()
  const limitedBy = new Map<string, { inc(): void }>()

  return {
    enabled: true,
    http: {
      request(route, method, status, seconds) {
        const byClass = durations(route ?? UNMATCHED, METHODS.has(method) ? method : 'OTHER')
        byClass[Math.min(Math.max(Math.floor(status / 100), 1), 5) - 1]!.observe(seconds)
      },
      refused(route, code) {
        refusalsBy(route ?? UNMATCHED, code).inc()
      },
    },
    tokens: {
      issued: (grantType, role) => issuedBy(grantType, role).inc(),
    },
    sessions: {
      started: () => sessionsStarted.inc(),
      ended: (state) => child(endedBy, state, () => sessionsEnded.labels(state)).inc(),
    },
    audit: {
      committed(events, seconds) {
        commitSeconds.observe(seconds)
        batchEvents.observe(events)
      },
      failed: () => commitFailures.inc(),
    },
    rateLimits: {
      limited: (kind) => child(limitedBy, kind, () => limited.labels(kind)).inc(),
      fallback: (active) => fallback.set(active ? 1 : 0),
    },
    cache(name): CacheMetrics {
      const hits = cacheLookups.labels(name, 'hit')
      const misses = cacheLookups.labels(name, 'miss')
      return { hit: () => hits.inc(), miss: () => misses.inc() }
    },
    observe(s) {
      sources = s
    },
    async scrape() {
      return { contentType: registry.contentType, body: await registry.metrics() }
    },
  }
}

function child<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let c = cache.get(key)
  if (c === undefined) cache.set(key, (c = make()))
  return c
}

/** A two-level cache of labelled children: two map lookups per use, no key strings built. */
function nested<T>(make: (a: string, b: string) => T): (a: string, b: string) => T {
  const outer = new Map<string, Map<string, T>>()
  return (a, b) => {
    let inner = outer.get(a)
    if (inner === undefined) outer.set(a, (inner = new Map()))
    return child(inner, b, () => make(a, b))
  }
}
