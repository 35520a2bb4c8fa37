import type { Purpose } from './role-repo.js'

/** A person's consent for an agent (or every agent of a role) to act for them. */
export interface Consent {
  /** `cns_…`, sortable by grant time. */
  id: string
  userId: string
  /** null: the consent covers every agent registered under the role. */
  agentId: string | null
  /** The agent's client_name when the person consented (what the page showed), if it had one. */
  agentName: string | null
  roleName: string
  /** The role's version when the person consented: its purposes were the ones of that version. */
  roleVersion: number
  scopes: string[]
  purposes: Purpose[]
  /** SHA-256 (base64url) of exactly the words the consent page showed. */
  textDigest: string
  grantedAt: number
  expiresAt: number
  withdrawnAt: number | null
}

export type ConsentStatus = 'active' | 'withdrawn' | 'expired'

export interface ConsentFilter {
  userId?: string
  agentId?: string
  status?: ConsentStatus
  /** What "expired" means is decided at this time. */
  now: number
  limit: number
  /** Page after this id (before it when newestFirst). */
  after?: string
  newestFirst?: boolean
}

export interface ConsentRepo {
  create(consent: Consent): Promise<void>
  get(id: string): Promise<Consent | undefined>
  /**
   * Consents of this person and role that are neither withdrawn nor expired at `now`, given to
   * this agent or to the whole role; newest first, at most `limit`.
   */
  findUnexpired(q: { userId: string; agentId: string; roleName: string; now: number; limit: number }): Promise<Consent[]>
  list(filter: ConsentFilter): Promise<Consent[]>
  /**
   * Withdraws the person's consent in one conditional update (`… WHERE withdrawn_at IS NULL
   * RETURNING`): undefined when it is not theirs, does not exist, or was already withdrawn.
   */
  withdraw(id: string, userId: string, now: number): Promise<Consent | undefined>
  /**
   * Who created an initial access token (an admin id such as `admin:env`), read for the consent
   * page's "set up by"; undefined once the token was revoked (its row is deleted then).
   */
  initialAccessTokenCreator(id: string): Promise<string | undefined>
}
