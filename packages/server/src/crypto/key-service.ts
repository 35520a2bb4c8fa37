import { exportJWK, generateKeyPair, importJWK, calculateJwkThumbprint, type CryptoKey, type JWK } from 'jose'
import type { ChangeNotifier } from '../ports/change-notifier.js'
import type { Clock } from '../ports/clock.js'
import type { KeyDomain, KeyStore, StoredKey } from '../ports/key-store.js'
import { StandbyKeyNotReady } from '../domain/errors.js'
import { inProcessSigner, type CompactSigner } from './compact-jws.js'
import { MasterKeyError, type Envelope } from './envelope.js'

/** How often every node re-reads the keys. */
export const KEY_REFRESH_SECONDS = 10
/** How long verifiers may cache the JWKS (`Cache-Control` on `/jwks`). */
export const JWKS_MAX_AGE_SECONDS = 60
/** A standby key signs only once it has been published this long: every cached JWKS and every node then holds it. */
export const PUBLISH_AHEAD_SECONDS = JWKS_MAX_AGE_SECONDS + KEY_REFRESH_SECONDS

export type SigningAlg = 'ES256'
type Key = CryptoKey | Uint8Array

export interface ActiveSigner {
  kid: string
  alg: SigningAlg
  key: Key
  /** Signs compact JWS with the key (see compact-jws.ts for why not through jose). */
  compact: CompactSigner
}

export interface KeyServiceOptions {
  domain: KeyDomain
  alg: SigningAlg
  /** How long a retired public key stays published: the longest token lifetime, plus skew. */
  retiredPublishSeconds: number
  /** Tells other nodes about a rotation, so they re-read the keys now rather than on their next refresh. */
  changes?: Pick<ChangeNotifier, 'publish'>
  /** Where tokens are signed; default: on the calling thread (the server passes its signing thread). */
  signerFor?: (kid: string, privateKey: CryptoKey) => CompactSigner
}

/**
 * The keys of one domain: the private key that signs now, and the public keys that verify
 * tokens: the signer's, a standby key published ahead of use, and retired keys whose tokens
 * may still be in flight. Loaded from the store at start and on refresh; the signer's private
 * key is decrypted once and kept as a non-extractable key object.
 *
 * Publish-ahead: a rotation promotes the standby, which every verifier (resource servers
 * caching the JWKS, other Mandate nodes between refreshes) has already seen, so the first
 * token it signs verifies everywhere at once.
 */
export class KeyService {
  private current: ActiveSigner | undefined
  private verifiers = new Map<string, Key>()
  private jwksJson = '{"keys":[]}'

  constructor(
    private readonly store: KeyStore,
    private readonly sealer: Envelope,
    private readonly clock: Clock,
    private readonly options: KeyServiceOptions,
  ) {}

  /** Loads the keys, generating the domain's first signer and standby if it has none. */
  async start(): Promise<{ generated: boolean }> {
    let generated = false
    const stored = await this.store.list(this.options.domain)
    if (stored.length === 0) {
      generated = await this.store.insertFirst(await this.newKey(), await this.newKey())
    } else if (!stored.some((k) => k.state === 'next')) {
      await this.store.ensureStandby(await this.newKey())
    }
    await this.refresh()
    return { generated }
  }

  signer(): ActiveSigner {
    if (!this.current) throw new Error(`no active key in domain ${this.options.domain}`)
    return this.current
  }

  verificationKey(kid: string): Key | undefined {
    return this.verifiers.get(kid)
  }

  /** The published JWK Set (RFC 7517 §5), pre-serialised. */
  jwks(): string {
    return this.jwksJson
  }

