import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { isIP } from 'node:net'
import type { RatePolicy } from '../ports/rate-limiter.js'
import { PEOPLE_FLAGS, peopleConfig, type PeopleConfig } from './people-config.js'
import { CONSENT_FLAGS, consentConfig, type ConsentConfig } from './consent-config.js'
import { OIDC_FLAGS, oidcConfig, type OidcConfig } from './oidc-config.js'
import { DEVICE_FLAGS, deviceConfig, type DeviceConfig } from './device-config.js'
import { AUTHORIZATION_FLAGS, authorizationConfig, type AuthorizationConfig } from './authorization-config.js'
import { DEFAULT_AUTH_FAILURE_RATE_LIMIT, DEFAULT_REGISTER_RATE_LIMIT, parseRatePolicy, parseRedisPrefix, parseRedisTimeout, parseRedisUrl } from './rate-limit-config.js'

export type DatabaseConfig = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string }
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'

/** People's sessions and sign-in limits: see people-config.ts for flags, env and defaults. */
export interface Config extends PeopleConfig, OidcConfig, ConsentConfig, DeviceConfig, AuthorizationConfig {
  /** Interface to listen on. Flag --host, env MANDATE_HOST. Default 127.0.0.1. */
  host: string
  /** Port to listen on; 0 picks a free one. Flag --port, env MANDATE_PORT. Default 8080. */
  port: number
  /** Issuer URL (RFC 8414 §2). Flag --issuer, env MANDATE_ISSUER. Default http://<host>:<port>. */
  issuer: string | null
  /** Where the SQLite file and the key-encryption key file live. Flag --data-dir, env MANDATE_DATA_DIR. Default ./data. */
  dataDir: string
  /** A file path, ':memory:' or a postgres:// URL. Flag --db, env MANDATE_DB. Default <data-dir>/mandate.db. */
  db: DatabaseConfig
  /** Key-encryption key (32 bytes, base64url). Env MANDATE_MASTER_KEY. Default: a 0600 file in the data dir. */
  masterKey: string | null
  /** An operator-chosen admin bearer credential. Env MANDATE_ADMIN_TOKEN. */
  adminToken: string | null
  /** The bearer credential that reads /metrics (and nothing else); without it /metrics is off. Env MANDATE_METRICS_TOKEN. */
  metricsToken: string | null
  /** Flag --log-level, env MANDATE_LOG_LEVEL. Default info. */
  logLevel: LogLevel
  /** Longest access-token lifetime a role may set; also how long a rotated key stays published. */
  maxTokenTtlSeconds: number
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number
  /**
   * Which proxies in front may set X-Forwarded-For: false (none, the default), true (every hop),
   * a hop count, or proxy addresses/CIDRs. Flag --trust-proxy, env MANDATE_TRUST_PROXY.
   */
  trustProxy: TrustProxy
  /**
   * On SIGTERM, how long requests in flight may take before their connections are closed.
   * Flag --shutdown-grace, env MANDATE_SHUTDOWN_GRACE_SECONDS. Default 10.
   */
  shutdownGraceSeconds: number
  /**
   * How long a client has to send a whole request, headers and body, before it gets 408.
   * Flag --request-timeout, env MANDATE_REQUEST_TIMEOUT_SECONDS. Default 30.
   */
  requestTimeoutSeconds: number
  /**
   * Rate-limit buckets shared by every node: a redis:// or rediss:// URL; null keeps them in this
   * process. An unreachable Redis is not fatal. Flag --redis, env MANDATE_REDIS.
   */
  redisUrl: string | null
  /** Prepended to every Redis key. Flag --redis-prefix, env MANDATE_REDIS_PREFIX. Default mandate:. */
  redisPrefix: string
  /**
   * How long a Redis command may take before this node stops waiting and uses its own buckets
   * (a slow Redis is treated as a missing one, so no request waits on it). Flag --redis-timeout,
   * env MANDATE_REDIS_TIMEOUT_MS, 10 to 10,000 ms. Default 250.
   */
  redisTimeoutMs: number
  /** Requests to /register per client address. Flag --rate-limit-register, env MANDATE_RATE_LIMIT_REGISTER (`per_second:burst`). Default 20:200. */
  registerRateLimit: RatePolicy
  /** Failed client authentications per client address. Flag --rate-limit-auth-failures, env MANDATE_RATE_LIMIT_AUTH_FAILURES. Default 10:100. */
  authFailureRateLimit: RatePolicy
  /**
   * The signing key is rotated this often (by the node that leads); 0 turns the schedule off.
   * Flag --key-rotation-days, env MANDATE_KEY_ROTATION_DAYS. Default 90.
   */
  keyRotationDays: number
}

