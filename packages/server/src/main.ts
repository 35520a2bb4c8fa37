import type { Logger } from 'pino'
import type { FastifyInstance } from 'fastify'
import { openDatabase, sqlStorage, type Engine } from './adapters/storage/sql/index.js'
import type { Config } from './config/config.js'
import { envelope, loadMasterKey } from './crypto/envelope.js'
import { KeyService } from './crypto/key-service.js'
import { SigningThread } from './crypto/signing-thread/signing-thread.js'
import { openCluster, type Cluster } from './adapters/cluster/index.js'
import { startBackgroundWork } from './background-work.js'
import { refreshTokenMint } from './crypto/refresh-tokens.js'
import { digestSecret, digestsEqual, newId, newSecret, newSortableId } from './crypto/secrets.js'
import { AdminCredentials } from './domain/admin/admin-credentials.js'
import { MetricsCredential } from './domain/admin/metrics-credential.js'
import { Readiness } from './domain/readiness.js'
import { prometheusMetrics } from './adapters/metrics/prometheus.js'
import { noMetrics } from './ports/metrics.js'
import { AgentDirectory } from './domain/agents/agent-directory.js'
import { AgentService } from './domain/agents/agent-service.js'
import { RegistrationService } from './domain/agents/registration-service.js'
import { RoleService } from './domain/agents/role-service.js'
import { AuditLog } from './domain/audit/audit-log.js'
import { verifyAuditLog } from './domain/audit/verify.js'
import { RevokedTokens } from './domain/revocations/revoked-tokens.js'
import { RevocationBroadcaster } from './domain/revocations/revocation-broadcaster.js'
import { SessionService } from './domain/sessions/session-service.js'
import { SessionUpkeep } from './domain/sessions/session-upkeep.js'
import { UserService } from './domain/people/user-service.js'
import { argon2Hasher } from './adapters/password/argon2-hasher.js'
import { SignInService } from './domain/people/sign-in-service.js'
import { ConsentService } from './domain/consents/consent-service.js'
import { AuthorizationService } from './domain/authorizations/authorization-service.js'
import { AuthorizationCodes } from './domain/authorizations/authorization-codes.js'
import { GrantRefresh } from './domain/authorizations/grant-refresh.js'
import { authorizeEndpoint } from './protocol/authorize/authorize-endpoint.js'
import { consentAnswer } from './protocol/authorize/consent-answer.js'
import { requestSeal } from './protocol/authorize/sealed-request.js'
import { authorizationCodeGrant } from './protocol/grants/authorization-code.js'
import { idTokens } from './protocol/oidc/id-token.js'
import { DeviceAuthorizations } from './domain/devices/device-authorizations.js'
import { DevicePolling } from './domain/devices/device-polling.js'
import { UserCodeThrottle } from './domain/devices/user-code-throttle.js'
import { csrfTokens } from './crypto/csrf-tokens.js'
import { httpProber } from './adapters/health-check/http-prober.js'
import { openRateLimitBackend, type RateLimitBackend } from './adapters/shared-state/index.js'
import { RefusalTally } from './domain/rate-limits/refusal-tally.js'
import { createLogger } from './logging.js'
import { buildHttpApp } from './http/app.js'
import { trackSilentConnections } from './http/silent-connections.js'
import { systemClock, type Clock } from './ports/clock.js'
import { accessTokens } from './protocol/access-token.js'
import { clientAuthenticator } from './protocol/client-auth/authenticate.js'
import { clientCredentialsGrant } from './protocol/grants/client-credentials.js'
import { grantTable } from './protocol/grants/index.js'
import { refreshTokenGrant } from './protocol/grants/refresh-token.js'
import { deviceCodeGrant } from './protocol/grants/device-code.js'
import { deviceAuthorizationEndpoint } from './protocol/device/device-authorization-endpoint.js'
import { deviceTokenIssuer } from './protocol/device/device-token-issuer.js'
import { introspection } from './protocol/introspection.js'
import { userInfo } from './protocol/userinfo.js'
import { revocation } from './protocol/revocation.js'
import { sessionStart } from './protocol/session-endpoint.js'
import { tokenEndpoint } from './protocol/token-endpoint.js'