  /**
   * Makes the standby key the signer and publishes a fresh standby; the old signer's public key
   * stays published for retiredPublishSeconds. A standby published less than
   * PUBLISH_AHEAD_SECONDS ago is refused (StandbyKeyNotReady) unless `force`: an emergency
   * rotation accepts that verifiers holding an older JWKS refetch it on the unknown kid.
   * `withdrawPrevious` (the old signer is compromised) unpublishes the retired key at once, so
   * every token it signed stops verifying, and announces it on the revocation feed.
   */
  async rotate(options: { force?: boolean; withdrawPrevious?: boolean } = {}): Promise<{ kid: string; retiredKid: string | undefined }> {
    const now = this.clock.now()
    const retiredPublishUntil = now + this.options.retiredPublishSeconds * 1000
    const rotated = await this.store.rotate(await this.newKey(), {
      retiredPublishUntil,
      promotableCreatedBy: options.force ? undefined : now - PUBLISH_AHEAD_SECONDS * 1000,
      withdrawal: options.withdrawPrevious ? { now, until: retiredPublishUntil } : undefined,
    })
    if (rotated.status === 'standby_too_new') {
      const published = Math.max(0, Math.floor((now - rotated.standbyCreatedAt) / 1000))
      throw new StandbyKeyNotReady(published, Math.max(1, PUBLISH_AHEAD_SECONDS - published))
    }
    // A domain that had no standby got the new key as signer directly; give it a standby now.
    await this.store.ensureStandby(await this.newKey())
    await this.refresh()
    this.options.changes?.publish({ kind: 'keys' })
    return { kid: rotated.kid, retiredKid: rotated.retiredKid }
  }

  /**
   * The rotation schedule: rotates when the standby (made at the last rotation) is older than
   * `periodMs`, so the signer changes about once a period. Returns the rotation, or undefined
   * when none was due. Concurrent calls on several nodes rotate once: the store serialises
   * rotations and the second finds a fresh standby.
   */
  async rotateIfDue(periodMs: number): Promise<{ kid: string; retiredKid: string | undefined } | undefined> {
    const standby = (await this.store.list(this.options.domain)).find((k) => k.state === 'next')
    if (standby && standby.createdAt > this.clock.now() - periodMs) return undefined
    try {
      return await this.rotate()
    } catch (err) {
      if (err instanceof StandbyKeyNotReady) return undefined // another node rotated just now
      throw err
    }
  }

  /** Re-reads the store: picks up rotations made by another node or by the CLI. */
  async refresh(): Promise<void> {
    const now = this.clock.now()
    const stateOrder = { active: 0, next: 1, retired: 2 } as const
    const stored = (await this.store.list(this.options.domain))
      .filter((k) => k.state !== 'retired' || (k.publishUntil ?? 0) > now)
      // The signer first: some verifiers try the first key of a set when a token has no kid.
      .sort((a, b) => stateOrder[a.state] - stateOrder[b.state] || b.createdAt - a.createdAt)
    const verifiers = new Map<string, Key>()
    const published: JWK[] = []
    let current: ActiveSigner | undefined
    for (const k of stored) {
      const jwk = JSON.parse(k.publicJwk) as JWK
      verifiers.set(k.kid, this.verifiers.get(k.kid) ?? (await importJWK(jwk, k.alg)))
      published.push(jwk)
      if (k.state === 'active') {
        if (this.current?.kid === k.kid) current = this.current
        else {
          const privateKey = await this.openPrivateKey(k)
          current = { kid: k.kid, alg: k.alg as SigningAlg, key: privateKey, compact: (this.options.signerFor ?? inProcessSigner)(k.kid, privateKey as CryptoKey) }
        }
      }
    }
    this.verifiers = verifiers
    this.current = current
    this.jwksJson = JSON.stringify({ keys: published })
  }

  private async openPrivateKey(k: StoredKey): Promise<Key> {
    let plaintext: string
    try {
      plaintext = await this.sealer.open(k.privateJwe, k.kid)
    } catch (err) {
      if (err instanceof MasterKeyError) throw err
      throw new MasterKeyError(`cannot decrypt signing key ${k.kid}; is this the master key it was stored under? (${(err as Error).message})`)
    }
    return importJWK(JSON.parse(plaintext) as JWK, k.alg)
  }

  private async newKey(): Promise<StoredKey> {
    const { publicKey, privateKey } = await generateKeyPair(this.options.alg, { extractable: true })
    const publicJwk = await exportJWK(publicKey)
    const kid = await calculateJwkThumbprint(publicJwk) // RFC 7638: a kid derived from the key itself
    const published: JWK = { ...publicJwk, kid, alg: this.options.alg, use: 'sig' }
    return {
      kid,
      domain: this.options.domain,
      alg: this.options.alg,
      publicJwk: JSON.stringify(published),
      privateJwe: await this.sealer.seal(JSON.stringify(await exportJWK(privateKey)), kid),
      state: 'next',
      createdAt: this.clock.now(),
      publishUntil: null,
    }
  }
}
