import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { ManualClock } from '../../src/ports/clock.js'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { admin, registeredAgent } from '../support/client.js'
import { getSession, startSession, startedSession } from '../support/sessions.js'

for (const engine of await availableEngines()) {
  describe(`session health checks on ${engine}`, () => {
    let server: TestServer
    let clock: ManualClock
    let target: Server
    let base: string
    let healthy = true
    let probes = 0
    before(async () => {
      target = createServer((req, res) => {
        probes++
        if (req.url === '/redirect') return res.writeHead(302, { location: '/health' }).end()
        if (req.url === '/hang') return // never answers; the prober's timeout ends it
        res.writeHead(healthy ? 200 : 503).end()
      })
      await new Promise<void>((r) => target.listen(0, '127.0.0.1', r))
      base = `http://127.0.0.1:${(target.address() as AddressInfo).port}`
      clock = new ManualClock(Date.now())
      server = await startTestServer(engine, { clock })
    })
    after(async () => {
      await server.close()
      await new Promise<void>((r) => target.close(() => r()))
    })

    const probeRound = async (ms: number) => {
      clock.advance(ms)
      await server.mandate.sessionUpkeep.probe()
      await server.mandate.sessionUpkeep.sweep()
    }

    test('a passing health check keeps a session alive without heartbeats; a failing one lets it expire', async () => {
      healthy = true
      const agent = await registeredAgent(server, { role: { health_check_hosts: ['127.0.0.1'] } })
      const s = await startedSession(server, agent, { heartbeat_interval_seconds: 10, health_check: { url: `${base}/health` } })
      const before = probes
      for (let i = 0; i < 10; i++) await probeRound(10_000)
      assert.ok(probes - before >= 10, 'probed every interval')
      const live = await getSession(server, agent, s.session_id)
      assert.equal(live.body.state, 'active')
      assert.equal(live.body.health_check_url, `${base}/health`)

      healthy = false
      for (let i = 0; i < 4; i++) await probeRound(10_000)
      const ended = await getSession(server, agent, s.session_id)
      assert.equal(ended.body.state, 'expired')
      assert.equal(ended.body.end_reason, 'heartbeat_missed')
    })

    test("one health check that never answers does not hold up another session's probes", async () => {
      healthy = true
      const role = { health_check_hosts: ['127.0.0.1'] }
      const stuck = await registeredAgent(server, { role })
      const hanging = await startedSession(server, stuck, { heartbeat_interval_seconds: 10, health_check: { url: `${base}/hang` } })
      const agent = await registeredAgent(server, { role })
      const s = await startedSession(server, agent, { heartbeat_interval_seconds: 10, health_check: { url: `${base}/health` } })
      const beats = async () => (await getSession(server, agent, s.session_id)).body.heartbeat_count as number
      const started = Date.now()
      for (let round = 1; round <= 3; round++) {
        clock.advance(10_000)
        await server.mandate.sessionUpkeep.launchProbes((err) => assert.fail(String(err)))
        for (let i = 0; i < 200 && (await beats()) < round; i++) await new Promise((r) => setTimeout(r, 10))
        assert.equal(await beats(), round, `round ${round}`)
      }
      // Waiting for the stuck probe would cost its 3 s timeout in each round (9 s in all).
      assert.ok(Date.now() - started < 6000, `${Date.now() - started} ms`)
      for (const id of [hanging.session_id, s.session_id]) assert.equal((await admin(server, 'POST', `/sessions/${id}/terminate`, { reason: 'test over' })).status, 200)
    })

    test('a redirect is not followed: the session is not kept alive by it', async () => {
      healthy = true
      const agent = await registeredAgent(server, { role: { health_check_hosts: ['127.0.0.1'] } })
      const s = await startedSession(server, agent, { heartbeat_interval_seconds: 10, health_check: { url: `${base}/redirect` } })
      for (let i = 0; i < 4; i++) await probeRound(10_000)
      assert.equal((await getSession(server, agent, s.session_id)).body.state, 'expired')
    })

    test('a host the operator removes from the allowlist is not probed again', async () => {
      healthy = true
      const agent = await registeredAgent(server, { role: { health_check_hosts: ['127.0.0.1'] } })
      const s = await startedSession(server, agent, { heartbeat_interval_seconds: 10, health_check: { url: `${base}/health` } })
      const role = (await admin(server, 'GET', `/roles/${agent.role}`)).body
      const { name: _n, version: _v, live_agents: _l, created_at: _c, updated_at: _u, ...settings } = role
      assert.equal((await admin(server, 'PUT', `/roles/${agent.role}`, { ...settings, health_check_hosts: [] })).status, 200)
      const before = probes
      for (let i = 0; i < 4; i++) await probeRound(10_000)
      assert.equal(probes, before)
      assert.equal((await getSession(server, agent, s.session_id)).body.state, 'expired')
    })

    test('a health check off the allowlist, or inward under a wildcard, is refused at the start and creates nothing', async () => {
      const agent = await registeredAgent(server, { role: { health_check_hosts: ['*.workers.example.com'] } })
      for (const url of [`${base}/health`, 'https://169.254.169.254/latest/meta-data', 'https://localhost/health', 'http://a.workers.example.com/', 'https://a.workers.example.com@127.0.0.1/']) {
        const res = await startSession(server, agent, { task: 't', duration: 'task-completion', health_check: { url } })
        assert.equal(res.status, 400, url)
        assert.equal(res.body.error, 'invalid_request', url)
        assert.match(res.body.error_description as string, /health_check/, url)
      }
      const listed = await admin(server, 'GET', `/sessions?agent=${agent.clientId}`)
      assert.deepEqual(listed.body.sessions, [])
    })
  })
}
