import type { Clock } from '../../ports/clock.js'
import type { Consent } from '../../ports/consent-repo.js'
import type { DeviceCode, DeviceCodeRepo } from '../../ports/device-code-repo.js'
import type { User } from '../../ports/user-repo.js'
import type { DeviceConsents } from './device-authorizations.js'

/**
 * A poll that arrives up to a fifth of the interval early is still on time: the client measures
 * the interval on its clock from its last request, the server on its own from the arrival, and
 * network delays differ from one request to the next. A client at the advertised interval is
 * never slowed down; one polling a fifth faster is.
 */
export const EARLY_POLL_PERMILLE = 200
/** RFC 8628 §3.5: each slow_down adds 5 seconds to the interval, for this and all later polls. */
export const SLOW_DOWN_SECONDS = 5

export type PollOutcome =
  | { kind: 'pending' }
  | { kind: 'slow_down'; intervalSeconds: number }
  | { kind: 'denied'; reason: string }
  | { kind: 'expired' }
  | { kind: 'invalid'; reason: string }
  /** Approved and now consumed: this poll, and no other, gets the tokens. */
  | { kind: 'approved'; code: DeviceCode; user: User; consent: Consent }

export interface DevicePollingDeps {
  repo: DeviceCodeRepo
  users: { get(id: string): Promise<User | undefined> }
  consents: Pick<DeviceConsents, 'findLive'>
  clock: Clock
  digest(secret: string): string
}

/** RFC 8628 §3.4–3.5: the device access token request, as the client polls it. */
export class DevicePolling {
  constructor(private readonly d: DevicePollingDeps) {}

  async poll(client: { agentId: string; roleName: string }, deviceCode: string): Promise<PollOutcome> {
    const digest = this.d.digest(deviceCode)
    // A request decided between the read and the poll's conditional update is read once more.
    for (let attempt = 0; attempt < 2; attempt++) {
      const code = await this.d.repo.findByDigest(digest)
      const now = this.d.clock.now()
      // RFC 8628 §3.4: the device code must have been issued to this client.
      if (!code || code.clientId !== client.agentId) return { kind: 'invalid', reason: 'the device code is not valid for this client' }
      if (code.status === 'consumed') return { kind: 'invalid', reason: 'the device code has already been exchanged' }
      if (code.status === 'denied') return { kind: 'denied', reason: 'the person denied the request' }
      if (now >= code.expiresAt) return { kind: 'expired' }
      if (code.status === 'approved') return this.redeem(digest, client, now)
      const polled = await this.d.repo.poll(digest, now, EARLY_POLL_PERMILLE, SLOW_DOWN_SECONDS)
      if (polled?.kind === 'on_time') return { kind: 'pending' }
      if (polled?.kind === 'too_soon') return { kind: 'slow_down', intervalSeconds: polled.code.intervalSeconds }
    }
    return { kind: 'pending' }
  }

  /** Consumes the approved request, once; then the person and their consent must still stand. */
  private async redeem(digest: string, client: { agentId: string; roleName: string }, now: number): Promise<PollOutcome> {
    const code = await this.d.repo.consume(digest, client.agentId, now)
    if (!code || code.userId === null) return { kind: 'invalid', reason: 'the device code has already been exchanged' }
    const user = await this.d.users.get(code.userId)
    if (!user || user.status !== 'active') return { kind: 'denied', reason: 'the person who approved can no longer authorize agents' }
    const consent = await this.d.consents.findLive({ userId: user.id, agentId: client.agentId, roleName: client.roleName, scopes: code.scope })
    if (!consent) return { kind: 'denied', reason: 'the consent behind the approval was withdrawn or has expired' }
    return { kind: 'approved', code, user, consent }
  }
}
