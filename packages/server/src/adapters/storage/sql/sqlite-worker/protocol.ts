/** Messages between the main thread and the thread that owns the SQLite connection. */

/** One statement run once per parameter row. */
export interface BatchStatement {
  sql: string
  rows: readonly (readonly unknown[])[]
}

export type WorkerRequest =
  | { id: number; op: 'query'; sql: string; params: readonly unknown[] }
  /** Every statement of the batch in one immediate transaction: all of it or none of it. */
  | { id: number; op: 'batch'; statements: readonly BatchStatement[] }
  | { id: number; op: 'close' }

export type WorkerReply =
  | { id: number; rows: unknown[]; changes?: number; lastInsertRowid?: number | bigint }
  | { id: number; error: { message: string; code?: string } }

export interface WorkerOptions {
  file: string
}
