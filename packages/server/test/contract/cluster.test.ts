import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { availableEngines, createPostgresDatabase } from '../support/engines.js'
import { pgChangeNotifier } from '../../src/adapters/cluster/pg-change-notifier.js'
import { pgLeadership } from '../../src/adapters/cluster/pg-leadership.js'
import type { Change } from '../../src/ports/change-notifier.js'
import type { Leadership } from '../../src/ports/leadership.js'

const until = async (check: () => boolean, timeoutMs: number, what: string) => {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > timeoutMs) assert.fail(`${what} did not happen within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
  return Date.now() - start
}

if ((await availableEngines()).includes('postgres')) {
  describe('cluster coordination over PostgreSQL', () => {
    let db: { url: string; drop(): Promise<void> }
    before(async () => {
      db = await createPostgresDatabase()
    })
    after(() => db.drop())

    test('a change published on one node reaches the others, and not itself', async () => {
      const errors: unknown[] = []
      const a = pgChangeNotifier({ url: db.url, node: 'a', onError: (e) => errors.push(e) })
      const b = pgChangeNotifier({ url: db.url, node: 'b', onError: (e) => errors.push(e) })
      const heardA: Change[] = []
      const heardB: Change[] = []
      a.subscribe((c) => heardA.push(c))
      b.subscribe((c) => heardB.push(c))
      try {
        // Both are listening once a notification from each reaches the other.
        await until(() => {
          a.publish({ kind: 'keys' })
          return heardB.length > 0
        }, 5000, 'b hearing a')
        heardB.length = 0
        a.publish({ kind: 'agent', id: 'agt_1' })
        a.publish({ kind: 'session', id: 'ses_1' })
        const ms = await until(() => heardB.filter((c) => c.kind !== 'keys').length >= 2, 1000, 'b hearing two changes')
        assert.ok(ms < 1000)
        // (Late copies of the warm-up 'keys' may arrive too.)
        assert.deepEqual(heardB.filter((c) => c.kind !== 'keys'), [{ kind: 'agent', id: 'agt_1' }, { kind: 'session', id: 'ses_1' }])
        assert.deepEqual(heardA, [], 'a never hears itself')
        assert.deepEqual(errors, [])
      } finally {
        await a.close()
        await b.close()
      }
    })

    test('after its connection is cut, a notifier reconnects and tells its listeners to forget everything', async () => {
      const a = pgChangeNotifier({ url: db.url, node: 'a', onError: () => undefined })
      const b = pgChangeNotifier({ url: db.url, node: 'b', onError: () => undefined })
      const heardB: Change[] = []
      a.subscribe(() => undefined)
      b.subscribe((c) => heardB.push(c))
      try {
        await until(() => {
          a.publish({ kind: 'keys' })
          return heardB.length > 0
        }, 5000, 'b listening')
        heardB.length = 0
        const admin = new pg.Client({ connectionString: db.url })
        await admin.connect()
        await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where query like 'LISTEN%' and pid <> pg_backend_pid()`)
        await admin.end()
        await until(() => heardB.some((c) => c.kind === 'all'), 5000, 'b reconnecting')
        heardB.length = 0
        await until(() => {
          a.publish({ kind: 'role', id: 'r' })
          return heardB.some((c) => c.kind === 'role')
        }, 5000, 'b hearing again')
      } finally {
        await a.close()
        await b.close()
      }
    })

    test('exactly one node leads; when its connection dies another takes over', async () => {
      const nodes: Leadership[] = [0, 1, 2].map(() => pgLeadership({ url: db.url, campaignMs: 100, onError: () => undefined }))
      try {
        for (const n of nodes) n.start()
        await until(() => nodes.some((n) => n.isLeader()), 3000, 'a leader')
        await new Promise((r) => setTimeout(r, 300))
        assert.equal(nodes.filter((n) => n.isLeader()).length, 1)
        const first = nodes.findIndex((n) => n.isLeader())

        // Kill the leader's database connection, as if its process died.
        const admin = new pg.Client({ connectionString: db.url })
        await admin.connect()
        await admin.query(`select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and granted and objid = 7001003`)
        await admin.end()
        await until(() => !nodes[first]!.isLeader(), 3000, 'the old leader noticing')
        await until(() => nodes.filter((n) => n.isLeader()).length === 1, 3000, 'a new leader')
        await new Promise((r) => setTimeout(r, 300))
        assert.equal(nodes.filter((n) => n.isLeader()).length, 1, 'never two')

        // A leader that closes hands over.
        const second = nodes.findIndex((n) => n.isLeader())
        await nodes[second]!.close()
        await until(() => nodes.filter((n, i) => i !== second && n.isLeader()).length === 1, 3000, 'a third leader')
      } finally {
        for (const n of nodes) await n.close()
      }
    })
  })
}
