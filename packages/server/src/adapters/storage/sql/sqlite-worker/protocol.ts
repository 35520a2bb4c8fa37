/** Messages between the main thread and the thread that owns the SQLite connection. */
export type WorkerRequest =
  | { id: number; op: 'query'; sql: string; params: readonly unknown[] }
  | { id: number; op: 'close' }

export type WorkerReply =
  | { id: number; rows: unknown[]; changes?: number; lastInsertRowid?: number | bigint }
  | { id: number; error: { message: string; code?: string } }

export interface WorkerOptions {
  file: string
}
