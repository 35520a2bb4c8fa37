import type { Agent } from '../../ports/agent-repo.js'
import type { Clock } from '../../ports/clock.js'
import type { Consent, ConsentFilter, ConsentRepo } from '../../ports/consent-repo.js'
import type { Role } from '../../ports/role-repo.js'
import type { AuditRecorder } from '../audit/audit-log.js'
import { purposesJson } from '../agents/role-purposes.js'
import type { ActionContext } from '../context.js'
import { ConsentNotFound, ValidationFailed } from '../errors.js'
import { checkTextDigest, consentStatus, coversPurposes, coversScopes, grantScopes } from './consent-rules.js'

export interface ConsentDeps {
  repo: ConsentRepo
  audit: AuditRecorder
  clock: Clock
  /** The role as it is now (the agent directory's cache), to tell whether its purposes changed. */
  roleOf(name: string): Promise<Role | undefined>
  /** How long a consent lasts unless withdrawn. */
  validitySeconds: number
  newId(now: number): string
}

export interface GrantInput {
  userId: string
  /** The agent that asked, as the consent page named it. */
  agent: Agent
  /** Its role; the consent records the role's version and purposes as shown. */
  role: Role
  scopes: readonly string[]
  /** What `consentText` returned as the digest of the words shown. */
  textDigest: string
  /** Consent for every agent of the role, not only this one (the page must have said so). */
  roleWide?: boolean
}

/** Who stands behind an agent, for the consent page. */
export interface ConsentOwner {
  /** The admin who created the initial access token the agent registered with; null when no longer on record. */
  admin: string | null
  /** The agent's registered `contacts` (RFC 7591 §2). */
  contacts: string[]
}

/** Runs before `withdraw` answers; must be idempotent (a repeated withdrawal runs it again). */
export type ConsentWithdrawn = (consent: Consent, ctx: ActionContext) => Promise<void>

export interface WithdrawResult {
  consent: Consent
  /** false when it had been withdrawn already (this call changed nothing). */
  changed: boolean
}

const LIVE_CANDIDATES = 50
const EXPORT_PAGE = 500
const MAX_EXPORT = 10_000

/**
 * People's consents to agents: granted from the consent page, checked before anything is issued
 * for a person, withdrawn from their account, exported as receipts. Every change is audited as
 * the person (actor_type human).
 */
export class ConsentService {
  private readonly withdrawnListeners: ConsentWithdrawn[] = []

  constructor(private readonly d: ConsentDeps) {}

  get validitySeconds(): number {
    return this.d.validitySeconds
  }

  /** Called before every withdrawal answers, e.g. to end what was issued under the consent. */
  onWithdrawn(listener: ConsentWithdrawn): void {
    this.withdrawnListeners.push(listener)
  }

  /**
   * The newest consent of this person that is neither withdrawn nor expired, given to this agent
   * or to its whole role, covering every scope asked and the role's current purposes; or null.
   */
  async findLive(q: { userId: string; agentId: string; roleName: string; scopes: readonly string[] }): Promise<Consent | null> {
    const role = await this.d.roleOf(q.roleName)
    if (!role) return null
    const candidates = await this.d.repo.findUnexpired({ userId: q.userId, agentId: q.agentId, roleName: q.roleName, now: this.d.clock.now(), limit: LIVE_CANDIDATES })
    return candidates.find((c) => coversScopes(c, q.scopes) && coversPurposes(c, role.purposes)) ?? null
  }

  async grant(input: GrantInput, ctx: ActionContext): Promise<Consent> {
    if (input.agent.role !== input.role.name) throw new ValidationFailed('role', `agent ${input.agent.id} is not registered under role ${input.role.name}`)
    const scopes = grantScopes(input.scopes)
    const now = this.d.clock.now()
    const name = input.agent.metadata.client_name
    const consent: Consent = {
      id: this.d.newId(now),
      userId: input.userId,
      agentId: input.roleWide === true ? null : input.agent.id,
      agentName: typeof name === 'string' ? name : null,
      roleName: input.role.name,
      roleVersion: input.role.version,
      scopes,
      purposes: input.role.purposes.map((p) => ({ ...p })),
      textDigest: checkTextDigest(input.textDigest),
      grantedAt: now,
      expiresAt: now + this.d.validitySeconds * 1000,
      withdrawnAt: null,
    }
    await this.d.repo.create(consent)
    await this.d.audit.record({
      ...human(input.userId, ctx), action: 'consent.granted', outcome: 'success', target: consent.id, role: consent.roleName,
      details: { ...auditDetails(consent), agent: input.agent.id, role_wide: consent.agentId === null, expires_at: consent.expiresAt },
    })
    return consent
  }

