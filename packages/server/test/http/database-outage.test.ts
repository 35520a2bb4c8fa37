import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { availableEngines, PG_ADMIN_URL } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { admin, call, registeredAgent, tokenRequest } from '../support/client.js'

async function onAdminConnection(work: (c: pg.Client) => Promise<void>): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL })
  await c.connect()
  try {
    await work(c)
  } finally {
    await c.end()
  }
}

if ((await availableEngines()).includes('postgres')) {
  describe('PostgreSQL going away while the server runs', () => {
    let server: TestServer
    let name: string
    before(async () => {
      server = await startTestServer('postgres')
      name = new URL(server.db).pathname.slice(1)
    })
    after(() => server.close())

    test('requests get 503 temporarily_unavailable with Retry-After, /readyz says not_ready while /healthz stays 200, and the server recovers when the database returns', async () => {
      const agent = await registeredAgent(server)
      assert.equal((await tokenRequest(server, agent)).status, 200)

      // Cut the server off: drop its connections and make the database unreachable by name.
      await onAdminConnection(async (c) => {
        await c.query(`alter database ${name} allow_connections false`)
        await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1`, [name])
      })
      try {
        for (const res of [await tokenRequest(server, agent), await admin(server, 'GET', '/roles')]) {
          assert.equal(res.status, 503, res.text)
          assert.equal(res.body.error, 'temporarily_unavailable')
          assert.equal(res.headers.get('retry-after'), '1')
        }
        // A load balancer stops sending this node traffic; the process itself is alive and not restarted.
        const ready = await call(server, 'GET', '/readyz')
        assert.equal(ready.status, 503, ready.text)
        assert.equal(ready.body.status, 'not_ready')
        assert.match((ready.body.checks as { database: string }).database, /^(unavailable|timeout)$/)
        assert.equal((await call(server, 'GET', '/healthz')).status, 200)
      } finally {
        await onAdminConnection(async (c) => {
          await c.query(`alter database ${name} allow_connections true`)
        })
      }

      assert.equal((await tokenRequest(server, agent)).status, 200)
      assert.equal((await call(server, 'GET', '/readyz')).status, 200, 'ready again once the database answers')
      const verify = await admin(server, 'GET', '/audit/verify')
      assert.equal(verify.body.ok, true, 'a batch that failed to write left the chain whole')
    })
  })
}
