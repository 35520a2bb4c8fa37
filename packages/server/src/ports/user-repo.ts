export type UserStatus = 'active' | 'suspended'

/** A person who signs in with a password (never an agent). */
export interface User {
  /** `usr_…`, sortable by creation time. */
  id: string
  /** As the operator typed it (NFKC-normalised, trimmed): what pages and the admin API show. */
  username: string
  /** The username as compared: NFKC, lower case, NFKC again. Unique. */
  usernameKey: string
  displayName: string
  /** An argon2id PHC string; never leaves the server. */
  passwordHash: string
  status: UserStatus
  statusReason: string | null
  createdAt: number
  updatedAt: number
}

export interface UserFilter {
  status?: UserStatus
  limit: number
  /** Return users whose id sorts after this one. */
  after?: string
}

export interface UserRepo {
  /** Returns false when a user with the same username key already exists. */
  create(user: User): Promise<boolean>
  get(id: string): Promise<User | undefined>
  findByUsernameKey(key: string): Promise<User | undefined>
  list(filter: UserFilter): Promise<User[]>
  /**
   * Moves a user from `from` to `to` in one conditional update. Suspending also ends every live
   * session of the user in the same transaction. Returns the user after the change and the
   * sessions ended, or undefined when the user does not exist or was not in `from`.
   */
  setStatus(id: string, from: UserStatus, to: UserStatus, reason: string | null, now: number): Promise<{ user: User; endedSessions: string[] } | undefined>
}