  /**
   * Withdraws one of the person's consents, once: the conditional update in the repo decides who
   * withdrew it, and only that call audits it. The listeners run on every call that finds the
   * consent withdrawn, so a retry after a failed listener still ends what was issued under it.
   */
  async withdraw(userId: string, consentId: string, ctx: ActionContext): Promise<WithdrawResult> {
    const withdrawn = await this.d.repo.withdraw(consentId, userId, this.d.clock.now())
    let result: WithdrawResult
    if (withdrawn) {
      await this.d.audit.record({ ...human(userId, ctx), action: 'consent.withdrawn', outcome: 'success', target: withdrawn.id, role: withdrawn.roleName, details: auditDetails(withdrawn) })
      result = { consent: withdrawn, changed: true }
    } else {
      const existing = await this.d.repo.get(consentId)
      // Someone else's consent is reported as missing: nobody learns which ids exist.
      if (!existing || existing.userId !== userId || existing.withdrawnAt === null) throw new ConsentNotFound(consentId)
      result = { consent: existing, changed: false }
    }
    for (const listener of this.withdrawnListeners) await listener(result.consent, { ...ctx, actorType: 'human', actorId: userId })
    return result
  }

  get(id: string): Promise<Consent | undefined> {
    return this.d.repo.get(id)
  }

  /** Neither withdrawn nor expired now. */
  isLive(consent: Pick<Consent, 'withdrawnAt' | 'expiresAt'>): boolean {
    return consentStatus(consent, this.d.clock.now()) === 'active'
  }

  status(consent: Pick<Consent, 'withdrawnAt' | 'expiresAt'>): ReturnType<typeof consentStatus> {
    return consentStatus(consent, this.d.clock.now())
  }

  /** A person's consents, newest first. */
  listForUser(userId: string, page: { limit: number; before?: string }): Promise<Consent[]> {
    return this.d.repo.list({ userId, now: this.d.clock.now(), limit: page.limit, after: page.before, newestFirst: true })
  }

  /** Every consent of the person (up to 10,000), oldest first, for their receipt export. */
  async exportForUser(userId: string): Promise<Consent[]> {
    const all: Consent[] = []
    let after: string | undefined
    for (;;) {
      const page = await this.d.repo.list({ userId, now: this.d.clock.now(), limit: EXPORT_PAGE, after })
      all.push(...page)
      if (page.length < EXPORT_PAGE || all.length >= MAX_EXPORT) return all.slice(0, MAX_EXPORT)
      after = page[page.length - 1]!.id
    }
  }

  /** Consents of everyone, filtered, by id (the admin API). */
  list(filter: Omit<ConsentFilter, 'now' | 'newestFirst'>): Promise<Consent[]> {
    return this.d.repo.list({ ...filter, now: this.d.clock.now() })
  }

  /** Who set the agent up and how to reach them, for the consent page. */
  async ownerOf(agent: Agent): Promise<ConsentOwner> {
    const admin = agent.initialAccessTokenId === null ? undefined : await this.d.repo.initialAccessTokenCreator(agent.initialAccessTokenId)
    const contacts = Array.isArray(agent.metadata.contacts) ? agent.metadata.contacts.filter((c): c is string => typeof c === 'string') : []
    return { admin: admin ?? null, contacts }
  }
}

function human(userId: string, ctx: ActionContext) {
  return { actorType: 'human' as const, actorId: userId, ip: ctx.ip, requestId: ctx.requestId }
}

function auditDetails(c: Consent) {
  return { agent: c.agentId, role: c.roleName, role_version: c.roleVersion, scopes: c.scopes, purposes: purposesJson(c.purposes), text_digest: c.textDigest }
}
