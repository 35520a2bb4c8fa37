import { Discovery } from '../discovery/metadata.js'
import { Transport, type FetchLike } from '../http/transport.js'
import { consoleLogger, type Logger } from '../logger.js'
import { RevocationSet, type RevokedBy } from '../revocations/revocation-set.js'
import { RevocationStream } from '../revocations/revocation-stream.js'
import { extractBearer } from './bearer-header.js'
import { typedClaims, type AccessTokenClaims } from './claims.js'
import { BearerError, VerifierUnavailableError, type BearerErrorCode } from './errors.js'
import { JwtCheck } from './jwt-check.js'
import { StalenessPolicy, type WhenStale } from './staleness.js'

export interface VerifierOptions {
  /** The issuer, exactly as its metadata states it (RFC 8414 §3.3). */
  issuer: string
  /** This resource server's identifier(s); a token's `aud` must contain one (RFC 9068 §4). */
  audience: string | readonly string[]
  /** Accepted JWS algorithms; ES256 by default. `none` and HMAC are never accepted. */
  algorithms?: readonly string[]
  /** Leeway for exp and nbf. Default 5 s. */
  clockToleranceSeconds?: number
  /** Scopes every token must carry (insufficient_scope otherwise). */
  requiredScopes?: readonly string[]
  /**
   * A resource server's own agent credentials (its role has "can_introspect": true). With them the
   * verifier follows the revocation stream and refuses revoked tokens, sessions and agents.
   */
  credentials?: { clientId: string; clientSecret: string }
  /**
   * How long the revocation stream may be down before `whenStale` applies. Default 30 s. A connected
   * stream counts as current while it hears from the server at least every keepalive interval
   * (15 s), so a bound below that still only applies once the stream is down or has gone silent.
   */
  maxStalenessSeconds?: number
  /** What to do with tokens while the stream has been down longer than maxStalenessSeconds. Default 'refuse'. */
  whenStale?: WhenStale
  /** How long verify() waits for the stream's first `synced` before refusing. Default 5 s. */
  syncTimeoutSeconds?: number
  /** RFC 6750 §3 realm in challenges; the first audience by default. */
  realm?: string
  /** RFC 9728 §5.1: the URL of this resource's protected-resource metadata, sent in challenges. */
  resourceMetadata?: string
  /**
   * Minimum time between two JWKS fetches, so tokens with made-up `kid`s cannot make the verifier
   * hammer the server: an unknown `kid` refetches the keys only this long after the last fetch.
   * Default 5 s.
   */
  jwksCooldownSeconds?: number
  /**
   * The longest fetched keys are used. They are fetched again sooner when the JWKS response's
   * `Cache-Control: max-age` is shorter (Mandate sends 60 s); while the server cannot be reached,
   * the keys at hand are used up to this bound. Default 600 s.
   */
  jwksCacheMaxAgeSeconds?: number
  fetch?: FetchLike
  logger?: Logger
  metadataUrl?: string
}

export interface VerifyOptions {
  /** Overrides the verifier's requiredScopes for this call. */
  requiredScopes?: readonly string[]
}

export interface Verifier {
  /** Verifies a bearer token; throws BearerError (RFC 6750) or VerifierUnavailableError (503). */
  verify(token: string, options?: VerifyOptions): Promise<AccessTokenClaims>
  /** Reads `Authorization: Bearer …` (RFC 6750 §2.1) and verifies it. */
  authenticate(authorization: string | readonly string[] | undefined | null, options?: VerifyOptions): Promise<AccessTokenClaims>
  /** Resolves once the revocation stream has synced (at once without credentials); rejects after the timeout. */
  ready(timeoutSeconds?: number): Promise<void>
  /** The revocation stream's state, for health checks. */
  revocationStatus(): { following: boolean; synced: boolean; stalenessSeconds: number; cursor: string | undefined }
  /** Stops the revocation stream. */
  close(): void
}

/** What a refusal says, by what revoked the token. */
const REVOKED: Record<RevokedBy, string> = {
  token: 'the token has been revoked',
  session: 'the session has ended',
  agent: 'the agent has been revoked',
  key: 'the token was signed with a withdrawn key',
}

