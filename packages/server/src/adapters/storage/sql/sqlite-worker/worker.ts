import { parentPort, workerData } from 'node:worker_threads'
import BetterSqlite3 from 'better-sqlite3'
import type { WorkerOptions, WorkerReply, WorkerRequest } from './protocol.js'

/**
 * Owns the one SQLite connection, off the main thread, so a commit's fsync never stalls the
 * event loop that serves requests. Statements are prepared once and reused.
 */
const { file } = workerData as WorkerOptions
const db = new BetterSqlite3(file)
db.pragma('journal_mode = WAL')
// Durable commits: an audit event is on disk before the response it records is sent.
db.pragma('synchronous = FULL')
db.pragma('busy_timeout = 5000')

const MAX_CACHED = 500
const statements = new Map<string, BetterSqlite3.Statement>()

function statement(sql: string): BetterSqlite3.Statement {
  let stmt = statements.get(sql)
  if (!stmt) {
    stmt = db.prepare(sql)
    if (statements.size >= MAX_CACHED) statements.delete(statements.keys().next().value as string)
    statements.set(sql, stmt)
  }
  return stmt
}

function run(req: Extract<WorkerRequest, { op: 'query' }>): WorkerReply {
  const stmt = statement(req.sql)
  if (stmt.reader) return { id: req.id, rows: stmt.all(...req.params) }
  const { changes, lastInsertRowid } = stmt.run(...req.params)
  return { id: req.id, rows: [], changes, lastInsertRowid }
}

// A prepared single-row statement run once per row beats one statement of many rows, and the
// whole batch costs one message each way instead of one per statement plus begin and commit.
const runBatch = db.transaction((statements: Extract<WorkerRequest, { op: 'batch' }>['statements']) => {
  for (const s of statements) {
    const stmt = statement(s.sql)
    for (const row of s.rows) stmt.run(...row)
  }
})

parentPort!.on('message', (req: WorkerRequest) => {
  if (req.op === 'close') {
    db.close()
    parentPort!.postMessage({ id: req.id, rows: [] } satisfies WorkerReply)
    return
  }
  let reply: WorkerReply
  try {
    if (req.op === 'batch') {
      // IMMEDIATE, like the driver's transactions: the write lock is taken before anything is read.
      runBatch.immediate(req.statements)
      reply = { id: req.id, rows: [] }
    } else reply = run(req)
  } catch (err) {
    const e = err as { message?: string; code?: unknown }
    reply = { id: req.id, error: { message: e.message ?? String(err), ...(typeof e.code === 'string' ? { code: e.code } : {}) } }
  }
  parentPort!.postMessage(reply)
})
