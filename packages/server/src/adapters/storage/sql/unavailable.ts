import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely'
import { StorageUnavailable } from '../../../ports/storage-errors.js'

// PostgreSQL SQLSTATEs of a server that is going away or full, and Node socket errors.
const UNAVAILABLE_CODES = new Set([
  '57P01', '57P02', '57P03', '53300', '53100', '08000', '08001', '08003', '08004', '08006',
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EHOSTUNREACH',
  'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_READONLY',
])

function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null
  if (typeof e?.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('SQLITE_IOERR'))) return true
  const message = typeof e?.message === 'string' ? e.message : ''
  // pg-pool and pg report these without a code.
  return /timeout exceeded when trying to connect|Connection terminated|connection is insecure|Client has encountered a connection error/.test(message)
}

/** Rethrows a "the database is not there" error as StorageUnavailable, anything else as it is. */
export function mapped(err: unknown): never {
  if (isUnavailable(err)) throw new StorageUnavailable(`database unavailable: ${(err as Error).message}`)
  throw err
}

class MappedConnection implements DatabaseConnection {
  constructor(readonly inner: DatabaseConnection) {}
  executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    return this.inner.executeQuery<R>(q).catch(mapped)
  }
  streamQuery<R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(q, chunkSize)
  }
}

const unwrap = (c: DatabaseConnection) => (c as MappedConnection).inner

class MappedDriver implements Driver {
  constructor(private readonly inner: Driver) {}
  init() {
    return this.inner.init().catch(mapped)
  }
  async acquireConnection() {
    // Whatever the reason, a database that does not give us a connection is unavailable.
    const connection = await this.inner.acquireConnection().catch((err: unknown) => {
      throw new StorageUnavailable(`database unavailable: ${(err as Error).message}`)
    })
    return new MappedConnection(connection)
  }
  beginTransaction(c: DatabaseConnection, s: TransactionSettings) {
    return this.inner.beginTransaction(unwrap(c), s).catch(mapped)
  }
  commitTransaction(c: DatabaseConnection) {
    return this.inner.commitTransaction(unwrap(c)).catch(mapped)
  }
  rollbackTransaction(c: DatabaseConnection) {
    return this.inner.rollbackTransaction(unwrap(c)).catch(mapped)
  }
  releaseConnection(c: DatabaseConnection) {
    return this.inner.releaseConnection(unwrap(c))
  }
  destroy() {
    return this.inner.destroy()
  }
}

/** Wraps a dialect so that "the database is not there" errors become StorageUnavailable. */
export function mapUnavailable(inner: Dialect): Dialect {
  return {
    createDriver: () => new MappedDriver(inner.createDriver()),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createAdapter: () => inner.createAdapter(),
    createIntrospector: (db: Parameters<Dialect['createIntrospector']>[0]) => inner.createIntrospector(db),
  }
}
