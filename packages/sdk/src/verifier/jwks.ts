import { createLocalJWKSet, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose'
import type { FetchLike } from '../http/transport.js'

export interface JwksOptions {
  /** The jwks_uri (discovery may still be running). */
  url: () => Promise<string>
  fetch: FetchLike
  now: () => number
  /** The least time between two fetches: an unknown kid refetches only after it (a flood of made-up kids costs one fetch). */
  cooldownMs: number
  /** The most time fetched keys are used for, whatever the server's Cache-Control says. */
  maxAgeMs: number
  /** How long one fetch may take. */
  timeoutMs?: number
  /** Keys announced as withdrawn on the revocation feed: never used, even while a cached JWKS still lists them. */
  isWithdrawn: (kid: string) => boolean
}

/** The token's kid names a withdrawn key. */
export class WithdrawnKeyError extends Error {
  override name = 'WithdrawnKeyError'
}

/** No keys could be fetched (and none that may still be used are at hand). */
export class KeysUnavailableError extends Error {
  override name = 'KeysUnavailableError'
}

/**
 * The issuer's JWKS (RFC 7517), fetched and cached for jose's jwtVerify.
 *
 * Keys are used for the JWKS response's `Cache-Control: max-age` (less any `Age`), capped at
 * `maxAgeMs` and at least `cooldownMs`; then they are fetched again before the next use. If
 * that fetch fails, the keys at hand go on being used (RFC 9111 §4.2.4 lets a disconnected
 * cache serve stale), at most until `maxAgeMs` after they were fetched, with one new try per
 * cooldown. A token whose kid is not in the set refetches it, at most once per cooldown.
 */
export class JwksCache {
  private keys: JWK[] | undefined
  /** ms epoch when `keys` were fetched, and until when they are fresh. */
  private fetchedAt = 0
  private freshUntil = 0
  /** ms epoch of the last fetch attempt, and whether it failed. */
  private attemptAt = Number.NEGATIVE_INFINITY
  private lastAttemptFailed = false
  private pending: Promise<void> | undefined
  /** jose's key selection over `keys` less the withdrawn ones, rebuilt when either changes. */
  private local: { kids: string; getKey: JWTVerifyGetKey } | undefined

  constructor(private readonly o: JwksOptions) {}

  /** For jwtVerify. Throws WithdrawnKeyError, KeysUnavailableError, or jose's JWKSNoMatchingKey. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const kid = header.kid
    if (kid !== undefined && this.o.isWithdrawn(kid)) throw new WithdrawnKeyError()
    await this.ensureUsable()
    if (kid !== undefined && !this.keys!.some((k) => k.kid === kid)) {
      // A rotation we have not seen yet, or a made-up kid: refetch, but not more than once per cooldown.
      if (this.o.now() - this.attemptAt >= this.o.cooldownMs) {
        await this.reload().catch((err: unknown) => {
          throw new KeysUnavailableError('the JWKS could not be fetched', { cause: err })
        })
      } else if (this.lastAttemptFailed) throw new KeysUnavailableError('the JWKS could not be fetched')
    }
    // The feed may have announced the withdrawal while the keys were fetched.
    if (kid !== undefined && this.o.isWithdrawn(kid)) throw new WithdrawnKeyError()
    return this.selector()(header, token)
  }

  /** Keys that may be used now: fresh ones, or (while the server cannot be reached) ones within maxAgeMs. */
  private async ensureUsable(): Promise<void> {
    const now = this.o.now()
    if (this.keys && now < this.freshUntil) return
    if (this.keys && now - this.fetchedAt < this.o.maxAgeMs) {
      // Past the server's max-age: revalidate, unless a try has just failed.
      if (this.lastAttemptFailed && now - this.attemptAt < this.o.cooldownMs) return
      await this.reload().catch(() => undefined)
      return
    }
    await this.reload().catch((err: unknown) => {
      throw new KeysUnavailableError('the JWKS could not be fetched', { cause: err })
    })
  }

  /** One fetch at a time; everyone waiting shares it. */
  private reload(): Promise<void> {
    if (this.pending) return this.pending
    this.attemptAt = this.o.now()
    const running = this.fetchKeys().then(
      ({ keys, maxAgeMs }) => {
        const now = this.o.now()
        this.keys = keys
        this.fetchedAt = now
        this.freshUntil = now + Math.max(this.o.cooldownMs, Math.min(this.o.maxAgeMs, maxAgeMs ?? Number.POSITIVE_INFINITY))
        this.lastAttemptFailed = false
        this.local = undefined
      },
      (err: unknown) => {
        this.lastAttemptFailed = true
        throw err
      },
    )
    this.pending = running.finally(() => {
      this.pending = undefined
    })
    return this.pending
  }

  private async fetchKeys(): Promise<{ keys: JWK[]; maxAgeMs: number | undefined }> {
    const url = await this.o.url()
    const res = await this.o.fetch(url, {
      method: 'GET',
      headers: { accept: 'application/jwk-set+json, application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(this.o.timeoutMs ?? 5_000),
    })
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined)
      throw new Error(`JWKS answered HTTP ${res.status}`)
    }
    const json = (await res.json()) as JSONWebKeySet
    // jose validates the set's shape (RFC 7517 §5) and throws JWKSInvalid otherwise.
    createLocalJWKSet(json)
    return { keys: json.keys, maxAgeMs: freshnessLifetimeMs(res.headers) }
  }

  /** Key selection over the keys that are not withdrawn (a token without a kid may match any of them). */
  private selector(): JWTVerifyGetKey {
    const usable = this.keys!.filter((k) => k.kid === undefined || !this.o.isWithdrawn(k.kid))
    const kids = usable.map((k) => k.kid ?? '').join(' ')
    if (this.local?.kids !== kids) this.local = { kids, getKey: createLocalJWKSet({ keys: usable }) }
    return this.local.getKey
  }
}

/**
 * RFC 9111 §4.2.1: how long the response stays fresh, from `Cache-Control: max-age` less `Age`
 * (§5.1); `no-cache` and `no-store` make it 0. Undefined when the server says nothing.
 */
export function freshnessLifetimeMs(headers: Headers): number | undefined {
  const cc = headers.get('cache-control')
  if (cc === null) return undefined
  let maxAge: number | undefined
  for (const part of cc.split(',')) {
    const [rawName, rawValue] = part.split('=', 2) as [string, string | undefined]
    const name = rawName.trim().toLowerCase()
    if (name === 'no-cache' || name === 'no-store') return 0
    if (name === 'max-age' && rawValue !== undefined) {
      const v = rawValue.trim().replace(/^"(.*)"$/, '$1')
      if (/^\d+$/.test(v)) maxAge = Number(v)
    }
  }
  if (maxAge === undefined) return undefined
  const age = Number(headers.get('age') ?? '0')
  return Math.max(0, maxAge - (Number.isFinite(age) && age > 0 ? age : 0)) * 1000
}
