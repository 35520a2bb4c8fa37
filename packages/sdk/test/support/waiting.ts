/** Polls `check` until it returns true; resolves with the milliseconds it took, rejects after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 20): Promise<number> {
  const start = performance.now()
  for (;;) {
    if (await check()) return performance.now() - start
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Does `promise` reject with an instance of `type`? Returns the error. */
export async function rejection<T>(promise: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  try {
    await promise
  } catch (err) {
    if (err instanceof type) return err
    throw new Error(`expected ${type.name}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`)
  }
  throw new Error(`expected ${type.name}, but it resolved`)
}
