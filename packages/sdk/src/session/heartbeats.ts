import { unrefTimer } from '../http/retry.js'

/**
 * Runs `beat` every `intervalMs`, one at a time: the next beat is scheduled when the previous
 * one has settled (its retries included), so a slow server never piles heartbeats up. The timer
 * is unref'd: a session alone does not keep the process alive.
 */
export class HeartbeatLoop {
  private timer: ReturnType<typeof setTimeout> | undefined
  private running = false

  constructor(
    private readonly intervalMs: number,
    private readonly beat: () => Promise<void>,
  ) {}

  start(): void {
    if (this.running) return
    this.running = true
    this.schedule()
  }

  stop(): void {
    this.running = false
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  get active(): boolean {
    return this.running
  }

  private schedule(): void {
    if (!this.running) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      // beat() reports its own failures; the loop only keeps time.
      this.beat().catch(() => undefined).finally(() => this.schedule())
    }, this.intervalMs)
    unrefTimer(this.timer)
  }
}
