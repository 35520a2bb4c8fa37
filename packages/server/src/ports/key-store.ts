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
  /**
   * `next`: published and trusted for verification, not yet signing (publish-ahead, so that
   * verifiers have it cached before the first token it signs). `active`: the signer.
   * `retired`: published until every token it signed has expired.
   */
  state: 'next' | 'active' | 'retired'
  createdAt: number
  /** For retired keys: how long the public key stays published (ms epoch). */
  publishUntil: number | null
}

export interface RotationTerms {
  /** How long the retired key stays published (ms epoch). */
  retiredPublishUntil: number
  /** Promote the standby only if it was created by then. */
  promotableCreatedBy?: number
  /** The retired key is compromised: stop trusting it now, and tell resource servers until `until`. */
  withdrawal?: { now: number; until: number }
}

export type KeyRotation =
  | { status: 'rotated'; kid: string; retiredKid: string | undefined }
  | { status: 'standby_too_new'; standbyCreatedAt: number }

export interface KeyStore {
  list(domain: KeyDomain): Promise<StoredKey[]>
  /**
   * In one transaction: retires the active key, promotes the standby key to signer, and stores
   * `standby` as the new standby. If the domain had no standby, `standby` becomes the signer
   * directly. Rotations are serialised: each sees the result of the one before it. When
   * `promotableCreatedBy` is given and the standby was created after it, nothing changes and
   * the answer says when the standby was created. With `withdrawal`, the retired key is
   * unpublished at once and announced on the revocation feed (type `key`) until `until`.
   */
  rotate(standby: StoredKey, terms: RotationTerms): Promise<KeyRotation>
  /** Inserts a first signer and its standby if the domain still has no key; returns whether it did. */
  insertFirst(active: StoredKey, standby: StoredKey): Promise<boolean>
  /** Stores `standby` if the domain has no standby key (databases from before publish-ahead). */
  ensureStandby(standby: StoredKey): Promise<boolean>
  /** Drops retired keys whose publication window has passed. */
  purge(now: number): Promise<number>
}
