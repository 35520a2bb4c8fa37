import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import { availableEngines, createPostgresDatabase } from '../support/engines.js'
import { spawnMandate, type ServerProcess } from '../support/process.js'
import { ADMIN_TOKEN, MASTER_KEY } from '../support/server.js'

/*
 * Item: kill -9 of a node in the middle of load loses no acknowledged audit event, no registered
 * agent and no issued refresh token; clients retry against the other node and carry on; the
 * background work moves to the surviving node.
 */

const ISSUER = 'https://auth.cluster.test'
const listening = (line: string) => /listening=(\S+)/.exec(line)![1]!

interface Node {
  proc: ServerProcess
  url: string
}

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, init)
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}

const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }
const basicAuth = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`

if ((await availableEngines()).includes('postgres')) {
  describe('kill -9 of a node under load', () => {
    let db: { url: string; drop(): Promise<void> }
    const dirs: string[] = []
    const nodes: Node[] = []
    const env = () => ({
      MANDATE_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_MASTER_KEY: MASTER_KEY, MANDATE_ISSUER: ISSUER, MANDATE_LOG_LEVEL: 'info',
      MANDATE_RATE_LIMIT_REGISTER: '100000:1000000', MANDATE_SHUTDOWN_GRACE_SECONDS: '1',
    })
    const startNode = async (): Promise<Node> => {
      const dir = mkdtempSync(join(tmpdir(), 'mandate-kill-'))
      dirs.push(dir)
      const proc = spawnMandate(['serve', '--port', '0', '--db', db.url, '--data-dir', dir], env())
      const node = { proc, url: listening(await proc.ready) }
      nodes.push(node)
      return node
    }

    before(async () => {
      db = await createPostgresDatabase()
    })
    after(async () => {
      for (const n of nodes) n.proc.child.kill('SIGKILL')
      await Promise.all(nodes.map((n) => n.proc.exited))
      for (const d of dirs) rmSync(d, { recursive: true, force: true })
      await db.drop()
    })

    test('nothing acknowledged is lost, clients carry on against the survivor, and it takes over the background work', async () => {
      const a = await startNode()
      const b = await startNode()
      const role = await json(`${a.url}/admin/roles`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ name: 'fleet', scopes: ['read'], rate_limit: { per_second: 100000, burst: 1000000 } }) })
      assert.equal(role.status, 201, JSON.stringify(role.body))
      const iat = (await json(`${a.url}/admin/roles/fleet/initial-access-tokens`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ uses: 100000 }) })).body.token as string

      const registered: string[] = []
      const jtis: string[] = []
      const latestRefresh = new Map<string, { agent: { id: string; secret: string }; token: string }>()
      let retries = 0
      let killed = false
      let stop = false
      // One request, to A unless A is dead, retried once against B when it fails on the wire or with 5xx.
      const send = async (path: string, init: RequestInit, prefer: Node) => {
        const first = killed ? b : prefer
        try {
          const res = await json(`${first.url}${path}`, init)
          if (res.status < 500) return res
        } catch {
          // connection refused or reset: the node died under us
        }
        retries++
        return json(`${b.url}${path}`, init)
      }

      const worker = async (w: number) => {
        const prefer = w % 2 ? a : b
        const reg = await send('/register', { method: 'POST', headers: { authorization: `Bearer ${iat}`, 'content-type': 'application/json' }, body: JSON.stringify({ client_name: `worker ${w}` }) }, prefer)
        assert.equal(reg.status, 201, JSON.stringify(reg.body))
        const agent = { id: reg.body.client_id as string, secret: reg.body.client_secret as string }
        registered.push(agent.id)
        const auth = { authorization: basicAuth(agent.id, agent.secret) }
        const session = await send('/sessions', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ task: `load ${w}`, duration: 'task-completion' }) }, prefer)
        assert.equal(session.status, 201, JSON.stringify(session.body))
        let refresh = session.body.refresh_token as string
        latestRefresh.set(agent.id, { agent, token: refresh })
        while (!stop) {
          const tok = await send('/token', { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' }, prefer)
          assert.equal(tok.status, 200, JSON.stringify(tok.body))
          jtis.push(decodeJwt(tok.body.access_token as string).jti!)
          // A retry after a lost answer presents the same refresh token: within 30 s it gets the same successor.
          const ref = await send('/token', { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${refresh}` }, prefer)
          assert.equal(ref.status, 200, JSON.stringify(ref.body))
          refresh = ref.body.refresh_token as string
          latestRefresh.set(agent.id, { agent, token: refresh })
          jtis.push(decodeJwt(ref.body.access_token as string).jti!)
          if (!stop) {
            const more = await send('/register', { method: 'POST', headers: { authorization: `Bearer ${iat}`, 'content-type': 'application/json' }, body: JSON.stringify({ client_name: `extra ${w}` }) }, prefer)
            assert.equal(more.status, 201, JSON.stringify(more.body))
            registered.push(more.body.client_id as string)
          }
        }
      }

      const load = Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)))
      // Kill in the middle of load however fast this machine is: once the load is well under way,
      // and again carry on until the survivor has answered a good share of it.
      const until = async (done: () => boolean, atMostMs: number) => {
        for (const end = Date.now() + atMostMs; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50))
      }
      await until(() => jtis.length > 60 && registered.length > 24, 30_000)
      const leaderBefore = a.proc.stderr().includes('now runs the background work') ? 'a' : 'b'
      a.proc.child.kill('SIGKILL')
      killed = true
      await a.proc.exited
      const atKill = jtis.length
      await until(() => jtis.length > atKill + 40, 30_000)
      stop = true
      await load
      assert.ok(jtis.length > 50 && registered.length > 16, `load ran: ${jtis.length} tokens, ${registered.length} agents`)

      // Every agent whose registration was acknowledged exists.
      for (const id of registered) assert.equal((await json(`${b.url}/admin/agents/${id}`, { headers: adminHeaders })).status, 200, id)
      // Every acknowledged token has its token.issued event.
      const issued = new Set<string>()
      for (let cursor: string | null | undefined; ; ) {
        const page = await json(`${b.url}/admin/audit?action=token.issued&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { headers: adminHeaders })
        for (const e of page.body.events as Array<{ target: string }>) issued.add(e.target)
        cursor = page.body.next_cursor as string | null
        if (!cursor) break
      }
      const missing = jtis.filter((j) => !issued.has(j))
      assert.deepEqual(missing, [], 'acknowledged tokens without an audit event')
      // Every session's newest acknowledged refresh token still renews, on the survivor.
      for (const { agent, token } of latestRefresh.values()) {
        const res = await json(`${b.url}/token`, { method: 'POST', headers: { authorization: basicAuth(agent.id, agent.secret), 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${token}` })
        assert.equal(res.status, 200, JSON.stringify(res.body))
      }
      // The killed node's audit stream is whole up to what it committed.
      const verify = await json(`${b.url}/admin/audit/verify`, { headers: adminHeaders })
      assert.equal(verify.body.ok, true, JSON.stringify(verify.body))
      assert.ok((verify.body.streams as number) >= 2)
      // The survivor leads now (whoever led before).
      const deadline = Date.now() + 8000
      while (!b.proc.stderr().includes('now runs the background work') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      assert.ok(b.proc.stderr().includes('now runs the background work'), `b took over the background work (a led before: ${leaderBefore === 'a'})`)
      process.stderr.write(`  (${jtis.length} tokens, ${registered.length} agents, ${retries} requests retried on the survivor)\n`)
    })
  })
}
