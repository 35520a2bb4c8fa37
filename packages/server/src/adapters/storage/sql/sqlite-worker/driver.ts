import type { Worker } from 'node:worker_threads'
import {
  CompiledQuery, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler,
  type DatabaseConnection, type Dialect, type Driver, type QueryResult,
} from 'kysely'
import { startWorker } from '../../../../worker-thread.js'
import type { BatchStatement, WorkerOptions, WorkerReply, WorkerRequest } from './protocol.js'

type Pending = { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }
type Query = { op: 'query'; sql: string; params: readonly unknown[] } | { op: 'batch'; statements: readonly BatchStatement[] }

/** One message channel to the worker; replies are matched to requests by id. */
class WorkerChannel {
  private readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private failure: Error | undefined

  constructor(file: string) {
    this.worker = startWorker(import.meta.url, 'worker', { file } satisfies WorkerOptions)
    this.worker.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id)
      this.pending.delete(reply.id)
      p?.resolve(reply)
    })
    const fail = (err: Error) => {
      this.failure = err
      for (const p of this.pending.values()) p.reject(err)
      this.pending.clear()
    }
    this.worker.on('error', fail)
    this.worker.on('exit', (code) => fail(Object.assign(new Error(`SQLite worker exited (${code})`), { code: 'SQLITE_CANTOPEN' })))
  }

  call(req: Query | { op: 'close' }): Promise<WorkerReply> {
    if (this.failure) return Promise.reject(this.failure)
    const id = this.nextId++
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ ...req, id } as WorkerRequest)
    })
  }

  async close(): Promise<void> {
    if (!this.failure) await this.call({ op: 'close' }).catch(() => undefined)
    await this.worker.terminate()
  }
}

class WorkerConnection implements DatabaseConnection {
  constructor(private readonly channel: WorkerChannel) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const reply = throwIfError(await this.channel.call({ op: 'query', sql: compiled.sql, params: compiled.parameters }))
    return {
      rows: reply.rows as R[],
      ...(reply.changes !== undefined ? { numAffectedRows: BigInt(reply.changes) } : {}),
      ...(reply.lastInsertRowid !== undefined ? { insertId: BigInt(reply.lastInsertRowid) } : {}),
    }
  }

  // eslint-disable-next-line require-yield -- streaming is not offered; the interface requires the method.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on SQLite')
  }
}

/** Rebuilds a worker's error with its SQLite code, which callers classify (unique violation, busy, …). */
function throwIfError(reply: WorkerReply): Exclude<WorkerReply, { error: unknown }> {
  if ('error' in reply) throw Object.assign(new Error(reply.error.message), { code: reply.error.code })
  return reply
}

/** SQLite has one connection: queries and transactions take turns, as in Kysely's own driver. */
class Mutex {
  private tail: Promise<void> = Promise.resolve()
  lock(): Promise<() => void> {
    let release!: () => void
    const next = new Promise<void>((r) => (release = r))
    const acquired = this.tail.then(() => release)
    this.tail = this.tail.then(() => next)
    return acquired
  }
}

class WorkerSqliteDriver implements Driver {
  private channel: WorkerChannel | undefined
  private connection: WorkerConnection | undefined
  private readonly mutex = new Mutex()
  private release: (() => void) | undefined

  constructor(private readonly file: string) {}

  async init(): Promise<void> {
    this.channel = new WorkerChannel(this.file)
    this.connection = new WorkerConnection(this.channel)
    await this.connection.executeQuery(CompiledQuery.raw('select 1'))
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    this.release = await this.mutex.lock()
    return this.connection!
  }

  async beginTransaction(c: DatabaseConnection): Promise<void> {
    // IMMEDIATE takes the write lock at once, so another process on the file cannot make
    // this transaction fail half-way with SQLITE_BUSY_SNAPSHOT.
    await c.executeQuery(CompiledQuery.raw('begin immediate'))
  }

  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('commit'))
  }

  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('rollback'))
  }

  async releaseConnection(): Promise<void> {
    const release = this.release
    this.release = undefined
    release?.()
  }

  async destroy(): Promise<void> {
    await this.channel?.close()
  }

  /** Runs the statements in one transaction on the worker, taking its turn like any transaction. */
  async batch(statements: readonly BatchStatement[]): Promise<void> {
    if (!this.channel) throw new Error('the SQLite driver is not open')
    const release = await this.mutex.lock()
    try {
      throwIfError(await this.channel.call({ op: 'batch', statements }))
    } finally {
      release()
    }
  }
}

/** Runs several statements as one transaction in a single round trip (SQLite only). */
export type StatementBatch = (statements: readonly BatchStatement[]) => Promise<void>

/**
 * Kysely's SQLite dialect with the connection on a worker thread instead of the event loop, and
 * `batch` for writes that Kysely's query builder would make slower than they need to be.
 */
export function workerSqliteDialect(file: string): Dialect & { batch: StatementBatch } {
  let driver: WorkerSqliteDriver | undefined
  return {
    createDriver: () => (driver = new WorkerSqliteDriver(file)),
    batch: (statements) => (driver ? driver.batch(statements) : Promise.reject(new Error('the SQLite driver is not open'))),
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createAdapter: () => new SqliteAdapter(),
    createIntrospector: (db) => new SqliteIntrospector(db),
  }
}
