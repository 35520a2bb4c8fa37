import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeJwt } from 'jose'
import { ManualClock } from '../../src/ports/clock.js'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { accessToken, admin, auditEvents, basic, call, form, introspect, registeredAgent, tokenRequest, type RegisteredAgent } from '../support/client.js'
import { complete, getSession, heartbeat, refresh, startSession, startedSession } from '../support/sessions.js'

const MINUTE = 60_000

for (const engine of await availableEngines()) {
  describe(`task-bound sessions on ${engine}`, () => {
    let server: TestServer
    let clock: ManualClock
    let resourceServer: RegisteredAgent
    const active = async (token: string) => (await introspect(server, resourceServer, token)).body.active as boolean
    const sweep = () => server.mandate.sessionUpkeep.sweep()

    before(async () => {
      clock = new ManualClock(Date.UTC(2026, 11, 4, 22, 0, 0))
      server = await startTestServer(engine, { clock })
      resourceServer = await registeredAgent(server, { role: { scopes: ['introspect'], can_introspect: true } })
    })
    after(() => server.close())

    describe('starting a session', () => {
      test('answers 201 with a session id, a short-lived access token carrying sid, a refresh token and the heartbeat terms', async () => {
        const agent = await registeredAgent(server, { role: { scopes: ['loans:read', 'loans:write'], token_ttl_seconds: 300 } })
        const now = clock.now()
        const res = await startSession(server, agent, { task: 'nightly-batch-2026-12-04', label: 'patient-processing', duration: 'task-completion', scope: 'loans:read' })
        assert.equal(res.status, 201, res.text)
        const b = res.body
        assert.match(b.session_id as string, /^ses_[0-9a-z]{9}[A-Za-z0-9_-]{16}$/)
        assert.equal(res.headers.get('location'), `${server.issuer}/sessions/${b.session_id as string}`)
        assert.equal(res.headers.get('cache-control'), 'no-store')
        assert.equal(b.state, 'active')
        assert.equal(b.token_type, 'Bearer')
        assert.equal(b.expires_in, 300)
        assert.equal(b.scope, 'loans:read')
        assert.match(b.refresh_token as string, /^mdr_[A-Za-z0-9_-]{43}$/)
        assert.equal(b.heartbeat_interval_seconds, 60)
        assert.equal(b.heartbeat_grace_seconds, 180)
        assert.equal(b.heartbeat_deadline, Math.floor(now / 1000) + 180)
        assert.equal(b.max_session_seconds, 604_800, 'the role ceiling defaults to 7 days')
        assert.equal(b.max_expires_at, Math.floor(now / 1000) + 604_800)
        const claims = decodeJwt(b.access_token as string)
        assert.equal(claims.sid, b.session_id)
        assert.equal(claims.sub, agent.clientId)
        assert.equal(claims.exp, Math.floor(now / 1000) + 300)

        const seen = await introspect(server, resourceServer, b.access_token as string)
        assert.equal(seen.body.active, true)
        assert.equal(seen.body.sid, b.session_id)
        assert.deepEqual(seen.body.session, { id: b.session_id, task: 'nightly-batch-2026-12-04', label: 'patient-processing', state: 'active' })

        const [started] = await auditEvents(server, { action: 'session.started', target: b.session_id as string })
        assert.ok(started)
        assert.equal(started.actor_type, 'agent')
        assert.equal(started.actor_id, agent.clientId)
        assert.equal(started.details.task, 'nightly-batch-2026-12-04')
        assert.equal(started.details.label, 'patient-processing')
      })

      test('the role ceiling caps every session, whatever duration it asks for, and the response says so', async () => {
        const agent = await registeredAgent(server, { role: { max_session_seconds: 3600 } })
        const now = Math.floor(clock.now() / 1000)
        assert.equal((await startedSession(server, agent, { duration: 7200 })).max_expires_at, now + 3600)
        assert.equal((await startedSession(server, agent, { duration: 'task-completion', max_duration_seconds: 86_400 })).max_expires_at, now + 3600)
        assert.equal((await startedSession(server, agent, { duration: 'task-completion', max_duration_seconds: 600 })).max_expires_at, now + 600)
        assert.equal((await startedSession(server, agent, { duration: 120 })).max_expires_at, now + 120)
      })

      test('task and label lengths count characters, not UTF-16 units', async () => {
        const agent = await registeredAgent(server)
        const res = await startSession(server, agent, { task: '\u{1F680}'.repeat(200), label: '\u{1F9EA}'.repeat(100), duration: 'task-completion' })
        assert.equal(res.status, 201, res.text)
        assert.equal((await startSession(server, agent, { task: '\u{1F680}'.repeat(201), duration: 'task-completion' })).status, 400)
      })

      test("lowering the role's ceiling reaches running sessions: those past it end, the rest end by it", async () => {
        const agent = await registeredAgent(server, { role: { scopes: ['a'], max_session_seconds: 7200 } })
        const old = await startedSession(server, agent, { heartbeat_interval_seconds: 3600 })
        clock.advance(1800 * 1000)
        const young = await startedSession(server, agent, { heartbeat_interval_seconds: 3600 })
        assert.equal((await heartbeat(server, agent, old.session_id)).status, 200)
        const lowered = await admin(server, 'PUT', `/roles/${agent.role}`, { scopes: ['a'], max_session_seconds: 1200 })
        assert.equal(lowered.status, 200, lowered.text)
        await sweep()
        const ended = await getSession(server, agent, old.session_id)
        assert.equal(ended.body.state, 'expired')
        assert.equal(ended.body.end_reason, 'max_duration_reached')
        assert.equal((await refresh(server, agent, old.refresh_token)).body.error, 'invalid_grant')
        const capped = await getSession(server, agent, young.session_id)
        assert.equal(capped.body.state, 'active')
        assert.equal(capped.body.max_expires_at, young.max_expires_at - 7200 + 1200)
        // Raising it again lengthens nothing.
        assert.equal((await admin(server, 'PUT', `/roles/${agent.role}`, { scopes: ['a'], max_session_seconds: 7200 })).status, 200)
        assert.equal((await getSession(server, agent, young.session_id)).body.max_expires_at, young.max_expires_at - 7200 + 1200)
      })

      test('an agent registered without the refresh_token grant cannot start one', async () => {
        const agent = await registeredAgent(server, { metadata: { grant_types: ['client_credentials'] } })
        const res = await startSession(server, agent, { task: 't', duration: 'task-completion' })
        assert.equal(res.status, 400, res.text)
        assert.equal(res.body.error, 'unauthorized_client')
      })
    })

    describe('renewal through the refresh_token grant', () => {
      test('renews the access token with a rotating refresh token for as long as the session is live', async () => {
        const agent = await registeredAgent(server, { role: { scopes: ['a', 'b'], token_ttl_seconds: 60 } })
        const s = await startedSession(server, agent, { scope: 'a b' })
        clock.advance(55_000)
        assert.equal((await heartbeat(server, agent, s.session_id)).status, 200)
        const r = await refresh(server, agent, s.refresh_token)
        assert.equal(r.status, 200, r.text)
        assert.equal(r.headers.get('cache-control'), 'no-store')
        assert.equal(r.body.token_type, 'Bearer')
        assert.equal(r.body.expires_in, 60)
        assert.equal(r.body.scope, 'a b', 'an omitted scope keeps the session scope')
        assert.notEqual(r.body.refresh_token, s.refresh_token)
        assert.equal(decodeJwt(r.body.access_token as string).sid, s.session_id)
        assert.equal(await active(r.body.access_token as string), true)

        const narrow = await refresh(server, agent, r.body.refresh_token as string, { scope: 'a' })
        assert.equal(narrow.status, 200, narrow.text)
        assert.equal(narrow.body.scope, 'a')
        const wide = await refresh(server, agent, narrow.body.refresh_token as string, { scope: 'a b c' })
        assert.equal(wide.status, 400)
        assert.equal(wide.body.error, 'invalid_scope')
        // The refused request rotated nothing: the same refresh token still works.
        assert.equal((await refresh(server, agent, narrow.body.refresh_token as string)).status, 200)
      })

      test('a retry with the refresh token just rotated gets the same successor; an older copy ends the session', async () => {
        const agent = await registeredAgent(server)
        const s = await startedSession(server, agent)
        const first = await refresh(server, agent, s.refresh_token)
        assert.equal(first.status, 200)
        // The response was lost; the agent retries with the token it still has.
        clock.advance(5_000)
        const retry = await refresh(server, agent, s.refresh_token)
        assert.equal(retry.status, 200, retry.text)
        assert.equal(retry.body.refresh_token, first.body.refresh_token)
        const next = await refresh(server, agent, first.body.refresh_token as string)
        assert.equal(next.status, 200)
        // Now the very first token is two rotations old: a copy in someone else's hands.
        const reused = await refresh(server, agent, s.refresh_token)
        assert.equal(reused.status, 400)
        assert.equal(reused.body.error, 'invalid_grant')
        assert.equal((await getSession(server, agent, s.session_id)).body.state, 'terminated')
        assert.equal((await getSession(server, agent, s.session_id)).body.end_reason, 'refresh_token_reused')
        assert.equal((await refresh(server, agent, next.body.refresh_token as string)).body.error, 'invalid_grant')
        assert.equal(await active(next.body.access_token as string), false)
      })

      test('the rotated token presented after the 30 s retry window ends the session', async () => {
        const agent = await registeredAgent(server)
        const s = await startedSession(server, agent)
        assert.equal((await refresh(server, agent, s.refresh_token)).status, 200)
        clock.advance(31_000)
        assert.equal((await refresh(server, agent, s.refresh_token)).body.error, 'invalid_grant')
        assert.equal((await getSession(server, agent, s.session_id)).body.state, 'terminated')
      })

      test("another agent's refresh token is invalid_grant and leaves that session untouched", async () => {
        const owner = await registeredAgent(server)
        const other = await registeredAgent(server)
        const s = await startedSession(server, owner)
        const res = await refresh(server, other, s.refresh_token)
        assert.equal(res.status, 400)
        assert.equal(res.body.error, 'invalid_grant')
        assert.equal((await refresh(server, owner, s.refresh_token)).status, 200)
      })

      test('parallel renewals with one refresh token all succeed with one successor, and the session lives on', async () => {
        const agent = await registeredAgent(server)
        const s = await startedSession(server, agent)
        const results = await Promise.all(Array.from({ length: 8 }, () => refresh(server, agent, s.refresh_token)))
        for (const r of results) assert.equal(r.status, 200, r.text)
        assert.equal(new Set(results.map((r) => r.body.refresh_token)).size, 1)
        assert.equal((await getSession(server, agent, s.session_id)).body.state, 'active')
      })

      test('revoking the refresh token (RFC 7009) ends the session and every token it issued', async () => {
        const agent = await registeredAgent(server)
        const s = await startedSession(server, agent)
        const res = await call(server, 'POST', '/revoke', {
          headers: { authorization: basic(agent.clientId, agent.clientSecret), 'content-type': 'application/x-www-form-urlencoded' },
          body: form({ token: s.refresh_token, token_type_hint: 'refresh_token' }),
        })
        assert.equal(res.status, 200)
        assert.equal((await getSession(server, agent, s.session_id)).body.end_reason, 'refresh_token_revoked')
        assert.equal(await active(s.access_token), false)
      })
    })

    describe('heartbeats and the end of a session', () => {
      test('heartbeats keep it live and are counted, not audited one by one; without them it expires after the grace period', async () => {
        const agent = await registeredAgent(server)
        const s = await startedSession(server, agent, { heartbeat_interval_seconds: 60 })
        for (let i = 0; i < 5; i++) {
          clock.advance(MINUTE)
          const hb = await heartbeat(server, agent, s.session_id, { progress: (i + 1) / 10, note: `batch ${i}` })
          assert.equal(hb.status, 200, hb.text)
          assert.equal(hb.body.heartbeat_count, i + 1)
          assert.equal(hb.body.heartbeat_deadline, Math.floor(clock.now() / 1000) + 180)
        }
        assert.equal((await getSession(server, agent, s.session_id)).body.progress, 0.5)
        assert.equal((await getSession(server, agent, s.session_id)).body.note, 'batch 4')
        const events = await auditEvents(server, { target: s.session_id })
        assert.deepEqual(events.map((e) => e.action), ['session.started'], 'heartbeats write no audit rows')

        clock.advance(179_000)
        await sweep()
        assert.equal((await getSession(server, agent, s.session_id)).body.state, 'active', 'still within grace')
        clock.advance(1_000)
        await sweep()
        const ended = await getSession(server, agent, s.session_id)
        assert.equal(ended.body.state, 'expired')
        assert.equal(ended.body.end_reason, 'heartbeat_missed')
        assert.equal(ended.body.heartbeat_count, 5)
        const [missed] = await auditEvents(server, { action: 'session.heartbeat_missed', target: s.session_id })
        assert.ok(missed)
        assert.equal(missed.actor_type, 'system')
        assert.equal(missed.details.task, 'nightly-batch')
        assert.equal(missed.details.heartbeat_count, 5)
        assert.equal((await refresh(server, agent, s.refresh_token)).body.error, 'invalid_grant')
        assert.equal(await active(s.access_token), false)
      })

      test('past its deadline a session is over even before the sweeper has run', async () => {
        const agent = await registeredAgent(server)
        const s = await startedSession(server, agent, { heartbeat_interval_seconds: 10 })
        clock.advance(31_000)
        assert.equal(await active(s.access_token), false)
        assert.equal((await refresh(server, agent, s.refresh_token)).body.error, 'invalid_grant')
        const hb = await heartbeat(server, agent, s.session_id)
        assert.equal(hb.status, 409)
        assert.equal(hb.body.error, 'session_ended')
        assert.equal((await getSession(server, agent, s.session_id)).body.end_reason, 'heartbeat_missed')
      })

      test('completion ends it at once: refresh refused, access tokens inactive, heartbeats and a second completion are 409', async () => {
        const agent = await registeredAgent(server)
        const s = await startedSession(server, agent, { label: 'reports' })
        const done = await complete(server, agent, s.session_id, 'succeeded')
        assert.equal(done.status, 200, done.text)
        assert.equal(done.body.state, 'completed')
        assert.equal(done.body.outcome, 'succeeded')
        assert.equal(await active(s.access_token), false)
        assert.equal((await refresh(server, agent, s.refresh_token)).body.error, 'invalid_grant')
        const hb = await heartbeat(server, agent, s.session_id)
        assert.equal(hb.status, 409)
        assert.equal(hb.body.error, 'session_ended')
        assert.equal((await complete(server, agent, s.session_id, 'failed')).status, 409)
        assert.equal((await getSession(server, agent, s.session_id)).body.outcome, 'succeeded')
        const [completed] = await auditEvents(server, { action: 'session.completed', target: s.session_id })
        assert.equal(completed?.details.outcome, 'succeeded')
        assert.equal(completed?.details.label, 'reports')
        // The agent itself is fine: it may start another session.
        assert.equal((await tokenRequest(server, agent)).status, 200)
      })

      test('a session with a duration expires when it has elapsed, heartbeats or not', async () => {
        const agent = await registeredAgent(server)
        const s = await startedSession(server, agent, { duration: 120, heartbeat_interval_seconds: 60 })
        clock.advance(MINUTE)
        await heartbeat(server, agent, s.session_id)
        clock.advance(MINUTE)
        assert.equal((await heartbeat(server, agent, s.session_id)).status, 409)
        await sweep()
        const ended = await getSession(server, agent, s.session_id)
        assert.equal(ended.body.state, 'expired')
        assert.equal(ended.body.end_reason, 'duration_elapsed')
      })

      test("access tokens never outlive the session's absolute end", async () => {
        const agent = await registeredAgent(server, { role: { token_ttl_seconds: 300 } })
        const s = await startedSession(server, agent, { duration: 100 })
        assert.equal(s.expires_in, 100)
        assert.equal(decodeJwt(s.access_token).exp, s.max_expires_at)
      })

      test('an ephemeral agent retires when its session completes: its credentials stop working', async () => {
        const agent = await registeredAgent(server, { role: { lifecycle: 'ephemeral' } })
        const s = await startedSession(server, agent)
        const token = await accessToken(server, agent)
        assert.equal((await complete(server, agent, s.session_id, 'succeeded')).status, 200)
        const res = await tokenRequest(server, agent)
        assert.equal(res.status, 401)
        assert.equal(res.body.error, 'invalid_client')
        assert.equal(await active(token), false)
        assert.equal((await admin(server, 'GET', `/agents/${agent.clientId}`)).body.status, 'retired')
      })

      test("suspending an agent ends its sessions; resuming does not bring them back", async () => {
        const agent = await registeredAgent(server)
        const s = await startedSession(server, agent)
        assert.equal((await admin(server, 'POST', `/agents/${agent.clientId}/suspend`, { reason: 'drill' })).status, 200)
        assert.equal((await admin(server, 'POST', `/agents/${agent.clientId}/resume`)).status, 200)
        assert.equal((await getSession(server, agent, s.session_id)).body.state, 'terminated')
        assert.equal((await getSession(server, agent, s.session_id)).body.end_reason, 'agent_suspended')
        assert.equal((await refresh(server, agent, s.refresh_token)).body.error, 'invalid_grant')
      })
    })

    describe('operators', () => {
      test('GET /admin/sessions filters by agent, role, label and state and pages with a cursor', async () => {
        const a = await registeredAgent(server)
        const b = await registeredAgent(server)
        const s1 = await startedSession(server, a, { label: 'ingest' })
        clock.advance(1) // ids sort by the millisecond they were created in
        const s2 = await startedSession(server, a, { label: 'ingest' })
        const s3 = await startedSession(server, b, { label: 'report' })
        await complete(server, a, s2.session_id)
        const ids = async (q: string) => ((await admin(server, 'GET', `/sessions?${q}`)).body.sessions as { session_id: string }[]).map((s) => s.session_id)
        assert.deepEqual(await ids(`agent=${a.clientId}`), [s1.session_id, s2.session_id])
        assert.deepEqual(await ids(`agent=${a.clientId}&state=active`), [s1.session_id])
        assert.deepEqual(await ids(`role=${b.role}`), [s3.session_id])
        assert.ok((await ids('label=report')).includes(s3.session_id))
        const page1 = await admin(server, 'GET', `/sessions?agent=${a.clientId}&limit=1`)
        assert.equal(page1.body.next_cursor, s1.session_id)
        const page2 = await admin(server, 'GET', `/sessions?agent=${a.clientId}&limit=1&cursor=${page1.body.next_cursor as string}`)
        assert.deepEqual((page2.body.sessions as { session_id: string }[]).map((s) => s.session_id), [s2.session_id])
        assert.equal(page2.body.next_cursor, null)
        assert.equal((await admin(server, 'GET', '/sessions?state=dozing')).body.error, 'invalid_request')
      })

      test('POST /admin/sessions/:id/terminate needs a reason, ends the session, and is audited', async () => {
        const agent = await registeredAgent(server)
        const s = await startedSession(server, agent)
        assert.equal((await admin(server, 'POST', `/sessions/${s.session_id}/terminate`, {})).status, 400)
        assert.equal((await getSession(server, agent, s.session_id)).body.state, 'active')
        const res = await admin(server, 'POST', `/sessions/${s.session_id}/terminate`, { reason: 'runaway job' })
        assert.equal(res.status, 200, res.text)
        assert.equal(res.body.state, 'terminated')
        assert.equal(res.body.end_reason, 'runaway job')
        assert.equal(await active(s.access_token), false)
        const [event] = await auditEvents(server, { action: 'session.terminated', target: s.session_id })
        assert.equal(event?.actor_type, 'admin')
        assert.equal((await admin(server, 'POST', `/sessions/${s.session_id}/terminate`, { reason: 'again' })).status, 409)
        assert.equal((await admin(server, 'POST', '/sessions/ses_nope/terminate', { reason: 'x' })).status, 404)
      })

      test('roles carry max_session_seconds and health_check_hosts', async () => {
        const res = await admin(server, 'POST', '/roles', { name: `sess-role-${engine}`, scopes: ['a'], max_session_seconds: 86_400, health_check_hosts: ['Health.Example.com', '*.workers.example.com', '10.0.0.5'] })
        assert.equal(res.status, 201, res.text)
        assert.equal(res.body.max_session_seconds, 86_400)
        assert.deepEqual(res.body.health_check_hosts, ['health.example.com', '*.workers.example.com', '10.0.0.5'])
        for (const bad of [{ max_session_seconds: 0 }, { max_session_seconds: '7d' }, { health_check_hosts: ['https://x.example.com'] }, { health_check_hosts: ['x.example.com:443'] }, { health_check_hosts: ['*'] }, { health_check_hosts: 'x.example.com' }, { health_check_hosts: ['169.254.169.254'] }, { health_check_hosts: ['[fe80::1]'] }, { health_check_hosts: ['fd00:ec2::254'] }, { health_check_hosts: ['2852039166'] }, { health_check_hosts: ['0xa9fea9fe'] }, { health_check_hosts: ['0'] }, { health_check_hosts: ['::a9fe:a9fe'] }, { health_check_hosts: ['2002:a9fe:a9fe::1'] }]) {
          const r = await admin(server, 'POST', '/roles', { name: `bad-${engine}`, scopes: ['a'], ...bad })
          assert.equal(r.status, 400, JSON.stringify(bad))
          assert.equal(r.body.error, 'invalid_request')
        }
      })
    })
  })
}
