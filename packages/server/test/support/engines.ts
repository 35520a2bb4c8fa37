import pg from 'pg'
import { randomBytes } from 'node:crypto'

export type EngineName = 'sqlite' | 'postgres'

/** Where the tests create (and drop) their own PostgreSQL databases. */
export const PG_ADMIN_URL = process.env.MANDATE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

let cached: EngineName[] | undefined

/**
 * The engines the suite runs on: SQLite always, PostgreSQL when reachable. In CI (CI=true) a
 * missing PostgreSQL is a failure, never a silent skip.
 */
export async function availableEngines(): Promise<EngineName[]> {
  if (cached) return cached
  if (await postgresReachable()) cached = ['sqlite', 'postgres']
  else if (process.env.CI === 'true') throw new Error(`PostgreSQL is required in CI but ${PG_ADMIN_URL} is not reachable`)
  else {
    process.stderr.write(`warning: PostgreSQL at ${PG_ADMIN_URL} is not reachable; running on SQLite only\n`)
    cached = ['sqlite']
  }
  return cached
}

/** Creates an empty database for one test server; returns its URL and how to drop it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `mandate_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.href,
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL })
      await c.connect()
      try {
        await c.query(`drop database if exists ${name} with (force)`)
      } finally {
        await c.end()
      }
    },
  }
}
