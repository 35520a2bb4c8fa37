/**
 * Where a device authorization stands (RFC 8628): waiting for a person, decided by them, or
 * exchanged for tokens (once). Expiry is a time, not a status: a pending code past `expiresAt`
 * is expired whatever its status says.
 */
export type DeviceCodeStatus = 'pending' | 'approved' | 'denied' | 'consumed'

/** One device authorization request. The device code itself is never stored, only its digest. */
export interface DeviceCode {
  /** `dvc_…`: names the request in audit events; not a secret and not the device code. */
  id: string
  /** Normalised (`BCDFGHJK`), unique among pending codes. */
  userCode: string
  /** The agent (client) that asked; only it may exchange the device code. */
  clientId: string
  scope: string[]
  /** RFC 8707 resources the tokens are for; null when none was named. */
  audience: string[] | null
  status: DeviceCodeStatus
  /** The person who approved or denied it. */
  userId: string | null
  /** The consent the approval rests on. */
  consentId: string | null
  /** When the approving person signed in (OpenID Connect auth_time). */
  authTime: number | null
  /** Seconds a client waits between polls; grows by 5 with each slow_down (RFC 8628 §3.5). */
  intervalSeconds: number
  lastPolledAt: number | null
  createdAt: number
  expiresAt: number
  decidedAt: number | null
  consumedAt: number | null
}

export type DeviceDecision = { status: 'approved'; userId: string; consentId: string; authTime: number } | { status: 'denied'; userId: string }

/** What one poll found, after the poll was recorded. */
export type PollResult =
  /** A poll at least (interval − tolerance) after the previous one, or the first. */
  | { kind: 'on_time'; code: DeviceCode }
  /** Too soon: the interval has grown by `slowDownSeconds` (RFC 8628 §3.5). */
  | { kind: 'too_soon'; code: DeviceCode }

export interface DeviceCodeRepo {
  /** Stores a new request. False when its user code is taken by another pending request. */
  create(code: DeviceCode, digest: string): Promise<boolean>
  /** The request whose device code has this digest, whatever its status. */
  findByDigest(digest: string): Promise<DeviceCode | undefined>
  /** The pending request with this normalised user code that has not expired at `now`. */
  findPending(userCode: string, now: number): Promise<DeviceCode | undefined>
  /**
   * Approves or denies a pending, unexpired request, once: one conditional update, so of two
   * racing decisions exactly one wins. Undefined when it was not pending (or expired).
   */
  decide(id: string, decision: DeviceDecision, now: number): Promise<DeviceCode | undefined>
  /**
   * Records a poll of a pending request. On time when `now` is at least
   * `intervalSeconds × (1000 − earlyPermille)` ms after the last poll (or there was none);
   * otherwise too soon, and the interval grows by `slowDownSeconds`. Both are conditional
   * updates, so of two polls at once one is on time and the other too soon. Undefined when the
   * request is no longer pending.
   */
  poll(digest: string, now: number, earlyPermille: number, slowDownSeconds: number): Promise<PollResult | undefined>
  /**
   * Exchanges an approved, unexpired request of this client, once (approved → consumed in one
   * conditional update). Undefined when another exchange got there first, or it is not approved.
   */
  consume(digest: string, clientId: string, now: number): Promise<DeviceCode | undefined>
  /**
   * Turns every approval this person gave that no agent has exchanged yet into a denial (they
   * were suspended), in one conditional update; returns the requests it changed.
   */
  withdrawApprovals(userId: string, now: number): Promise<DeviceCode[]>
  /** Deletes requests that expired before `before`; returns how many. */
  purge(before: number): Promise<number>
}