export type TrustProxy = boolean | number | string[]

export class ConfigError extends Error {}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** Flags win over MANDATE_* environment variables, which win over defaults. The result is frozen. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Readonly<Config> {
  let flags: Record<string, string | boolean | undefined>
  try {
    flags = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        db: { type: 'string' },
        issuer: { type: 'string' },
        'data-dir': { type: 'string' },
        'log-level': { type: 'string' },
        'trust-proxy': { type: 'string' },
        'shutdown-grace': { type: 'string' },
        'request-timeout': { type: 'string' },
        'key-rotation-days': { type: 'string' },
        redis: { type: 'string' },
        'redis-prefix': { type: 'string' },
        'redis-timeout': { type: 'string' },
        'rate-limit-register': { type: 'string' },
        'rate-limit-auth-failures': { type: 'string' },
        ...Object.fromEntries(PEOPLE_FLAGS.map((f) => [f, { type: 'string' as const }])),
        ...Object.fromEntries(CONSENT_FLAGS.map((f) => [f, { type: 'string' as const }])),
        ...Object.fromEntries(OIDC_FLAGS.map((f) => [f, { type: 'string' as const }])),
        ...Object.fromEntries(DEVICE_FLAGS.map((f) => [f, { type: 'string' as const }])),
        ...Object.fromEntries(AUTHORIZATION_FLAGS.map((f) => [f, { type: 'string' as const }])),
      },
      strict: true,
      allowPositionals: false,
    }).values
  } catch (err) {
    throw new ConfigError((err as Error).message)
  }
  const pick = (flag: string, envName: string): string | undefined => {
    const v = flags[flag]
    if (typeof v === 'string') return v
    const e = env[envName]
    return e === undefined || e === '' ? undefined : e
  }

  const host = pick('host', 'MANDATE_HOST') ?? '127.0.0.1'
  const port = parsePort(pick('port', 'MANDATE_PORT') ?? '8080')
  const dataDir = resolve(pick('data-dir', 'MANDATE_DATA_DIR') ?? 'data')
  const issuerRaw = pick('issuer', 'MANDATE_ISSUER')
  const logLevel = (pick('log-level', 'MANDATE_LOG_LEVEL') ?? 'info') as LogLevel
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`log level must be one of ${LOG_LEVELS.join(', ')}`)
  const masterKey = env.MANDATE_MASTER_KEY || null
  const adminToken = env.MANDATE_ADMIN_TOKEN || null
  if (adminToken !== null && adminToken.length < 32) {
    throw new ConfigError('MANDATE_ADMIN_TOKEN must be at least 32 characters')
  }
  const metricsToken = env.MANDATE_METRICS_TOKEN || null
  if (metricsToken !== null && (metricsToken.length < 32 || !/^[A-Za-z0-9\-._~+/]+=*$/.test(metricsToken))) {
    throw new ConfigError('MANDATE_METRICS_TOKEN must be at least 32 characters of A-Z a-z 0-9 - . _ ~ + / (a bearer token, RFC 6750)')
  }
  if (metricsToken !== null && metricsToken === adminToken) throw new ConfigError('MANDATE_METRICS_TOKEN must differ from MANDATE_ADMIN_TOKEN')
  const trustProxy = parseTrustProxy(pick('trust-proxy', 'MANDATE_TRUST_PROXY') ?? 'false')
  const grace = pick('shutdown-grace', 'MANDATE_SHUTDOWN_GRACE_SECONDS') ?? '10'
  if (!/^\d{1,4}$/.test(grace)) throw new ConfigError(`shutdown grace must be a whole number of seconds, got "${grace.slice(0, 32)}"`)
  const requestTimeout = pick('request-timeout', 'MANDATE_REQUEST_TIMEOUT_SECONDS') ?? '30'
  if (!/^\d{1,4}$/.test(requestTimeout) || Number(requestTimeout) < 1) throw new ConfigError(`request timeout must be a whole number of seconds from 1, got "${requestTimeout.slice(0, 32)}"`)
  const rotationDays = pick('key-rotation-days', 'MANDATE_KEY_ROTATION_DAYS') ?? '90'
  if (!/^\d{1,4}$/.test(rotationDays)) throw new ConfigError(`key rotation days must be a whole number (0 turns the schedule off), got "${rotationDays.slice(0, 32)}"`)

  // Refuse rather than guess: every token's iss and every metadata URL would name 0.0.0.0,
  // which no client can reach or validate.
  if (issuerRaw === undefined && isWildcardHost(host)) {
    throw new ConfigError(`host ${host} listens on every interface; set --issuer (MANDATE_ISSUER) to the URL clients reach this server at`)
  }

  return Object.freeze({
    host,
    port,
    issuer: issuerRaw === undefined ? null : parseIssuer(issuerRaw),
    dataDir,
    db: parseDb(pick('db', 'MANDATE_DB'), dataDir),
    masterKey,
    adminToken,
    metricsToken,
    logLevel,
    maxTokenTtlSeconds: 86_400,
    bodyLimitBytes: 64 * 1024,
    trustProxy,
    shutdownGraceSeconds: Number(grace),
    requestTimeoutSeconds: Number(requestTimeout),
    keyRotationDays: Number(rotationDays),
    ...rateLimitConfig(pick),
    ...peopleConfig(pick, (message) => new ConfigError(message)),
    ...consentConfig(pick, (message) => new ConfigError(message)),
    ...oidcConfig(pick, (message) => new ConfigError(message)),
    ...deviceConfig(pick, (message) => new ConfigError(message)),
    ...authorizationConfig(pick, (message) => new ConfigError(message)),
  })
}

