import { openDatabase, sqlStorage, type OpenDatabase, type Storage } from '../../src/adapters/storage/sql/index.js'
import { createPostgresDatabase, type EngineName } from './engines.js'

/** A fresh, migrated database for port-level contract tests: SQLite in memory or a new PostgreSQL database. */
export async function freshStorage(engine: EngineName): Promise<{ storage: Storage; database: OpenDatabase; close(): Promise<void> }> {
  const pgdb = engine === 'postgres' ? await createPostgresDatabase() : undefined
  const database = await openDatabase(pgdb ? { kind: 'postgres', url: pgdb.url } : { kind: 'sqlite', file: ':memory:' })
  return {
    storage: sqlStorage(database),
    database,
    async close() {
      await database.close()
      await pgdb?.drop()
    },
  }
}
