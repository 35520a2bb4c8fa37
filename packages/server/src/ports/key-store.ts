/** A key domain: keys of one domain never sign or encrypt for another. */
export type KeyDomain = 'agent-tokens'

export interface StoredKey {
  kid: string
  domain: KeyDomain
  alg: string
  /** Public JWK as JSON. */
  publicJwk: string
  /** Private JWK, encrypted under the key-encryption key (compact JWE). */
  privateJwe: string
  state: 'active' | 'retired'
  createdAt: number
  /** For retired keys: how long the public key stays published (ms epoch). */
  publishUntil: number | null
}

export interface KeyStore {
  list(domain: KeyDomain): Promise<StoredKey[]>
  /**
   * Makes `next` the active key of its domain and retires the current one, atomically.
   * Returns the kid it retired. Concurrent rotations each retire the key active when they run.
   */
  rotate(next: StoredKey, retiredPublishUntil: number): Promise<{ retiredKid: string | undefined }>
  /** Inserts the first key of a domain if the domain still has none; returns whether it did. */
  insertFirst(key: StoredKey): Promise<boolean>
  /** Drops retired keys whose publication window has passed. */
  purge(now: number): Promise<number>
}