export interface MandateDeps {
  clock?: Clock
  logger?: Logger
}

export interface Mandate {
  app: FastifyInstance
  engine: Engine
  issuer(): string
  /** Set on the first start of an empty database without MANDATE_ADMIN_TOKEN: show it once. */
  generatedAdminToken: string | undefined
  /** Session upkeep, run in the background; tests on a simulated clock call it directly. */
  sessionUpkeep: Pick<SessionUpkeep, 'sweep' | 'probe' | 'launchProbes'>
  /** People's consents (the authorization endpoint grants them; tests grant them directly). */
  consents: ConsentService
  /** Whether this node runs the cluster's background work now. */
  isLeader(): boolean
  /** Starts listening; returns the base URL. */
  listen(): Promise<string>
  /** Stops accepting, finishes in-flight requests, flushes the audit log, closes the database. */
  close(): Promise<void>
  /** Rate limits: the backend's health, requests refused since start, and a flush of the refusal tally into the audit log. */
  rateLimits: { health: RateLimitBackend['health']; refused(): number; flush(): Promise<void> }
}

const secrets = { newSecret, newId, digest: digestSecret }

/** The composition root: config -> adapters -> services -> http. Nothing else wires. */
export async function createMandate(config: Readonly<Config>, deps: MandateDeps = {}): Promise<Mandate> {
  const clock = deps.clock ?? systemClock()
  const logger = deps.logger ?? createLogger(config.logLevel)
  const database = await openDatabase(config.db)
  let rateLimits: RateLimitBackend | undefined
  let cluster: Cluster | undefined
  // Tokens are signed off the event loop; the thread starts with the first token.
  const signing = new SigningThread((err) => logger.error({ err }, 'the signing thread failed; tokens are signed on the main thread from now on'))
  try {
    const storage = sqlStorage(database)
    // Recorded only when someone may read them (MANDATE_METRICS_TOKEN); one registry per server.
    const metrics = config.metricsToken === null ? undefined : prometheusMetrics()
    const recorders = metrics ?? noMetrics
    const { key: kek } = loadMasterKey(config.masterKey, config.dataDir)
    const audit = await AuditLog.open(storage.audit, clock, recorders.audit)
    // This node's audit stream names it to the others; its own notifications come back and are ignored.
    cluster = openCluster({ db: config.db, redisUrl: config.redisUrl, redisPrefix: config.redisPrefix, node: audit.streamId, logger })
    const { changes, leadership } = cluster
    const keys = new KeyService(storage.keys, envelope(kek), clock, {
      domain: 'agent-tokens',
      alg: 'ES256',
      retiredPublishSeconds: config.maxTokenTtlSeconds + 60,
      changes,
      signerFor: signing.signerFor,
    })
    const { generated } = await keys.start()
    if (generated) await audit.record({ actorType: 'system', actorId: null, action: 'key.generated', outcome: 'success', target: keys.signer().kid, details: { domain: 'agent-tokens', alg: 'ES256' } })

    let issuer = config.issuer ?? defaultIssuer(config.host, config.port)
    const directory = new AgentDirectory(storage.agents, storage.roles, clock, { cacheMetrics: (name) => recorders.cache(name), changes })
    const agents = new AgentService(storage.agents, directory, audit, clock, config.maxTokenTtlSeconds)
    const roles = new RoleService(storage.roles, storage.registrations, secrets, audit, clock, config.maxTokenTtlSeconds, directory)
    const registration = new RegistrationService(storage.registrations, storage.agents, storage.roles, agents, directory, secrets, audit, clock)
    const admins = new AdminCredentials(storage.adminCredentials, secrets, clock, config.adminToken)
    const generatedAdminToken = await admins.bootstrap()
    const passwords = argon2Hasher()
    const users = new UserService({ repo: storage.users, hasher: passwords, audit, clock, newId: (now) => newSortableId('usr_', now) })
    if (generatedAdminToken) await audit.record({ actorType: 'system', actorId: null, action: 'admin.credential_created', outcome: 'success', reason: 'first start without MANDATE_ADMIN_TOKEN' })

    const tokens = accessTokens(keys, () => issuer)
    const clients = clientAuthenticator(directory, { digest: digestSecret, equal: digestsEqual }, clock)
    const roleOf = (name: string) => directory.role(name)
    const sessions = new SessionService({
      repo: storage.sessions, mint: refreshTokenMint(kek), audit, clock, roleOf,
      newId: (now) => newSortableId('ses_', now),
      retireAgent: (id, reason, ctx) => agents.retire(id, reason, ctx),
      maxTokenTtlSeconds: config.maxTokenTtlSeconds,
      metrics: { sessions: recorders.sessions, cache: recorders.cache('sessions') },
      changes,
    })
    // What other nodes changed: drop it from this node's caches (or everything, after a reconnect).
    changes.subscribe((change) => {
      directory.forget(change)
      sessions.forget(change)
      if (change.kind === 'keys' || change.kind === 'all') keys.refresh().catch((err: unknown) => logger.warn({ err }, 'key refresh after a rotation elsewhere failed'))
    })
    leadership.start((leading) => logger.info({ leading }, leading ? 'this node now runs the background work' : 'this node no longer runs the background work'))
    // A suspended or retired agent's sessions end with it.
    agents.onDeactivated((agent, ctx) => sessions.endForAgent(agent, ctx))
    // A lowered max_session_seconds reaches sessions already running.
    roles.onUpdated((role) => sessions.applyCeiling(role))
    const sessionUpkeep = new SessionUpkeep({ repo: storage.sessions, sessions, prober: httpProber(), roleOf, clock })
    const broadcaster = new RevocationBroadcaster(storage.revocationFeed, 250, (err) => logger.warn({ err }, 'revocation feed poll failed'))
    const revoked = new RevokedTokens(storage.revocations, broadcaster, clock, changes)
    changes.subscribe((change) => revoked.heard(change))
    await revoked.start()
    recorders.observe({ auditQueueDepth: () => audit.queued, revocationStreams: () => broadcaster.subscribers, databasePool: () => database.poolStats() })
    const readiness = new Readiness(() => database.ping(), 1000)
    rateLimits = await openRateLimitBackend({ ...config, now: () => clock.now() }, logger, recorders.rateLimits)
    const refusals = new RefusalTally(audit)
    const consents = new ConsentService({
      repo: storage.consents, audit, clock, roleOf, validitySeconds: config.consentDays * 86_400, newId: (now) => newSortableId('cns_', now),
    })
    const signIn = new SignInService({
      users: storage.users, sessions: storage.userSessions, hasher: passwords, limiter: rateLimits.limiter, refusals, events: recorders.rateLimits,
      policies: { account: config.signInAccountRateLimit, address: config.signInAddressRateLimit }, audit, clock,
      idleSeconds: config.userSessionIdleSeconds, maxSeconds: config.userSessionMaxSeconds,
      newSessionId: (now) => newSortableId('uss_', now), newSecret: () => newSecret('mdu_'), digest: digestSecret,
    })
    // People's grants: authorization codes, rotating refresh tokens (`mdg_`), and what ends them.
    const personRefreshMint = refreshTokenMint(kek, 'mdg_')
    const authorizations = new AuthorizationService({
      repo: storage.authorizations, mint: personRefreshMint, tokens, users: storage.users, consents, audit, clock, changes,
      // OIDC Core §2: ID tokens with the code grant (and on refresh) when openid is granted.
      idTokens: idTokens({ keys, issuer: () => issuer, clock, ttlSeconds: config.idTokenTtlSeconds }),
      newGrantId: (now) => newSortableId('grt_', now), maxTokenTtlSeconds: config.maxTokenTtlSeconds, refreshWindowMs: config.refreshRetryWindowSeconds * 1000,
    })
    const codes = new AuthorizationCodes({ repo: storage.authorizations, grants: authorizations, consents, mint: personRefreshMint, audit, clock, newSecret, newId, digest: digestSecret })
    const grantRefresh = new GrantRefresh({ repo: storage.authorizations, mint: personRefreshMint, grants: authorizations, clock })
    // Withdrawing a consent ends, before the withdrawal answers, every grant and unredeemed code under it.
    consents.onWithdrawn((consent, ctx) => authorizations.endForConsent(consent.id, ctx))
    changes.subscribe((change) => authorizations.forget(change))
    const authorize = authorizeEndpoint({ clients: directory, consents, codes, issuer: () => issuer, clock })
    const seal = requestSeal(kek)
    // RFC 8628: device codes for agents without a browser, approved by a signed-in person.
    const devices = new DeviceAuthorizations({
      repo: storage.deviceCodes, agents: directory, consents, audit, clock,
      throttle: new UserCodeThrottle({
        limiter: rateLimits.limiter, refusals, events: recorders.rateLimits, now: () => clock.now(),
        policies: { person: config.userCodePersonRateLimit, address: config.userCodeAddressRateLimit },
      }),
      ttlSeconds: config.deviceCodeTtlSeconds, intervalSeconds: config.devicePollIntervalSeconds,
      newId: (now) => newSortableId('dvc_', now), newDeviceCode: () => newSecret('mdd_'), digest: digestSecret,
    })
    const devicePolling = new DevicePolling({ repo: storage.deviceCodes, users: storage.users, consents, clock, digest: digestSecret })
    // Suspending a person ends, before the suspension answers, every grant, unredeemed code and unexchanged device approval of theirs.
    users.onSuspended(async (user, ctx) => {
      await devices.withdrawApprovals(user.id, 'user_suspended', ctx)
      await authorizations.endForUser(user.id, 'user_suspended', ctx)
    })
    const grants = grantTable([deviceCodeGrant({ polling: devicePolling, issuer: deviceTokenIssuer(authorizations) }), clientCredentialsGrant({ tokens, clock }), refreshTokenGrant({ sessions, tokens, clock, people: { refresh: grantRefresh, grants: authorizations } }), authorizationCodeGrant({ codes, grants: authorizations })])

    const app = await buildHttpApp(
      {
        issuer: () => issuer,
        keys,
        clients,
        token: tokenEndpoint({ grants, clients, audit, metrics: recorders.tokens }),
        introspect: introspection({ verifier: tokens, directory, revocations: revoked, sessions, clock, grants: authorizations }),
        userInfo: userInfo({
          verifier: tokens, revocations: revoked, directory, users: storage.users, issuer: () => issuer, clock,
          // A person's token lives only as long as its grant (ended by withdrawal, reuse, revocation).
          grantLive: async (claims, now) => claims.sid !== undefined && (await authorizations.live(claims.sid, now)) !== undefined,
        }),
        revoke: revocation({ verifier: tokens, revocations: revoked, sessions, audit, clock, grants: grantRefresh }),
        registration,
        roles,
        agents,
        users,
        signIn,
        csrf: csrfTokens(kek),
        people: { idleSeconds: config.userSessionIdleSeconds },
        consents,
        authorization: {
          endpoint: authorize,
          answer: consentAnswer({ seal, clients: directory, consents, endpoint: authorize, forms: storage.consentForms, clock }),
          seal,
          ownerOf: (agent) => consents.ownerOf(agent),
          consentValiditySeconds: consents.validitySeconds,
        },
        device: {
          authorize: deviceAuthorizationEndpoint({ devices, audit, issuer: () => issuer }),
          addressRateLimit: config.deviceAuthorizationRateLimit,
          flow: devices,
          ownerOf: (agent) => consents.ownerOf(agent),
          consentValiditySeconds: consents.validitySeconds,
        },
        admins,
        audit,
        auditLog: { query: (q) => storage.audit.query(q), verify: () => verifyAuditLog(storage.audit) },
        sessions,
        startSession: sessionStart({ sessions, tokens, clock, metrics: recorders.tokens }),
        revocationFeed: storage.revocationFeed,
        revocations: broadcaster,
        clock,
        rateLimits: { limiter: rateLimits.limiter, refusals, events: recorders.rateLimits, policies: { register: config.registerRateLimit, authFailures: config.authFailureRateLimit, authorize: config.authorizeRateLimit } },
        readiness,
        metrics: {
          credential: new MetricsCredential(config.metricsToken, digestSecret),
          scrape: () => (metrics ? metrics.scrape() : Promise.reject(new Error('metrics are disabled'))),
        },
      },
      { bodyLimitBytes: config.bodyLimitBytes, requestTimeoutSeconds: config.requestTimeoutSeconds, trustProxy: config.trustProxy, logger, metrics: metrics?.http },
    )

    const connections = trackSilentConnections(app.server)
    const timers = startBackgroundWork({ keys, storage, agents, sessionUpkeep, audit, leadership, clock, logger, keyRotationDays: config.keyRotationDays })
    const limits = rateLimits
    // One rate_limit.exceeded event per agent or address per minute, however many were refused.
    const tallyTimer = setInterval(() => {
      limits.sweep()
      refusals.flush().catch((err: unknown) => logger.warn({ err }, 'could not audit rate-limit refusals; they are kept for the next minute'))
    }, 60_000)
    tallyTimer.unref()
    timers.push(tallyTimer)
    let closed = false
    return {
      app,
      engine: database.engine,
      issuer: () => issuer,
      generatedAdminToken,
      sessionUpkeep,
      consents,
      isLeader: () => leadership.isLeader(),
      rateLimits: { health: () => limits.health(), refused: () => refusals.refused, flush: () => refusals.flush() },
      async listen() {
        await app.listen({ host: config.host, port: config.port })
        const address = app.server.address()
        const port = typeof address === 'object' && address ? address.port : config.port
        if (config.issuer === null) issuer = defaultIssuer(config.host, port)
        return `http://${urlHost(config.host)}:${port}`
      },
      async close() {
        if (closed) return
        closed = true
        readiness.shutdownStarted()
        timers.forEach(clearInterval)
        // A client that never finishes its request must not hold the process: after the grace
        // period every connection still open is closed and its request abandoned.
        const force = setTimeout(() => app.server.closeAllConnections(), config.shutdownGraceSeconds * 1000)
        const closing = app.close()
        // Connections that never sent a request go now; the others get the grace period.
        connections.closeSilent()
        await closing
        clearTimeout(force)
        revoked.stop()
        await broadcaster.close()
        // Refusals tallied since the last flush are audited before the log closes: none are lost on SIGTERM.
        await refusals.flush().catch((err: unknown) => logger.error({ err, refused: refusals.refused }, 'could not audit the rate-limit refusals of the last window'))
        limits.close()
        await signing.close()
        await cluster?.close()
        await audit.close()
        await database.close()
      },
    }
  } catch (err) {
    rateLimits?.close()
    await signing.close()
    await cluster?.close().catch(() => undefined)
    await database.close().catch(() => undefined)
    throw err
  }
}

/** The host as it appears in a URL; a wildcard address is shown as loopback (the issuer is then set explicitly). */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::' || host === '[::]') return '[::1]'
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host
}

function defaultIssuer(host: string, port: number): string {
  return `http://${urlHost(host)}:${port}`
}
