/**
 * What a resource server must stop accepting: a token (jti), a session (sid), an agent (sub), or
 * every token signed by a withdrawn key (the JWS header's kid).
 */
export type RevocationType = 'token' | 'session' | 'agent' | 'key'

export interface RevocationEntry {
  /** Opaque, increasing in commit order. */
  cursor: string
  type: RevocationType
  value: string
  /** ms epoch. For an agent: tokens issued at or before this instant are revoked. */
  revokedAt: number
  /** ms epoch after which no token the entry applies to can still be valid. */
  until: number
}

export interface RevocationFeed {
  /** Entries after `cursor`, oldest first. */
  since(cursor: string, limit: number): Promise<RevocationEntry[]>
  /** Entries still in force at `now` (until > now), oldest first, after `cursor` when given. */
  live(now: number, limit: number, cursor?: string): Promise<RevocationEntry[]>
  /** The cursor of the newest entry (purging keeps it), or "0" when the feed is empty. */
  head(): Promise<string>
  /** Forgets entries no token can need any more. */
  purge(now: number): Promise<number>
}
