import type { KeyObject } from 'node:crypto'

/** Messages between the main thread and the thread that signs tokens. */
export type SigningRequest =
  /** Sent once per key, before the first batch that uses it. */
  | { op: 'key'; kid: string; key: KeyObject }
  /** Each job: the key id, the token's `typ`, and its payload as JSON. */
  | { op: 'sign'; id: number; jobs: [kid: string, typ: string, payloadJson: string][] }

/** One compact JWS per job, in order; null where the thread could not sign it. */
export type SigningReply = { id: number; tokens: (string | null)[] }
