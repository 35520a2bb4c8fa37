/** Why a person's session ended. */
export type UserSessionEndReason = 'signed_out' | 'idle_timeout' | 'absolute_timeout' | 'replaced' | 'user_suspended'

/**
 * A person's session in a browser: short idle and absolute timeouts, the opposite of an agent's
 * task-bound session. The browser holds a random secret; only its digest is stored.
 */
export interface UserSession {
  /** `uss_…`: names the session in audit events; never the cookie. */
  id: string
  userId: string
  /** The client address at sign-in. */
  ip: string | null
  createdAt: number
  lastSeenAt: number
  /** min(last seen + idle timeout, absolute expiry). */
  idleExpiresAt: number
  absoluteExpiresAt: number
  endedAt: number | null
  endReason: UserSessionEndReason | null
}

export interface UserSessionRepo {
  create(session: UserSession, digest: string): Promise<void>
  /**
   * The live session whose secret has this digest, seen now: last_seen_at moves to `now` and the
   * idle expiry to min(now + idleMs, absolute expiry), in one conditional update. Undefined when
   * there is none, it has ended, or it is past either expiry.
   */
  touch(digest: string, now: number, idleMs: number): Promise<UserSession | undefined>
  /**
   * Ends the session with this digest if it has not ended yet; a session past an expiry is
   * recorded as ended at that expiry, with that reason, whatever `reason` says. Returns the
   * session as ended, or undefined when there was nothing to end (concurrent ends end it once).
   */
  end(digest: string, now: number, reason: UserSessionEndReason): Promise<UserSession | undefined>
  /** Sessions of one person that are neither ended nor expired at `now`, newest first. */
  live(userId: string, now: number): Promise<UserSession[]>
  /** Deletes sessions that ended or expired before `before`; returns how many. */
  purge(before: number): Promise<number>
}
