import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import { admin, createRole, initialAccessToken } from '../../../server/test/support/client.js'
import { startTestServer, type TestServer } from '../../../server/test/support/server.js'
import { Mandate, silentLogger, type FetchLike, type Logger, type MandateOptions, type RegisteredAgent, type RetryPolicy } from '../../src/index.js'

export { admin, createRole, initialAccessToken, startTestServer, type TestServer }

/** A Mandate client for the test server; quiet unless a test passes its own logger. */
export function mandateFor(server: TestServer, options: Partial<MandateOptions> = {}): Mandate {
  return new Mandate({ issuer: server.issuer, logger: silentLogger, ...options })
}

/** A role with these settings and one agent registered under it through the SDK. */
export async function registeredAgent(server: TestServer, role: Record<string, unknown> = {}, options: { fetch?: FetchLike; logger?: Logger; retry?: Partial<RetryPolicy>; scope?: string } = {}): Promise<{ agent: RegisteredAgent; role: string; mandate: Mandate }> {
  const name = await createRole(server, role)
  const { scope: _scope, ...mandateOptions } = options
  const mandate = mandateFor(server, mandateOptions)
  const agent = await mandate.registerAgent({ initialAccessToken: await initialAccessToken(server, name), name: `agent of ${name}`, scope: options.scope })
  return { agent, role: name, mandate }
}

/** Credentials of a resource server: an agent whose role may introspect and read the revocation feed. */
export async function resourceServerCredentials(server: TestServer): Promise<{ clientId: string; clientSecret: string }> {
  const { agent } = await registeredAgent(server, { scopes: ['introspect'], can_introspect: true })
  return { clientId: agent.registration.clientId, clientSecret: agent.registration.clientSecret }
}

/** POST /admin/agents/:id/suspend */
export async function suspend(server: TestServer, agentId: string): Promise<void> {
  const res = await admin(server, 'POST', `/agents/${encodeURIComponent(agentId)}/suspend`, { reason: 'sdk test' })
  if (res.status !== 200) throw new Error(`suspend failed: ${res.status} ${res.text}`)
}

/** A copy of a running SQLite server's database as it is now (SQLite's online backup); returns the file. */
export async function backupDatabase(server: TestServer): Promise<string> {
  if (server.engine !== 'sqlite') throw new Error('backupDatabase: SQLite servers only')
  const file = join(mkdtempSync(join(tmpdir(), 'mandate-backup-')), 'backup.db')
  const db = new Database(server.db, { fileMustExist: true })
  try {
    await db.backup(file)
  } finally {
    db.close()
  }
  return file
}

/**
 * What an operator's restore does: the server stops, its database is replaced by `backup` (a file
 * from backupDatabase, used up), and it starts again on the same address (so the issuer stays the
 * same). Returns the new server.
 */
export async function restoreDatabase(server: TestServer, backup: string): Promise<TestServer> {
  await server.mandate.close()
  for (const suffix of ['-wal', '-shm']) rmSync(server.db + suffix, { force: true })
  copyFileSync(backup, server.db)
  rmSync(dirname(backup), { recursive: true, force: true })
  return server.restart()
}
