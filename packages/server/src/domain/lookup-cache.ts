import type { Clock } from '../ports/clock.js'
import { noMetrics, type CacheMetrics } from '../ports/metrics.js'

interface Entry<T> {
  value: T | undefined
  loadedAt: number
}

/**
 * Read-through cache for hot-path lookups: bounded, with a short lifetime, and dropped at once
 * for a key that changes on this node. Misses are cached too, so a flood of made-up ids does
 * not reach the database for each request.
 */
export class LookupCache<T> {
  private readonly entries = new Map<string, Entry<T>>()
  /** Bumped by every invalidation: a load that started before one must not store what it read. */
  private generation = 0

  constructor(
    private readonly load: (key: string) => Promise<T | undefined>,
    private readonly clock: Clock,
    private readonly ttlMs = 1000,
    private readonly maxEntries = 50_000,
    private readonly metrics: CacheMetrics = noMetrics.cache(''),
  ) {}

  async get(key: string): Promise<T | undefined> {
    const now = this.clock.now()
    const hit = this.entries.get(key)
    if (hit && now - hit.loadedAt < this.ttlMs) {
      this.metrics.hit()
      return hit.value
    }
    this.metrics.miss()
    const generation = this.generation
    const value = await this.load(key)
    if (generation !== this.generation) return value
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string)
    this.entries.set(key, { value, loadedAt: now })
    return value
  }

  invalidate(key: string): void {
    this.generation++
    this.entries.delete(key)
  }

  /** Forgets everything (after notifications of changes elsewhere may have been lost). */
  clear(): void {
    this.generation++
    this.entries.clear()
  }
}
