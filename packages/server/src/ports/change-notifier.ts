/**
 * What one node changed that other nodes may hold in a cache. `all` means "forget everything":
 * sent to a node's own listeners when it may have missed notifications (a reconnect).
 */
export type Change =
  | { kind: 'agent'; id: string }
  | { kind: 'role'; id: string }
  | { kind: 'session'; id: string }
  | { kind: 'keys' }
  /** An access token revoked (by jti), until it would have expired (ms epoch). */
  | { kind: 'revoked-token'; id: string; until: number }
  | { kind: 'all' }

/** Tells the other nodes what changed here, and this node what changed elsewhere. */
export interface ChangeNotifier {
  /** Fire and forget: a lost notification costs at most a cache lifetime of staleness. */
  publish(change: Change): void
  /** Changes made by other nodes (never this node's own). Returns the unsubscribe function. */
  subscribe(listener: (change: Change) => void): () => void
  close(): Promise<void>
}

/** One node alone: nobody to tell, nothing to hear. */
export const soloNotifier: ChangeNotifier = {
  publish: () => undefined,
  subscribe: () => () => undefined,
  close: async () => undefined,
}