export function createVerifier(options: VerifierOptions): Verifier {
  const logger = options.logger ?? consoleLogger
  const fetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  const transport = new Transport({ fetch })
  const discovery = new Discovery(options.issuer, transport, options.metadataUrl)
  const audience = typeof options.audience === 'string' ? [options.audience] : [...options.audience]
  if (audience.length === 0) throw new TypeError('createVerifier: audience is required')
  const tolerance = options.clockToleranceSeconds ?? 5
  const challenge = { realm: options.realm ?? audience[0], resourceMetadata: options.resourceMetadata }
  const refuse = (code: BearerErrorCode, description: string, extra?: { scope?: string; tokenMissing?: boolean }) => new BearerError(code, description, challenge, extra)
  const set = new RevocationSet(tolerance)
  const jwt = new JwtCheck(discovery, {
    issuer: options.issuer,
    audience,
    algorithms: options.algorithms ?? ['ES256'],
    clockToleranceSeconds: tolerance,
    jwksCooldownSeconds: options.jwksCooldownSeconds ?? 5,
    jwksCacheMaxAgeSeconds: options.jwksCacheMaxAgeSeconds ?? 600,
    fetch,
    now: Date.now,
    isWithdrawnKey: (kid) => set.isWithdrawnKey(kid),
  })

  const creds = options.credentials
  const stream = creds
    ? new RevocationStream({ url: () => discovery.endpoint('mandate_revocations_stream_endpoint'), clientId: creds.clientId, clientSecret: creds.clientSecret, set, fetch, logger, now: Date.now })
    : undefined
  stream?.start()
  const syncTimeoutMs = (options.syncTimeoutSeconds ?? 5) * 1000
  const staleness = new StalenessPolicy(options.maxStalenessSeconds ?? 30, options.whenStale ?? 'refuse', logger)

  /** The JWT checks: signature (with a key that is not withdrawn), typ, algorithm, claims. */
  async function checkJwt(token: string): Promise<{ claims: AccessTokenClaims; kid: string | undefined }> {
    const outcome = await jwt.check(token)
    if (!outcome.ok) {
      if ('unavailable' in outcome) throw new VerifierUnavailableError(outcome.unavailable)
      throw refuse('invalid_token', outcome.invalid)
    }
    const claims = typedClaims(outcome.payload)
    if (typeof claims === 'string') throw refuse('invalid_token', `the token's ${claims} claim is missing or malformed`)
    return { claims, kid: outcome.kid }
  }

  async function verify(token: string, call: VerifyOptions = {}): Promise<AccessTokenClaims> {
    let { claims, kid } = await checkJwt(token)
    if (stream) {
      // Until the backlog is in, a revoked token would look fine: wait (bounded), then refuse.
      if (!stream.everSynced) {
        if (!(await stream.whenSynced(syncTimeoutMs))) throw new VerifierUnavailableError('the revocation feed has not synced yet')
        // The backlog may have withdrawn the key that verified it, and a token without a kid does
        // not say which key that was: verify it again, now that withdrawn keys are left out.
        if (kid === undefined) ({ claims, kid } = await checkJwt(token))
      }
      const revoked = set.check({ ...claims, kid }, Date.now() / 1000)
      if (revoked) throw refuse('invalid_token', REVOKED[revoked])
      staleness.apply(stream.staleness())
    }
    const required = call.requiredScopes ?? options.requiredScopes ?? []
    const missing = required.filter((s) => !claims.scopes.includes(s))
    // RFC 6750 §3.1: insufficient_scope names the scope needed.
    if (missing.length > 0) throw refuse('insufficient_scope', `the token lacks scope ${missing.join(' ')}`, { scope: required.join(' ') })
    return claims
  }

  return {
    verify,
    async authenticate(authorization, call) {
      const found = extractBearer(authorization)
      if ('missing' in found) throw refuse('invalid_request', 'a bearer token is required', { tokenMissing: true })
      if ('malformed' in found) throw refuse('invalid_request', found.malformed)
      return verify(found.token, call)
    },
    async ready(timeoutSeconds = 30) {
      if (stream && !(await stream.whenSynced(timeoutSeconds * 1000))) throw new VerifierUnavailableError('the revocation feed has not synced yet')
    },
    revocationStatus() {
      return { following: stream !== undefined, synced: stream?.everSynced ?? false, stalenessSeconds: (stream?.staleness() ?? 0) / 1000, cursor: stream?.cursor }
    },
    close() {
      stream?.close()
    },
  }
}
