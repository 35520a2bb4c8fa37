/**
 * Errors of the agent rules. They are not wire errors: the protocol and HTTP layers decide
 * which status and RFC error code a caller sees for each.
 */
export class DomainError extends Error {}

/** Input that breaks a rule; `field` names the offending field. */
export class ValidationFailed extends DomainError {
  constructor(readonly field: string, message: string) {
    super(message)
  }
}

export class RoleNotFound extends DomainError {
  constructor(readonly role: string) {
    super(`role ${role} does not exist`)
  }
}

export class RoleExists extends DomainError {
  constructor(readonly role: string) {
    super(`role ${role} already exists`)
  }
}

export class RoleHasAgents extends DomainError {
  constructor(readonly role: string) {
    super(`role ${role} still has agents; retire them first`)
  }
}

export class InitialAccessTokenNotFound extends DomainError {
  constructor(readonly id: string) {
    super(`initial access token ${id} does not exist for this role`)
  }
}

export class AgentNotFound extends DomainError {
  constructor(readonly agentId: string) {
    super(`agent ${agentId} does not exist`)
  }
}

/** The agent exists but may not act: suspended, retired, or its credentials expired. */
export class AgentNotActive extends DomainError {
  constructor(readonly agentId: string, readonly status: string) {
    super(`agent ${agentId} is ${status}`)
  }
}

export class InvalidStatusChange extends DomainError {}

/** An initial or registration access token that is missing, unknown, expired or used up. */
export class BadRegistrationCredential extends DomainError {}

export class RoleFull extends DomainError {
  constructor(readonly role: string) {
    super(`role ${role} has reached its max_agents`)
  }
}

/** No session of that id belongs to the caller (another agent's session is reported the same way). */
export class SessionNotFound extends DomainError {
  constructor(readonly sessionId: string) {
    super(`session ${sessionId} does not exist`)
  }
}

/** The session has ended; nothing more can be done with it. */
export class SessionEnded extends DomainError {
  constructor(readonly sessionId: string, readonly state: string, readonly reason: string | null) {
    super(`session ${sessionId} has ended (${state}${reason ? `: ${reason}` : ''})`)
  }
}

/**
 * The standby key has not been published long enough to sign: verifiers caching the JWKS, or
 * nodes between key refreshes, might not hold it yet.
 */
export class StandbyKeyNotReady extends DomainError {
  constructor(readonly publishedSeconds: number, readonly retryAfterSeconds: number) {
    super(
      `the next signing key was published ${publishedSeconds} s ago; it signs only after ${publishedSeconds + retryAfterSeconds} s, ` +
        `when every cached JWKS and every node holds it (retry in ${retryAfterSeconds} s, or force an emergency rotation)`,
    )
  }
}

/** A refresh token that renews nothing: unknown, of an ended session, or a reused copy. */
export class RefreshRefused extends DomainError {
  constructor(message: string, readonly why: 'unknown' | 'ended' | 'reused') {
    super(message)
  }
}

export class UserNotFound extends DomainError {
  constructor(readonly userId: string) {
    super(`user ${userId} does not exist`)
  }
}

/** Another person already has this username (compared after NFKC normalisation, ignoring case). */
export class UserExists extends DomainError {
  constructor(readonly username: string) {
    super(`a user named ${username} already exists`)
  }
}

/** No consent of that id belongs to the person (another person's consent is reported the same way). */
export class ConsentNotFound extends DomainError {
  constructor(readonly consentId: string) {
    super(`consent ${consentId} does not exist`)
  }
}
