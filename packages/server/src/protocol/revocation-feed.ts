import type { RevocationEntry } from '../ports/revocation-feed.js'
import type { AuthenticatedClient } from './client-auth/authenticate.js'
import { InvalidRequest, OAuthError } from './errors.js'

/** The feed is for resource servers: agents whose role may introspect any token. */
export function requireFeedReader(caller: AuthenticatedClient): void {
  if (!caller.role.canIntrospect) throw new OAuthError('access_denied', 'the revocation feed is for resource servers: this agent\'s role does not have can_introspect', 403)
}

/** A cursor as a client sends it back (query or Last-Event-ID); undefined when none was sent. */
export function parseFeedCursor(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined
  if (!/^\d{1,15}$/.test(raw)) throw new InvalidRequest('the cursor must be one this server returned')
  return raw
}

/**
 * A cursor past the feed's head was not handed out by this feed (a database restored from a
 * backup, another server): reading after it would silently skip what comes next.
 */
export function requireCursorWithin(cursor: string | undefined, head: string): void {
  if (cursor !== undefined && Number(cursor) > Number(head)) {
    throw new InvalidRequest(`the cursor is ahead of this server's revocation feed (its newest entry is ${head}); start again without one`)
  }
}

/**
 * One revocation on the wire. Times are Unix seconds: `revoked_at` rounded down, so a token
 * issued in the second of an agent's suspension counts as issued before it (as introspection
 * also judges), and `until` rounded up, so the entry is kept for as long as it can matter.
 */
export function revocationJson(e: RevocationEntry) {
  return { cursor: e.cursor, type: e.type, value: e.value, revoked_at: Math.floor(e.revokedAt / 1000), until: Math.ceil(e.until / 1000) }
}
