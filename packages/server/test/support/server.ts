import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { loadConfig } from '../../src/config/config.js'
import { createMandate, type Mandate } from '../../src/main.js'
import type { Clock } from '../../src/ports/clock.js'
import { createPostgresDatabase, type EngineName } from './engines.js'

/** Fixed test credentials: an admin token and a key-encryption key (32 bytes, base64url). */
export const ADMIN_TOKEN = 'mdt_admin_test-0123456789abcdefghijklmnopqrstuvwxyz'
export const MASTER_KEY = Buffer.alloc(32, 7).toString('base64url')
/** Enables /metrics when passed as env MANDATE_METRICS_TOKEN (servers start without it). */
export const METRICS_TOKEN = 'mdt_metrics_test-0123456789abcdefghijklmnopqrstuvwxyz'

export interface TestServer {
  engine: EngineName
  url: string
  issuer: string
  adminToken: string
  mandate: Mandate
  dataDir: string
  /** The SQLite file or PostgreSQL URL the server uses. */
  db: string
  /** Stops this server and starts another on the same database and data directory. */
  restart(): Promise<TestServer>
  close(): Promise<void>
}

export interface TestServerOptions {
  clock?: Clock
  /** Environment overrides, e.g. { MANDATE_ADMIN_TOKEN: '' } to test the bootstrap token. */
  env?: Record<string, string>
  /** A logger instead of the configured one (silent unless MANDATE_TEST_LOG names a level). */
  logger?: Logger
}

/** A real server on a loopback port, over a fresh SQLite file or PostgreSQL database. */
export async function startTestServer(engine: EngineName, options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mandate-test-'))
  const pgdb = engine === 'postgres' ? await createPostgresDatabase() : undefined
  const db = pgdb ? pgdb.url : join(dataDir, 'mandate.db')
  const cleanup = async () => {
    await pgdb?.drop()
    rmSync(dataDir, { recursive: true, force: true })
  }
  return launch(engine, db, dataDir, options, cleanup, 0)
}

/**
 * Another node of the same deployment: the same database and issuer (and the fixed master key
 * and admin token), its own port and data directory.
 */
export async function startPeerNode(first: TestServer, options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mandate-node-'))
  const env = { MANDATE_ISSUER: first.issuer, ...options.env }
  return launch(first.engine, first.db, dataDir, { ...options, env }, async () => rmSync(dataDir, { recursive: true, force: true }), 0)
}

async function launch(engine: EngineName, db: string, dataDir: string, options: TestServerOptions, cleanup: () => Promise<void>, port: number): Promise<TestServer> {
  const env = { MANDATE_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_MASTER_KEY: MASTER_KEY, ...options.env }
  const config = loadConfig(['--port', String(port), '--db', db, '--data-dir', dataDir, '--log-level', process.env.MANDATE_TEST_LOG ?? 'silent'], env)
  const mandate = await createMandate(config, { clock: options.clock, logger: options.logger })
  const url = await mandate.listen()
  let closed = false
  const stop = async () => {
    if (closed) return
    closed = true
    await mandate.close()
  }
  return {
    engine,
    url,
    issuer: mandate.issuer(),
    adminToken: env.MANDATE_ADMIN_TOKEN || mandate.generatedAdminToken || '',
    mandate,
    dataDir,
    db,
    async restart() {
      await stop()
      // Same port, so the issuer (and every token's iss) stays the same across the restart.
      return launch(engine, db, dataDir, options, cleanup, Number(new URL(url).port))
    },
    async close() {
      await stop()
      await cleanup()
    },
  }
}
