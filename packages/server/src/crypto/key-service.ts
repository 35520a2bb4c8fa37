import { exportJWK, generateKeyPair, importJWK, calculateJwkThumbprint, type CryptoKey, type JWK } from 'jose'
import type { Clock } from '../ports/clock.js'
import type { KeyDomain, KeyStore, StoredKey } from '../ports/key-store.js'
import type { Envelope } from './envelope.js'

export type SigningAlg = 'ES256'
type Key = CryptoKey | Uint8Array

export interface ActiveSigner {
  kid: string
  alg: SigningAlg
  key: Key
}

export interface KeyServiceOptions {
  domain: KeyDomain
  alg: SigningAlg
  /** How long a retired public key stays published: the longest token lifetime, plus skew. */
  retiredPublishSeconds: number
}

/**
 * The keys of one domain: the private key that signs now, and the public keys that verify
 * tokens still in flight. Loaded from the store at start and on refresh; private keys are
 * decrypted once and kept as non-extractable key objects.
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

  /** Loads the keys, generating the domain's first key if it has none. */
  async start(): Promise<{ generated: boolean }> {
    let generated = false
    if ((await this.store.list(this.options.domain)).length === 0) {
      generated = await this.store.insertFirst(await this.newKey())
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

  /** Makes a fresh key the signer; the old public key stays published for retiredPublishSeconds. */
  async rotate(): Promise<{ kid: string; retiredKid: string | undefined }> {
    const next = await this.newKey()
    const { retiredKid } = await this.store.rotate(next, this.clock.now() + this.options.retiredPublishSeconds * 1000)
    await this.refresh()
    return { kid: next.kid, retiredKid }
  }

  /** Re-reads the store: picks up rotations made by another node or by the CLI. */
  async refresh(): Promise<void> {
    const now = this.clock.now()
    const stored = (await this.store.list(this.options.domain)).filter((k) => k.state === 'active' || (k.publishUntil ?? 0) > now)
    const verifiers = new Map<string, Key>()
    const published: JWK[] = []
    let current: ActiveSigner | undefined
    for (const k of stored) {
      const jwk = JSON.parse(k.publicJwk) as JWK
      verifiers.set(k.kid, this.verifiers.get(k.kid) ?? (await importJWK(jwk, k.alg)))
      published.push(jwk)
      if (k.state === 'active') {
        const privateKey = this.current?.kid === k.kid ? this.current.key : await importJWK(JSON.parse(await this.sealer.open(k.privateJwe, k.kid)) as JWK, k.alg)
        current = { kid: k.kid, alg: k.alg as SigningAlg, key: privateKey }
      }
    }
    this.verifiers = verifiers
    this.current = current
    this.jwksJson = JSON.stringify({ keys: published })
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
      state: 'active',
      createdAt: this.clock.now(),
      publishUntil: null,
    }
  }
}
