import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { availableEngines } from '../support/engines.js'
import { MASTER_KEY, startTestServer, type TestServer } from '../support/server.js'
import { accessToken, admin, registeredAgent, tokenRequest } from '../support/client.js'
import { rawSql } from '../support/db-access.js'

const run = promisify(execFile)
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

async function cliVerify(server: TestServer): Promise<{ code: number; result: Record<string, unknown> }> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', CLI, 'audit', 'verify', '--db', server.db, '--data-dir', server.dataDir], { env: { ...process.env, MANDATE_MASTER_KEY: MASTER_KEY } })
    return { code: 0, result: JSON.parse(stdout) as Record<string, unknown> }
  } catch (err) {
    const e = err as { code: number; stdout: string }
    return { code: e.code, result: JSON.parse(e.stdout) as Record<string, unknown> }
  }
}

async function events(server: TestServer, query: string) {
  const res = await admin(server, 'GET', `/audit?${query}`)
  assert.equal(res.status, 200, res.text)
  return res.body.events as Record<string, unknown>[]
}

for (const engine of await availableEngines()) {
  describe(`audit log on ${engine}`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine)
    })
    after(() => server.close())

    test('token issuance and refusal are in the log by the time the response arrives', async () => {
      const agent = await registeredAgent(server)
      const token = await accessToken(server, agent)
      const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string
      const issued = await events(server, `action=token.issued&actor=${agent.clientId}`)
      assert.equal(issued.length, 1)
      assert.equal(issued[0]!.target, jti)
      assert.equal(issued[0]!.actor_type, 'agent')
      assert.equal(issued[0]!.outcome, 'success')
      assert.match(issued[0]!.hash as string, /^[0-9a-f]{64}$/)

      assert.equal((await tokenRequest(server, agent, { scope: 'admin' })).status, 400)
      const refused = await events(server, `action=token.refused&actor=${agent.clientId}`)
      assert.equal(refused.length, 1)
      assert.equal(refused[0]!.outcome, 'failure')
      assert.match(refused[0]!.reason as string, /^invalid_scope/)
    })

    test('events carry who, what, where and the request id', async () => {
      const agent = await registeredAgent(server)
      const [registered] = await events(server, `action=agent.registered&limit=50`).then((all) => all.filter((e) => e.target === agent.clientId))
      assert.ok(registered)
      assert.equal(registered.role, agent.role)
      assert.equal(registered.ip, '127.0.0.1')
      assert.match(registered.request_id as string, /^[0-9a-f-]{36}$/)
      for (const field of ['id', 'ts', 'actor_type', 'actor_id', 'action', 'outcome', 'reason', 'target', 'role', 'ip', 'request_id', 'details', 'prev_hash', 'hash']) {
        assert.ok(field in registered, `event has ${field}`)
      }
    })

    test('filters and cursor pagination walk the log newest first without repeats', async () => {
      for (let i = 0; i < 3; i++) await registeredAgent(server)
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const res = await admin(server, 'GET', `/audit?action=role.created&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        assert.equal(res.status, 200)
        for (const e of res.body.events as Record<string, unknown>[]) seen.push(e.id as string)
        cursor = res.body.next_cursor as string | null
      } while (cursor)
      assert.ok(seen.length >= 3)
      assert.equal(new Set(seen).size, seen.length)
      const all = await events(server, 'action=role.created&limit=1000')
      assert.deepEqual(seen, all.map((e) => e.id))
      const since = await events(server, `since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)
      assert.equal(since.length, 0)
      assert.equal((await events(server, 'outcome=failure')).every((e) => e.outcome === 'failure'), true)
    })

    test('target finds what was done to an agent, actor what it did', async () => {
      const agent = await registeredAgent(server)
      await accessToken(server, agent)
      assert.equal((await admin(server, 'POST', `/agents/${agent.clientId}/suspend`, { reason: 'drill' })).status, 200)
      const done = await events(server, `target=${agent.clientId}`)
      assert.deepEqual(new Set(done.map((e) => e.action)), new Set(['agent.registered', 'agent.suspended']))
      const did = await events(server, `actor=${agent.clientId}`)
      assert.ok(did.some((e) => e.action === 'token.issued'))
      assert.ok(did.every((e) => e.actor_id === agent.clientId))
    })

    test('admin reads are audited with the admin, the route and its parameters', async () => {
      const agent = await registeredAgent(server)
      assert.equal((await admin(server, 'GET', `/agents/${agent.clientId}`)).status, 200)
      const reads = await events(server, 'action=admin.read&limit=20')
      const read = reads.find((e) => (e.details as { params?: { id?: string } }).params?.id === agent.clientId)
      assert.ok(read, 'the read of the agent is in the log')
      assert.equal(read.actor_type, 'admin')
      assert.equal(read.actor_id, 'admin:env')
      assert.equal(read.target, '/admin/agents/:id')
    })

    test('since and until take real calendar dates, leap days and leap seconds included', async () => {
      for (const q of ['since=2024-02-29T00:00:00Z', 'until=2016-12-31T23:59:60Z', 'since=2026-12-04T06:00:00.123456789%2B01:00']) {
        const res = await admin(server, 'GET', `/audit?${q}`)
        assert.equal(res.status, 200, `${q}: ${res.text}`)
      }
    })

    test('bad audit queries are refused', async () => {
      for (const q of ['limit=0', 'limit=abc', 'outcome=maybe', 'since=yesterday', 'since=-1', 'since=March%207', 'until=2026-01-01', 'cursor=xyz', 'bogus=1', 'action=a&action=b',
        // RFC 3339 §5.7: days that no month has.
        'since=2026-02-29T00:00:00Z', 'since=2026-02-30T00:00:00Z', 'until=2026-04-31T00:00:00Z', 'until=2026-11-31T12:00:00Z', 'since=2026-12-04T24:00:00Z', 'since=2026-12-04T12:60:00Z']) {
        const res = await admin(server, 'GET', `/audit?${q}`)
        assert.equal(res.status, 400, q)
        assert.equal(res.body.error, 'invalid_request', q)
      }
    })
  })

  describe(`audit tamper evidence on ${engine}`, () => {
    let server: TestServer
    before(async () => {
      server = await startTestServer(engine)
      for (let i = 0; i < 3; i++) await accessToken(server, await registeredAgent(server))
    })
    after(() => server.close())

    const verify = async () => (await admin(server, 'GET', '/audit/verify')).body

    test('an intact log verifies, online and offline', async () => {
      const online = await verify()
      assert.equal(online.ok, true)
      assert.ok((online.checked as number) > 10)
      const offline = await cliVerify(server)
      assert.equal(offline.code, 0)
      assert.equal(offline.result.ok, true)
    })

    test('an edited row is caught and named', async () => {
      const [victim] = await events(server, 'action=token.issued&limit=1')
      await rawSql(server, `update audit_events set reason = 'nothing to see' where id = $1`, [victim!.id])
      const result = await verify()
      assert.equal(result.ok, false)
      assert.equal(result.first_bad, victim!.id)
      assert.equal((await cliVerify(server)).code, 1)
      await rawSql(server, `update audit_events set reason = null where id = $1`, [victim!.id])
      assert.equal((await verify()).ok, true)
    })

    test('a deleted row in the middle is caught', async () => {
      const rows = await rawSql(server, `select id, stream_id, seq from audit_events order by seq limit 3`)
      const middle = rows[1]!
      const copy = (await rawSql(server, `select * from audit_events where id = $1`, [middle.id]))[0]!
      await rawSql(server, `delete from audit_events where id = $1`, [middle.id])
      const result = await verify()
      assert.equal(result.ok, false)
      assert.equal(result.first_bad, `${middle.stream_id}:${middle.seq}`)
      // Put it back so later tests start from an intact log.
      const cols = Object.keys(copy)
      await rawSql(server, `insert into audit_events (${cols.join(',')}) values (${cols.map((_, i) => `$${i + 1}`).join(',')})`, cols.map((c) => copy[c]))
      assert.equal((await verify()).ok, true)
    })

    test('rows deleted from the end of a stream are caught', async () => {
      await accessToken(server, await registeredAgent(server))
      const [last] = await rawSql(server, `select id from audit_events order by seq desc limit 1`)
      await rawSql(server, `delete from audit_events where id = $1`, [last!.id])
      // Offline, so no new event (the online check's own admin.read) lands after the hole.
      const offline = await cliVerify(server)
      assert.equal(offline.code, 1)
      assert.match(String(offline.result.problem), /head/)
      // Online, the read is recorded after the hole, which is then caught as a gap.
      const online = await verify()
      assert.equal(online.ok, false)
    })
  })
}
