import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import pg from 'pg'
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely'
import type { DatabaseConfig } from '../../../config/config.js'
import { migrationProvider } from './migrations.js'
import type { Database } from './schema.js'
import { mapped, mapUnavailable } from './unavailable.js'
import { workerSqliteDialect, type StatementBatch } from './sqlite-worker/driver.js'

export type Engine = 'sqlite' | 'postgres'

export interface OpenDatabase {
  db: Kysely<Database>
  engine: Engine
  /** A trivial query: resolves when the database answers. */
  ping(): Promise<void>
  /** SQLite: several statements in one transaction and one round trip to its thread; undefined on PostgreSQL. */
  batch: StatementBatch | undefined
  /** The PostgreSQL connection pool's counts; undefined on SQLite. */
  poolStats(): { total: number; idle: number; waiting: number } | undefined
  close(): Promise<void>
}

export class DatabaseUnavailable extends Error {}

const PG_INT8 = 20

/** Opens SQLite or PostgreSQL, checks the connection and applies pending migrations. */
export async function openDatabase(config: DatabaseConfig): Promise<OpenDatabase> {
  let opened: { db: Kysely<Database>; engine: Engine; pool?: pg.Pool; batch?: StatementBatch }
  try {
    opened = config.kind === 'sqlite' ? openSqlite(config.file) : openPostgres(config.url)
  } catch (err) {
    throw new DatabaseUnavailable(describeConnectError(config, err))
  }
  const { db, engine, pool, batch } = opened
  try {
    await migrate(db)
  } catch (err) {
    await db.destroy().catch(() => undefined)
    throw new DatabaseUnavailable(describeConnectError(config, err))
  }
  return {
    db,
    engine,
    batch,
    ping: async () => void (await sql`select 1`.execute(db)),
    poolStats: () => pool && { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount },
    close: () => db.destroy(),
  }
}

function openSqlite(file: string): { db: Kysely<Database>; engine: Engine; batch: StatementBatch } {
  if (file !== ':memory:') {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
    // The database holds credential digests, sealed keys and the audit trail: create it readable
    // by the operator only. SQLite gives its -wal and -shm files the mode of the database file.
    closeSync(openSync(file, 'a', 0o600))
  }
  // The connection lives on a worker thread (see sqlite-worker/), so commits, and their fsync,
  // never block the event loop.
  const dialect = workerSqliteDialect(file)
  return { db: new Kysely<Database>({ dialect: mapUnavailable(dialect) }), engine: 'sqlite', batch: (statements) => dialect.batch(statements).catch(mapped) }
}

function openPostgres(url: string): { db: Kysely<Database>; engine: Engine; pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: url,
    max: 20,
    // Also bounds how long a request waits for a free connection under load.
    connectionTimeoutMillis: 10_000,
    // bigint columns hold ms timestamps, well inside Number's safe range.
    types: { getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === PG_INT8 ? Number : pg.types.getTypeParser(oid, format as 'text')) } as pg.CustomTypesConfig,
  })
  // A client that loses its connection emits 'error': on the pool when idle, on the client itself
  // when checked out. Without listeners the process dies; with them the query in flight fails
  // (StorageUnavailable, 503) and the pool replaces the client.
  pool.on('error', () => undefined)
  pool.on('connect', (client) => client.on('error', () => undefined))
  return { db: new Kysely<Database>({ dialect: mapUnavailable(new PostgresDialect({ pool })) }), engine: 'postgres', pool }
}

async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider })
  const { error } = await migrator.migrateToLatest()
  if (error) throw error
}

function describeConnectError(config: DatabaseConfig, err: unknown): string {
  const message = err instanceof Error ? err.message || err.constructor.name : String(err)
  if (config.kind === 'postgres') {
    const u = new URL(config.url)
    return `cannot use PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}: ${message}`
  }
  return `cannot use SQLite database ${config.file}: ${message}`
}
