import type { Logger } from './logger.js'

export type Listener<T> = (value: T) => void

/** A minimal typed event emitter (no node:events, so it runs in any runtime). */
export class Emitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<Listener<never>>>()

  constructor(private readonly logger: Logger) {}

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    let set = this.listeners.get(event)
    if (!set) this.listeners.set(event, (set = new Set()))
    set.add(listener as Listener<never>)
    return () => set.delete(listener as Listener<never>)
  }

  /** Calls every listener; returns whether there was one. A throwing listener is logged, not propagated. */
  emit<K extends keyof Events>(event: K, value: Events[K]): boolean {
    const set = this.listeners.get(event)
    if (!set || set.size === 0) return false
    for (const listener of [...set]) {
      try {
        ;(listener as Listener<Events[K]>)(value)
      } catch (err) {
        this.logger.error(`a "${String(event)}" listener threw`, { error: err instanceof Error ? err.message : String(err) })
      }
    }
    return true
  }
}
