import type { Clock } from '../../ports/clock.js'
import type { PasswordHasher } from '../../ports/password-hasher.js'
import type { User, UserFilter, UserRepo, UserStatus } from '../../ports/user-repo.js'
import { auditActor, requireReason } from '../agents/agent-service.js'
import type { AuditRecorder } from '../audit/audit-log.js'
import type { ActionContext } from '../context.js'
import { InvalidStatusChange, UserExists, UserNotFound, ValidationFailed } from '../errors.js'
import { requiredLine } from '../text.js'
import { generatePassword, parsePassword } from './password-rules.js'
import { parseUsername } from './username.js'

const MAX_DISPLAY_NAME = 200
const FIELDS = ['username', 'display_name', 'password']

export interface CreatedUser {
  user: User
  /** Set when no password was given: shown to the operator once, never stored in the clear. */
  generatedPassword: string | undefined
}

/** Told when a person is suspended, after the change is stored, before the suspension answers. */
export type UserSuspended = (user: User, ctx: ActionContext) => Promise<void>

export interface UserServiceDeps {
  repo: UserRepo
  hasher: PasswordHasher
  audit: AuditRecorder
  clock: Clock
  newId(now: number): string
}

/** People: created by an operator with a password, listed, suspended and resumed; every change audited. */
export class UserService {
  private readonly suspendedListeners: UserSuspended[] = []

  constructor(private readonly d: UserServiceDeps) {}

  /** What was issued for a person (their grants to agents) ends with their suspension; it subscribes here. */
  onSuspended(listener: UserSuspended): void {
    this.suspendedListeners.push(listener)
  }

  async create(body: unknown, ctx: ActionContext): Promise<CreatedUser> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationFailed('body', 'the body must be a JSON object')
    const input = body as Record<string, unknown>
    const unknown = Object.keys(input).find((k) => !FIELDS.includes(k))
    if (unknown !== undefined) throw new ValidationFailed(unknown, `unknown field: ${unknown.slice(0, 64)}`)
    const username = parseUsername(input.username)
    const displayName = input.display_name === undefined ? username.display : requiredLine(input.display_name, 'display_name', MAX_DISPLAY_NAME)
    const generatedPassword = input.password === undefined ? generatePassword() : undefined
    const password = generatedPassword ?? parsePassword(input.password)
    // Fail fast on a taken name before spending a hash on it; the insert still decides a race.
    if (await this.d.repo.findByUsernameKey(username.key)) throw new UserExists(username.display)
    const passwordHash = await this.d.hasher.hash(password)
    const now = this.d.clock.now()
    const user: User = {
      id: this.d.newId(now), username: username.display, usernameKey: username.key, displayName, passwordHash,
      status: 'active', statusReason: null, createdAt: now, updatedAt: now,
    }
    if (!(await this.d.repo.create(user))) throw new UserExists(username.display)
    await this.d.audit.record({
      ...auditActor(ctx), action: 'user.created', outcome: 'success', target: user.id,
      details: { username: user.username, display_name: displayName, password: generatedPassword === undefined ? 'set' : 'generated' },
    })
    return { user, generatedPassword }
  }

  list(filter: UserFilter): Promise<User[]> {
    return this.d.repo.list(filter)
  }

  async get(id: string): Promise<User> {
    const user = await this.d.repo.get(id)
    if (!user) throw new UserNotFound(id)
    return user
  }

  /**
   * Suspends a person: they cannot sign in, every session they have ends at once, and the
   * listeners end what was issued for them. The listeners also run when the person is found
   * already suspended (before the 409), so a retry after a failed listener still ends it all.
   */
  async suspend(id: string, reason: unknown, ctx: ActionContext): Promise<User> {
    const why = requireReason(reason)
    let user: User
    try {
      user = await this.change(id, 'active', 'suspended', 'user.suspended', why, ctx)
    } catch (err) {
      const current = err instanceof InvalidStatusChange ? await this.d.repo.get(id) : undefined
      if (current?.status === 'suspended') for (const listener of this.suspendedListeners) await listener(current, ctx)
      throw err
    }
    for (const listener of this.suspendedListeners) await listener(user, ctx)
    return user
  }

  resume(id: string, ctx: ActionContext): Promise<User> {
    return this.change(id, 'suspended', 'active', 'user.resumed', null, ctx)
  }

  private async change(id: string, from: UserStatus, to: UserStatus, action: string, reason: string | null, ctx: ActionContext): Promise<User> {
    const changed = await this.d.repo.setStatus(id, from, to, reason, this.d.clock.now())
    if (!changed) {
      const current = await this.d.repo.get(id)
      if (!current) throw new UserNotFound(id)
      throw new InvalidStatusChange(`user ${id} is ${current.status}; it cannot become ${to}`)
    }
    await this.d.audit.record({ ...auditActor(ctx), action, outcome: 'success', reason, target: id, details: { ended_sessions: changed.endedSessions } })
    return changed.user
  }
}
