/**
 * Which node runs the cluster's background work (the session sweeper, reaping, purges). At most
 * one node leads at a time; when it dies another takes over.
 */
export interface Leadership {
  /** Whether this node leads now. Cheap: background loops ask on every tick. */
  isLeader(): boolean
  /** Starts campaigning; `onChange` hears every gain and loss. */
  start(onChange?: (leading: boolean) => void): void
  /** Stops campaigning and gives up the lead. */
  close(): Promise<void>
}

/** A single node (SQLite): always the leader. */
export const soloLeadership: Leadership = {
  isLeader: () => true,
  start: (onChange) => onChange?.(true),
  close: async () => undefined,
}
