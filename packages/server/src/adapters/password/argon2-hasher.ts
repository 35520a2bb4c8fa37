import { hash, verify, type Algorithm, type Options } from '@node-rs/argon2'
import type { PasswordHasher } from '../../ports/password-hasher.js'

// The library's Algorithm is a const enum, which this build (verbatimModuleSyntax) cannot read at run time.
const ARGON2ID = 2 as Algorithm.Argon2id

/**
 * OWASP Password Storage Cheat Sheet (Argon2id): m=19 MiB, t=2, p=1 is its first recommended
 * configuration. Measured on the 2-core reference VM: about 10 ms per hash or verification.
 */
export const ARGON2_PARAMS: Readonly<Options> = Object.freeze({ algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 })

/** Hashes at most this many passwords at once, so sign-in floods leave libuv's pool (4 threads) to DNS and files. */
const DEFAULT_CONCURRENCY = 2

/**
 * argon2id through @node-rs/argon2: each hash runs on libuv's thread pool, off the event loop,
 * and verification compares in constant time inside the library. At most `concurrency` run at
 * once; the rest wait their turn in order.
 */
export function argon2Hasher(concurrency = DEFAULT_CONCURRENCY): PasswordHasher {
  const gate = turns(concurrency)
  return {
    hash: (password) => gate(() => hash(password, ARGON2_PARAMS)),
    verify: (stored, password) =>
      gate(async () => {
        try {
          return await verify(stored, password)
        } catch {
          // A malformed stored hash verifies nothing.
          return false
        }
      }),
  }
}

function turns(limit: number) {
  let running = 0
  const waiting: Array<() => void> = []
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    else running++
    try {
      return await work()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else running--
    }
  }
}
