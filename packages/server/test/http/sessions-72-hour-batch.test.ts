import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ManualClock } from '../../src/ports/clock.js'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { introspect, registeredAgent, type RegisteredAgent } from '../support/client.js'
import { complete, heartbeat, refresh, startedSession } from '../support/sessions.js'

const MINUTE = 60_000
const HOURS_72 = 72 * 60

// A weekend batch job in simulated time: the server's clock is the test's, so 72 hours take seconds.
for (const engine of await availableEngines()) {
  describe(`a 72-hour batch job in simulated time on ${engine}`, () => {
    let server: TestServer
    let clock: ManualClock
    let resourceServer: RegisteredAgent
    before(async () => {
      // Friday, 22:00 UTC.
      clock = new ManualClock(Date.UTC(2026, 11, 4, 22, 0, 0))
      server = await startTestServer(engine, { clock })
      resourceServer = await registeredAgent(server, { role: { scopes: ['introspect'], can_introspect: true } })
    })
    after(() => server.close())
    const active = async (token: string) => (await introspect(server, resourceServer, token)).body.active === true

    test('tokens renewed every 5 minutes and heartbeats every minute: zero refusals for 72 hours, then completion ends access at once', async () => {
      const agent = await registeredAgent(server, { role: { token_ttl_seconds: 300, max_session_seconds: 4 * 86_400 } })
      const s = await startedSession(server, agent, { task: 'weekend-reconciliation', duration: 'task-completion', heartbeat_interval_seconds: 60 })
      let accessToken = s.access_token
      let refreshToken = s.refresh_token
      const refusals: string[] = []
      for (let minute = 1; minute <= HOURS_72; minute++) {
        clock.advance(MINUTE)
        const hb = await heartbeat(server, agent, s.session_id, { progress: minute / HOURS_72 })
        if (hb.status !== 200) refusals.push(`heartbeat at minute ${minute}: ${hb.status} ${hb.text}`)
        if (minute % 5 === 0) {
          await server.mandate.sessionUpkeep.sweep()
          const r = await refresh(server, agent, refreshToken)
          if (r.status !== 200) refusals.push(`renewal at minute ${minute}: ${r.status} ${r.text}`)
          else {
            accessToken = r.body.access_token as string
            refreshToken = r.body.refresh_token as string
          }
        }
        if (minute % 60 === 0 && !(await active(accessToken))) refusals.push(`token inactive at hour ${minute / 60}`)
      }
      assert.deepEqual(refusals, [])
      assert.equal(await active(accessToken), true)

      assert.equal((await complete(server, agent, s.session_id, 'succeeded')).status, 200)
      assert.equal(await active(accessToken), false, 'completion ends access at once')
      assert.equal((await refresh(server, agent, refreshToken)).body.error, 'invalid_grant')
    })

    test('a run that stops heartbeating loses access once its grace period is over', async () => {
      const agent = await registeredAgent(server, { role: { token_ttl_seconds: 300, max_session_seconds: 4 * 86_400 } })
      const s = await startedSession(server, agent, { task: 'weekend-reconciliation', duration: 'task-completion', heartbeat_interval_seconds: 60 })
      let accessToken = s.access_token
      let refreshToken = s.refresh_token
      // Ten hours of healthy work...
      for (let minute = 1; minute <= 600; minute++) {
        clock.advance(MINUTE)
        assert.equal((await heartbeat(server, agent, s.session_id)).status, 200)
        if (minute % 5 === 0) {
          const r = await refresh(server, agent, refreshToken)
          assert.equal(r.status, 200, r.text)
          accessToken = r.body.access_token as string
          refreshToken = r.body.refresh_token as string
        }
      }
      const lastHeartbeat = clock.now()
      // ...then the worker hangs: renewals go on (a stuck process's token refresher), heartbeats do not.
      let refusedAt: number | undefined
      for (let minute = 1; minute <= 30 && refusedAt === undefined; minute++) {
        clock.advance(MINUTE)
        await server.mandate.sessionUpkeep.sweep()
        const r = await refresh(server, agent, refreshToken)
        if (r.status === 200) {
          accessToken = r.body.access_token as string
          refreshToken = r.body.refresh_token as string
        } else {
          assert.equal(r.body.error, 'invalid_grant')
          refusedAt = clock.now()
        }
      }
      assert.equal(refusedAt, lastHeartbeat + 3 * MINUTE, 'refused as soon as the 3-interval grace period ran out')
      assert.equal(await active(accessToken), false)
    })
  })
}
