import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import {
  accessToken, admin, auditEvents, basic, call, createRole, initialAccessToken, introspect, register, registeredAgent, tokenRequest, type RegisteredAgent,
} from '../support/client.js'

type AgentJson = { id: string; role: string; status: string; status_reason: string | null; role_version: number }

async function listAgents(server: TestServer, query: Record<string, string>) {
  const res = await admin(server, 'GET', `/agents?${new URLSearchParams(query).toString()}`)
  assert.equal(res.status, 200, res.text)
  return { agents: res.body.agents as AgentJson[], next: res.body.next_cursor as string | null }
}

for (const engine of await availableEngines()) {
  describe(`admin agents API on ${engine}`, () => {
    let server: TestServer
    let observer: RegisteredAgent
    before(async () => {
      server = await startTestServer(engine)
      observer = await registeredAgent(server, { role: { scopes: ['introspect'], can_introspect: true } })
    })
    after(() => server.close())

    test('an agent is listed under its role and can be fetched by id', async () => {
      const agent = await registeredAgent(server, { metadata: { client_name: 'fetch me', scope: 'read' } })
      const got = await admin(server, 'GET', `/agents/${agent.clientId}`)
      assert.equal(got.status, 200)
      assert.equal(got.headers.get('cache-control'), 'no-store', 'admin answers are never cached')
      assert.equal(got.body.id, agent.clientId)
      assert.equal(got.body.role, agent.role)
      assert.equal(got.body.role_version, 1)
      assert.equal(got.body.status, 'active')
      assert.equal(got.body.status_reason, null)
      assert.deepEqual(got.body.scopes, ['read'])
      assert.deepEqual(got.body.metadata, { client_name: 'fetch me' })
      assert.equal(got.body.client_secret_expires_at, null)
      for (const secretish of ['secret_digest', 'registration_token_digest', 'client_secret']) assert.ok(!(secretish in got.body), secretish)
      const { agents } = await listAgents(server, { role: agent.role })
      assert.deepEqual(agents.map((a) => a.id), [agent.clientId])
    })

    test('an unknown agent id answers 404 not_found on get, suspend and resume', async () => {
      for (const [method, path, body] of [
        ['GET', '/agents/agt_unknown', undefined],
        ['POST', '/agents/agt_unknown/suspend', { reason: 'x' }],
        ['POST', '/agents/agt_unknown/resume', undefined],
      ] as const) {
        const res = await admin(server, method, path, body)
        assert.equal(res.status, 404, `${method} ${path}`)
        assert.equal(res.body.error, 'not_found')
      }
    })

    test('agents can be filtered by role and status', async () => {
      const role = await createRole(server)
      const other = await createRole(server)
      const iat = await initialAccessToken(server, role, { uses: 3 })
      const ids = [] as string[]
      for (let i = 0; i < 3; i++) ids.push((await register(server, iat)).body.client_id as string)
      await register(server, await initialAccessToken(server, other))
      assert.equal((await admin(server, 'POST', `/agents/${ids[0]!}/suspend`, { reason: 'filter test' })).status, 200)

      const all = await listAgents(server, { role })
      assert.deepEqual(all.agents.map((a) => a.id).sort(), [...ids].sort())
      assert.ok(all.agents.every((a) => a.role === role))
      const suspended = await listAgents(server, { role, status: 'suspended' })
      assert.deepEqual(suspended.agents.map((a) => a.id), [ids[0]])
      const active = await listAgents(server, { role, status: 'active' })
      assert.deepEqual(active.agents.map((a) => a.id).sort(), [ids[1], ids[2]].sort())
      assert.equal((await listAgents(server, { role, status: 'retired' })).agents.length, 0)
      assert.equal((await listAgents(server, { role: 'no-such-role' })).agents.length, 0)
      const everything = await listAgents(server, { limit: '500' })
      assert.ok(everything.agents.some((a) => a.role === other))
    })

    test('the agent list pages with limit and next until every agent was seen once', async () => {
      const role = await createRole(server)
      const iat = await initialAccessToken(server, role, { uses: 5 })
      const ids = new Set<string>()
      for (let i = 0; i < 5; i++) ids.add((await register(server, iat)).body.client_id as string)
      const seen: string[] = []
      let after: string | null = null
      let pages = 0
      do {
        const page = await listAgents(server, { role, limit: '2', ...(after ? { cursor: after } : {}) })
        assert.ok(page.agents.length <= 2)
        seen.push(...page.agents.map((a) => a.id))
        after = page.next
        pages++
      } while (after !== null && pages < 10)
      assert.equal(pages, 3)
      assert.equal(seen.length, 5)
      assert.deepEqual(new Set(seen), ids)
    })

    test('the last page says there is no next page, even when it is full', async () => {
      const role = await createRole(server)
      const iat = await initialAccessToken(server, role, { uses: 4 })
      for (let i = 0; i < 4; i++) assert.equal((await register(server, iat)).status, 201)
      const first = await listAgents(server, { role, limit: '2' })
      assert.equal(first.agents.length, 2)
      assert.notEqual(first.next, null)
      const second = await listAgents(server, { role, limit: '2', cursor: first.next! })
      assert.equal(second.agents.length, 2)
      assert.equal(second.next, null)
      const exact = await listAgents(server, { role, limit: '4' })
      assert.equal(exact.agents.length, 4)
      assert.equal(exact.next, null)
    })

    test('bad agent list queries are refused with 400 invalid_request', async () => {
      for (const q of ['status=sleeping', 'limit=0', 'limit=501', 'limit=ten', 'limit=-1', 'colour=blue', 'role=a&role=b', 'cursor=zzz', 'cursor=ses_0abc']) {
        const res = await admin(server, 'GET', `/agents?${q}`)
        assert.equal(res.status, 400, q)
        assert.equal(res.body.error, 'invalid_request', q)
      }
    })

    test('suspending requires a reason', async () => {
      const agent = await registeredAgent(server)
      for (const body of [undefined, {}, { reason: '' }, { reason: '   ' }, { reason: 42 }, { reason: 'x'.repeat(501) }]) {
        const res = await admin(server, 'POST', `/agents/${agent.clientId}/suspend`, body)
        assert.equal(res.status, 400, JSON.stringify(body))
        assert.equal(res.body.error, 'invalid_request')
      }
      assert.equal((await admin(server, 'GET', `/agents/${agent.clientId}`)).body.status, 'active')
      assert.equal((await tokenRequest(server, agent)).status, 200)
    })

    test('suspension takes effect at once: no new tokens, live tokens inactive; resume allows new tokens but never revives old ones', async () => {
      const agent = await registeredAgent(server)
      const token = await accessToken(server, agent)
      assert.equal((await introspect(server, observer, token)).body.active, true)

      const suspended = await admin(server, 'POST', `/agents/${agent.clientId}/suspend`, { reason: 'leaked secret' })
      assert.equal(suspended.status, 200)
      assert.equal(suspended.body.status, 'suspended')
      assert.equal(suspended.body.status_reason, 'leaked secret')
      const refused = await tokenRequest(server, agent)
      assert.equal(refused.status, 401)
      assert.equal(refused.body.error, 'invalid_client')
      assert.deepEqual((await introspect(server, observer, token)).body, { active: false })
      assert.deepEqual((await introspect(server, agent, token)).status, 401, 'a suspended agent cannot introspect either')

      const again = await admin(server, 'POST', `/agents/${agent.clientId}/suspend`, { reason: 'twice' })
      assert.equal(again.status, 409)
      assert.equal(again.body.error, 'conflict')
      assert.equal((await admin(server, 'GET', `/agents/${agent.clientId}`)).body.status_reason, 'leaked secret')

      const resumed = await admin(server, 'POST', `/agents/${agent.clientId}/resume`)
      assert.equal(resumed.status, 200)
      assert.equal(resumed.body.status, 'active')
      assert.equal(resumed.body.status_reason, null)
      assert.deepEqual((await introspect(server, observer, token)).body, { active: false }, 'a token from before the suspension stays dead')
      // Token times are whole seconds and tokens from the suspension's own second count as before
      // it, so resuming waited for the next second: a token asked for at once is alive.
      const fresh = await tokenRequest(server, agent)
      assert.equal(fresh.status, 200)
      assert.equal((await introspect(server, observer, fresh.body.access_token as string)).body.active, true)

      const resumeActive = await admin(server, 'POST', `/agents/${agent.clientId}/resume`)
      assert.equal(resumeActive.status, 409)
      assert.equal(resumeActive.body.error, 'conflict')
    })

    test('a retired agent can be neither suspended nor resumed', async () => {
      const agent = await registeredAgent(server)
      assert.equal((await call(server, 'DELETE', `/register/${agent.clientId}`, { headers: { authorization: `Bearer ${agent.registrationAccessToken}` } })).status, 204)
      assert.equal((await admin(server, 'POST', `/agents/${agent.clientId}/suspend`, { reason: 'x' })).status, 409)
      assert.equal((await admin(server, 'POST', `/agents/${agent.clientId}/resume`)).status, 409)
      assert.equal((await tokenRequest(server, agent)).status, 401)
    })

    test('the admin API refuses every credential that is not an admin credential', async () => {
      const role = await createRole(server)
      const iat = await initialAccessToken(server, role, { uses: 2 })
      const reg = await register(server, iat)
      const agent = { clientId: reg.body.client_id as string, clientSecret: reg.body.client_secret as string }
      const agentToken = await accessToken(server, agent)
      const credentials: Array<[string, Record<string, string>]> = [
        ['no Authorization', {}],
        ["an agent's access token", { authorization: `Bearer ${agentToken}` }],
        ["an agent's client secret", { authorization: `Bearer ${agent.clientSecret}` }],
        ['a registration access token', { authorization: `Bearer ${reg.body.registration_access_token as string}` }],
        ['an initial access token', { authorization: `Bearer ${iat}` }],
        ['Basic client credentials', { authorization: basic(agent.clientId, agent.clientSecret) }],
        ['the admin token over Basic', { authorization: `Basic ${Buffer.from(`admin:${server.adminToken}`).toString('base64')}` }],
        ['the admin token with a suffix', { authorization: `Bearer ${server.adminToken}x` }],
        ['a garbage header', { authorization: 'Bearer a,b;c="d"' }],
        ['an empty Bearer', { authorization: 'Bearer ' }],
        ['a very long token', { authorization: `Bearer ${'a'.repeat(5000)}` }],
      ]
      const endpoints: Array<[string, string, unknown]> = [
        ['GET', '/admin/roles', undefined],
        ['POST', '/admin/roles', { name: 'sneaky', scopes: ['a'] }],
        ['GET', `/admin/agents/${agent.clientId}`, undefined],
        ['POST', `/admin/agents/${agent.clientId}/suspend`, { reason: 'x' }],
        ['POST', `/admin/roles/${role}/initial-access-tokens`, {}],
        ['DELETE', `/admin/roles/${role}`, undefined],
        ['GET', '/admin/audit', undefined],
        ['POST', '/admin/keys/rotate', undefined],
      ]
      for (const [what, headers] of credentials) {
        for (const [method, path, body] of endpoints) {
          const res = await call(server, method, path, {
            headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            body: body === undefined ? undefined : JSON.stringify(body),
          })
          assert.equal(res.status, 401, `${what} on ${method} ${path}: ${res.text}`)
          assert.equal(res.body.error, 'invalid_token', `${what} on ${method} ${path}`)
          const challenge = res.headers.get('www-authenticate') ?? ''
          assert.match(challenge, /^Bearer realm="mandate"/, `${what} on ${method} ${path}`)
          // RFC 6750 §3.1: a request with no authentication at all gets no error code in the challenge.
          if (what === 'no Authorization') assert.equal(challenge, 'Bearer realm="mandate"', `${what} on ${method} ${path}`)
          else assert.match(challenge, /error="invalid_token"/, `${what} on ${method} ${path}`)
        }
      }
      assert.equal((await admin(server, 'GET', '/roles/sneaky')).status, 404)
      assert.equal((await admin(server, 'GET', `/roles/${role}`)).status, 200)
      assert.equal((await admin(server, 'GET', `/agents/${agent.clientId}`)).body.status, 'active')
      assert.equal((await register(server, iat)).status, 201, 'the initial access token was not used up by the refusals')
    })

    test('no OAuth endpoint accepts or yields the admin credential', async () => {
      const agent = await registeredAgent(server)
      // As a client secret (either method) it authenticates nobody.
      for (const res of [
        await tokenRequest(server, { clientId: agent.clientId, clientSecret: server.adminToken }),
        await call(server, 'POST', '/token', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=client_credentials&client_id=admin&client_secret=${encodeURIComponent(server.adminToken)}` }),
      ]) {
        assert.ok(res.status === 401 || res.status === 400, String(res.status)) // 400 for client_secret_post (RFC 6749 §5.2)
        assert.equal(res.body.error, 'invalid_client')
      }
      // As a token it is not active, and nothing about it is revealed.
      assert.deepEqual((await introspect(server, observer, server.adminToken)).body, { active: false })
      // And a token issued to an agent never opens the admin API, whatever its scope.
      const issued = await tokenRequest(server, agent)
      assert.equal(issued.status, 200)
      assert.equal(JSON.stringify(issued.body).includes(server.adminToken), false)
      assert.equal((await call(server, 'GET', '/admin/roles', { headers: { authorization: `Bearer ${issued.body.access_token as string}` } })).status, 401)
    })

    test('registrations and admin actions are audited with their target and role, and the chain verifies', async () => {
      const role = await createRole(server, { scopes: ['a'] })
      const created = (await auditEvents(server, { action: 'role.created' })).find((e) => e.target === role)
      assert.ok(created, 'role.created')
      assert.equal(created.outcome, 'success')
      assert.equal(created.actor_type, 'admin')
      assert.equal(created.role, role)

      assert.equal((await admin(server, 'PUT', `/roles/${role}`, { scopes: ['a', 'b'] })).status, 200)
      const updated = (await auditEvents(server, { action: 'role.updated' })).find((e) => e.target === role)
      assert.ok(updated, 'role.updated')
      assert.equal(updated.role, role)
      assert.equal(updated.details.version, 2)

      const iatRes = await admin(server, 'POST', `/roles/${role}/initial-access-tokens`, { uses: 3 })
      const iat = iatRes.body.token as string
      const iatEvent = (await auditEvents(server, { action: 'initial_access_token.created' })).find((e) => e.target === iatRes.body.id)
      assert.ok(iatEvent, 'initial_access_token.created')
      assert.equal(iatEvent.role, role)

      const reg = await register(server, iat, { scope: 'a' })
      const agentId = reg.body.client_id as string
      const registered = (await auditEvents(server, { action: 'agent.registered' })).find((e) => e.target === agentId)
      assert.ok(registered, 'agent.registered')
      assert.equal(registered.outcome, 'success')
      assert.equal(registered.role, role)
      assert.equal(registered.actor_type, 'agent', 'the agent registered itself')
      assert.equal(registered.actor_id, agentId)
      assert.equal(registered.details.initial_access_token, iatRes.body.id)
      assert.equal(registered.details.role_version, 2)

      assert.equal((await register(server, iat, { scope: 'forbidden' })).status, 400)
      assert.equal((await register(server, 'mdt_iat_bogus')).status, 401)
      const refusals = await auditEvents(server, { action: 'agent.registration_refused', outcome: 'failure' })
      const scopeRefusal = refusals.find((e) => e.role === role)
      assert.ok(scopeRefusal, 'a refusal naming the role')
      assert.equal(scopeRefusal.outcome, 'failure')
      assert.match(scopeRefusal.reason ?? '', /forbidden/)
      assert.ok(refusals.some((e) => /initial access token/.test(e.reason ?? '')), 'a refusal for the bad token')
      assert.ok((await auditEvents(server, { action: 'agent.registration_refused', outcome: 'success' })).length === 0)

      assert.equal((await admin(server, 'POST', `/agents/${agentId}/suspend`, { reason: 'audit me' })).status, 200)
      const suspended = (await auditEvents(server, { action: 'agent.suspended' })).find((e) => e.target === agentId)
      assert.ok(suspended, 'agent.suspended')
      assert.equal(suspended.role, role)
      assert.equal(suspended.reason, 'audit me')
      assert.equal(suspended.actor_type, 'admin')
      assert.equal((await admin(server, 'POST', `/agents/${agentId}/resume`)).status, 200)
      const resumed = (await auditEvents(server, { action: 'agent.resumed' })).find((e) => e.target === agentId)
      assert.ok(resumed, 'agent.resumed')
      assert.equal(resumed.role, role)

      assert.equal((await call(server, 'DELETE', `/register/${agentId}`, { headers: { authorization: `Bearer ${reg.body.registration_access_token as string}` } })).status, 204)
      const retired = (await auditEvents(server, { action: 'agent.retired' })).find((e) => e.target === agentId)
      assert.ok(retired, 'agent.retired')
      assert.equal(retired.actor_type, 'agent')
      assert.equal(retired.actor_id, agentId)
      assert.equal((await admin(server, 'DELETE', `/roles/${role}`)).status, 204)
      assert.ok((await auditEvents(server, { action: 'role.deleted' })).some((e) => e.target === role))

      assert.equal((await call(server, 'GET', '/admin/roles', { headers: { authorization: 'Bearer mdt_admin_wrong' } })).status, 401)
      assert.ok((await auditEvents(server, { action: 'admin.authentication_failed', outcome: 'failure' })).length > 0)

      const audit = await admin(server, 'GET', '/audit?limit=1000')
      assert.ok(!audit.text.includes(iat), 'the initial access token is not in the audit log')
      assert.ok(!audit.text.includes(reg.body.client_secret as string), 'the client secret is not in the audit log')

      const verify = await admin(server, 'GET', '/audit/verify')
      assert.equal(verify.status, 200)
      assert.equal(verify.body.ok, true)
      assert.ok((verify.body.checked as number) > 10)
    })
  })
}