function rateLimitConfig(pick: (flag: string, envName: string) => string | undefined) {
  const fail = (message: string) => new ConfigError(message)
  const redis = pick('redis', 'MANDATE_REDIS')
  const register = pick('rate-limit-register', 'MANDATE_RATE_LIMIT_REGISTER')
  const authFailures = pick('rate-limit-auth-failures', 'MANDATE_RATE_LIMIT_AUTH_FAILURES')
  return {
    redisUrl: redis === undefined ? null : parseRedisUrl(redis, fail),
    redisPrefix: parseRedisPrefix(pick('redis-prefix', 'MANDATE_REDIS_PREFIX') ?? 'mandate:', fail),
    redisTimeoutMs: parseRedisTimeout(pick('redis-timeout', 'MANDATE_REDIS_TIMEOUT_MS') ?? '250', fail),
    registerRateLimit: register === undefined ? { ...DEFAULT_REGISTER_RATE_LIMIT } : parseRatePolicy(register, 'the register rate limit', fail),
    authFailureRateLimit: authFailures === undefined ? { ...DEFAULT_AUTH_FAILURE_RATE_LIMIT } : parseRatePolicy(authFailures, 'the failed-authentication rate limit', fail),
  }
}

// Named ranges the proxy-addr library behind Fastify's trustProxy understands.
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal']

/** `true`, `false`, a hop count, or a comma-separated list of proxy addresses, CIDRs and range names. */
function parseTrustProxy(raw: string): TrustProxy {
  const v = raw.trim().toLowerCase()
  if (v === 'true') return true
  if (v === 'false') return false
  if (/^\d{1,2}$/.test(v)) return Number(v)
  const entries = v.split(',').map((e) => e.trim())
  for (const e of entries) {
    const [address, prefix, extra] = e.split('/')
    const family = isIP(address ?? '')
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32))
    if (!PROXY_RANGE_NAMES.includes(e) && (family === 0 || !prefixOk || extra !== undefined)) {
      throw new ConfigError(`trust proxy must be true, false, a hop count, or proxy addresses/CIDRs separated by commas; "${e.slice(0, 64)}" is none of these`)
    }
  }
  return entries
}

function isWildcardHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1')
  if (isIP(bare) === 4) return bare === '0.0.0.0'
  if (isIP(bare) === 6) return new URL(`http://[${bare}]/`).hostname === '[::]'
  return false
}

function parsePort(raw: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw new ConfigError(`port must be a number from 0 to 65535, got "${raw}"`)
  return Number(raw)
}

/** RFC 8414 §2: an https URL with no query or fragment (http is allowed for local use). */
export function parseIssuer(raw: string): string {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`issuer "${raw}" is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError('issuer must be an http(s) URL')
  if (url.search || url.hash || raw.includes('#') || raw.includes('?')) throw new ConfigError('issuer must not have a query or fragment')
  if (url.username || url.password) throw new ConfigError('issuer must not carry credentials')
  return url.href.replace(/\/+$/, '')
}

function parseDb(raw: string | undefined, dataDir: string): DatabaseConfig {
  if (raw === undefined) return { kind: 'sqlite', file: resolve(dataDir, 'mandate.db') }
  if (raw === ':memory:') return { kind: 'sqlite', file: ':memory:' }
  if (/^postgres(ql)?:/i.test(raw)) {
    try {
      new URL(raw)
    } catch {
      throw new ConfigError('database URL is not a valid postgres:// URL')
    }
    return { kind: 'postgres', url: raw }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) throw new ConfigError(`unsupported database URL scheme in "${raw.split(':')[0]}:"; use a file path, :memory: or postgres://`)
  return { kind: 'sqlite', file: resolve(raw) }
}
