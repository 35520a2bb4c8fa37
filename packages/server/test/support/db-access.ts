import BetterSqlite3 from 'better-sqlite3'
import pg from 'pg'
import type { TestServer } from './server.js'

/**
 * Raw SQL against a test server's database, as an attacker with database access would have:
 * for tamper tests, never for setting up state the API can set up.
 */
export async function rawSql(server: Pick<TestServer, 'engine' | 'db'>, text: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  if (server.engine === 'sqlite') {
    const db = new BetterSqlite3(server.db)
    try {
      const sql = text.replace(/\$\d+/g, '?')
      const stmt = db.prepare(sql)
      return stmt.reader ? (stmt.all(...params) as Record<string, unknown>[]) : (stmt.run(...params), [])
    } finally {
      db.close()
    }
  }
  const client = new pg.Client({ connectionString: server.db })
  await client.connect()
  try {
    return (await client.query(text, params)).rows as Record<string, unknown>[]
  } finally {
    await client.end()
  }
}
