import type { Agent } from './agent-repo.js'
import type { Role } from './role-repo.js'

export interface InitialAccessToken {
  id: string
  role: string
  digest: string
  usesLeft: number
  usesTotal: number
  expiresAt: number
  createdAt: number
  createdBy: string
}

export type RegistrationRefusal = 'invalid_token' | 'role_full'

/**
 * Self-registration as one atomic step: consume one use of the initial access token, take a
 * slot in the role's max_agents and insert the agent, or do none of it.
 */
export interface RegistrationStore {
  createInitialAccessToken(token: InitialAccessToken): Promise<void>
  /** A role's initial access tokens that can still register an agent at `now` (digests included; callers drop them). */
  listInitialAccessTokens(role: string, now: number): Promise<InitialAccessToken[]>
  /** Deletes one of a role's initial access tokens; false when there is no such token. */
  revokeInitialAccessToken(role: string, id: string): Promise<boolean>
  /**
   * `build` turns the role into the agent to insert; if it throws, nothing is written and the
   * error propagates. Returns the refusal reason when the token is unusable or the role is full.
   */
  register(
    tokenDigest: string,
    now: number,
    build: (role: Role, token: InitialAccessToken) => Agent,
  ): Promise<{ status: 'ok'; agent: Agent; role: Role } | { status: RegistrationRefusal; role?: string }>
}
