import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { admin, auditEvents, call, createRole, initialAccessToken, manageRegistration, register, registeredAgent, tokenRequest } from '../support/client.js'

let nameCounter = 0
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const uniqueName = (prefix = 'r') => `${prefix}-${process.pid}-${++nameCounter}`

for (const engine of await availableEngines()) {
  describe(`admin roles API on ${engine}`, () => {
    let server: TestServer
    before(async () => {
      // The race test below registers hundreds of agents from one address; the per-address limit has its own tests.
      server = await startTestServer(engine, { env: { MANDATE_RATE_LIMIT_REGISTER: '10000:10000' } })
    })
    after(() => server.close())

    test('creating a role with only name and scopes applies the documented defaults', async () => {
      const name = uniqueName()
      const res = await admin(server, 'POST', '/roles', { name, scopes: ['loans:read', 'loans:write'] })
      assert.equal(res.status, 201)
      assert.equal(res.body.name, name)
      assert.deepEqual(res.body.scopes, ['loans:read', 'loans:write'])
      assert.equal(res.body.token_ttl_seconds, 300)
      assert.equal(res.body.lifecycle, 'persistent')
      assert.equal(res.body.max_agents, null)
      assert.equal(res.body.agent_ttl_seconds, null)
      assert.equal(res.body.can_introspect, false)
      assert.deepEqual(res.body.rate_limit, { per_second: 50, burst: 100 })
      assert.deepEqual(res.body.purposes, [])
      assert.equal(res.body.version, 1)
      assert.equal(res.body.live_agents, 0)
      assert.ok(!Number.isNaN(Date.parse(res.body.created_at as string)))

      const got = await admin(server, 'GET', `/roles/${name}`)
      assert.equal(got.status, 200)
      assert.deepEqual(got.body, res.body)
      const list = await admin(server, 'GET', '/roles')
      assert.equal(list.status, 200)
      const listed = (list.body.roles as Array<Record<string, unknown>>).find((r) => r.name === name)
      assert.deepEqual(listed, res.body)
    })

    test('a role keeps every setting it was created with', async () => {
      const name = uniqueName()
      const settings = { name, scopes: ['a', 'b'], token_ttl_seconds: 120, max_agents: 7, lifecycle: 'ephemeral', agent_ttl_seconds: 3600, can_introspect: true }
      const res = await admin(server, 'POST', '/roles', settings)
      assert.equal(res.status, 201)
      const { name: _n, ...rest } = settings
      for (const [k, v] of Object.entries(rest)) assert.deepEqual(res.body[k], v, k)
      assert.equal((await admin(server, 'GET', `/roles/${name}`)).body.agent_ttl_seconds, 3600)
    })

    test('an ephemeral role without agent_ttl_seconds gets a default agent lifetime', async () => {
      const res = await admin(server, 'POST', '/roles', { name: uniqueName(), scopes: ['a'], lifecycle: 'ephemeral' })
      assert.equal(res.status, 201)
      assert.equal(res.body.lifecycle, 'ephemeral')
      assert.equal(typeof res.body.agent_ttl_seconds, 'number')
      assert.ok((res.body.agent_ttl_seconds as number) > 0)
    })

    test('a second role with the same name is refused with 409 and the first is unchanged', async () => {
      const name = uniqueName()
      assert.equal((await admin(server, 'POST', '/roles', { name, scopes: ['a'] })).status, 201)
      const dup = await admin(server, 'POST', '/roles', { name, scopes: ['b'], token_ttl_seconds: 60 })
      assert.equal(dup.status, 409)
      assert.equal(dup.body.error, 'conflict')
      const got = await admin(server, 'GET', `/roles/${name}`)
      assert.deepEqual(got.body.scopes, ['a'])
      assert.equal(got.body.token_ttl_seconds, 300)
      assert.equal(got.body.version, 1)
    })

    test('changing a role bumps its version and agents keep the version they registered under', async () => {
      const before = await registeredAgent(server, { role: { scopes: ['a', 'b'] } })
      const put = await admin(server, 'PUT', `/roles/${before.role}`, { scopes: ['a', 'b', 'c'], token_ttl_seconds: 600 })
      assert.equal(put.status, 200)
      assert.equal(put.body.version, 2)
      assert.deepEqual(put.body.scopes, ['a', 'b', 'c'])
      assert.equal(put.body.token_ttl_seconds, 600)
      assert.equal(put.body.live_agents, 1)
      assert.equal((await admin(server, 'GET', `/roles/${before.role}`)).body.version, 2)

      const token = await tokenRequest(server, before)
      assert.equal(token.status, 200)
      assert.equal(token.body.expires_in, 600, 'the new token lifetime applies at once')

      const old = await admin(server, 'GET', `/agents/${before.clientId}`)
      assert.equal(old.status, 200)
      assert.equal(old.body.role_version, 1)

      const after = await register(server, await initialAccessToken(server, before.role))
      assert.equal(after.status, 201)
      assert.equal(after.body.role_version, 2)
      assert.equal((await admin(server, 'GET', `/agents/${after.body.client_id as string}`)).body.role_version, 2)

      const again = await admin(server, 'PUT', `/roles/${before.role}`, { name: before.role, scopes: ['a'] })
      assert.equal(again.status, 200)
      assert.equal(again.body.version, 3)
      const narrowed = await tokenRequest(server, before)
      assert.equal(narrowed.body.scope, 'a', "a role's scopes are a ceiling on its existing agents")
    })

    test('a PUT replaces the settings: omitted optional fields return to their defaults', async () => {
      const name = await createRole(server, { scopes: ['a'], token_ttl_seconds: 60, max_agents: 3, can_introspect: true, rate_limit: { per_second: 5, burst: 10 } })
      const put = await admin(server, 'PUT', `/roles/${name}`, { scopes: ['a'] })
      assert.equal(put.status, 200)
      assert.equal(put.body.token_ttl_seconds, 300)
      assert.equal(put.body.max_agents, null)
      assert.equal(put.body.can_introspect, false)
      assert.deepEqual(put.body.rate_limit, { per_second: 50, burst: 100 })
    })

    test('a role\'s rate_limit is stored, returned, changed by PUT and audited in role changes', async () => {
      const name = uniqueName()
      const created = await admin(server, 'POST', '/roles', { name, scopes: ['a'], rate_limit: { per_second: 0.5, burst: 1 } })
      assert.equal(created.status, 201, created.text)
      assert.deepEqual(created.body.rate_limit, { per_second: 0.5, burst: 1 })
      assert.deepEqual((await admin(server, 'GET', `/roles/${name}`)).body.rate_limit, { per_second: 0.5, burst: 1 })
      // The largest allowed: enough for a load test driving one agent flat out.
      const put = await admin(server, 'PUT', `/roles/${name}`, { scopes: ['a'], rate_limit: { per_second: 100_000, burst: 1_000_000 } })
      assert.equal(put.status, 200, put.text)
      assert.deepEqual(put.body.rate_limit, { per_second: 100_000, burst: 1_000_000 })
      const listed = ((await admin(server, 'GET', '/roles')).body.roles as Array<{ name: string; rate_limit: unknown }>).find((r) => r.name === name)
      assert.deepEqual(listed?.rate_limit, { per_second: 100_000, burst: 1_000_000 })
      const createdEvent = (await auditEvents(server, { action: 'role.created', target: name }))[0]
      assert.deepEqual(createdEvent?.details.rate_limit, { per_second: 0.5, burst: 1 })
      const updatedEvent = (await auditEvents(server, { action: 'role.updated', target: name }))[0]
      assert.deepEqual(updatedEvent?.details.rate_limit, { per_second: 100_000, burst: 1_000_000 })
      // null is omitted: the default.
      const reset = await admin(server, 'PUT', `/roles/${name}`, { scopes: ['a'], rate_limit: null })
      assert.deepEqual(reset.body.rate_limit, { per_second: 50, burst: 100 })
    })

    test('a role\'s purposes are stored in order, shown by the admin API, replaced by PUT (the version goes up) and audited', async () => {
      const name = uniqueName()
      const purposes = [
        { id: 'automated-deletion', description: 'Deletes your account data when you close your account 🗑', lawful_basis: 'legal_obligation' },
        { id: 'credit-check', description: 'Checks your credit history when you apply for a loan', lawful_basis: 'contract' },
      ]
      const created = await admin(server, 'POST', '/roles', { name, scopes: ['a'], purposes })
      assert.equal(created.status, 201, created.text)
      assert.deepEqual(created.body.purposes, purposes)
      assert.deepEqual((await admin(server, 'GET', `/roles/${name}`)).body.purposes, purposes)
      const listed = ((await admin(server, 'GET', '/roles')).body.roles as Array<{ name: string; purposes: unknown }>).find((r) => r.name === name)
      assert.deepEqual(listed?.purposes, purposes)
      const [createdEvent] = await auditEvents(server, { action: 'role.created', target: name })
      assert.deepEqual(createdEvent?.details.purposes, purposes)
      // Every lawful basis of GDPR Art. 6(1) is accepted; the description is trimmed.
      const all = ['consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interests'].map((b) => ({ id: `p-${b}`, description: `  For ${b}  `, lawful_basis: b }))
      const put = await admin(server, 'PUT', `/roles/${name}`, { scopes: ['a'], purposes: all })
      assert.equal(put.status, 200, put.text)
      assert.equal(put.body.version, 2)
      assert.deepEqual(put.body.purposes, all.map((p) => ({ ...p, description: p.description.trim() })))
      const [updatedEvent] = await auditEvents(server, { action: 'role.updated', target: name })
      assert.equal((updatedEvent?.details.purposes as unknown[]).length, 6)
      const cleared = await admin(server, 'PUT', `/roles/${name}`, { scopes: ['a'], purposes: null })
      assert.deepEqual(cleared.body.purposes, [], 'null is omitted: none')
      assert.equal(cleared.body.version, 3)
      const invalid = await admin(server, 'PUT', `/roles/${name}`, { scopes: ['a'], purposes: [{ id: 'p', description: 'd', lawful_basis: 'whim' }] })
      assert.equal(invalid.status, 400)
      const after = await admin(server, 'GET', `/roles/${name}`)
      assert.equal(after.body.version, 3, 'a refused PUT changes nothing')
      assert.deepEqual(after.body.purposes, [])
    })

    test('an unknown role answers 404 on every role endpoint', async () => {
      const missing = uniqueName('missing')
      for (const [method, path, body] of [
        ['GET', `/roles/${missing}`, undefined],
        ['PUT', `/roles/${missing}`, { scopes: ['a'] }],
        ['DELETE', `/roles/${missing}`, undefined],
        ['POST', `/roles/${missing}/initial-access-tokens`, { uses: 1 }],
      ] as const) {
        const res = await admin(server, method, path, body)
        assert.equal(res.status, 404, `${method} ${path}`)
        assert.equal(res.body.error, 'not_found', `${method} ${path}`)
      }
      assert.equal((await admin(server, 'GET', `/roles/${missing}`)).status, 404, 'PUT must not create the role')
    })

    test('a role with live agents cannot be deleted (409), suspended agents included', async () => {
      const agent = await registeredAgent(server)
      assert.equal((await admin(server, 'POST', `/agents/${agent.clientId}/suspend`, { reason: 'test' })).status, 200)
      const res = await admin(server, 'DELETE', `/roles/${agent.role}`)
      assert.equal(res.status, 409)
      assert.equal(res.body.error, 'conflict')
      assert.equal((await admin(server, 'GET', `/roles/${agent.role}`)).status, 200)
    })

    test('once its agents are retired a role can be deleted', async () => {
      const agent = await registeredAgent(server)
      assert.equal((await manageRegistration(server, agent.clientId, agent.registrationAccessToken, 'DELETE')).status, 204)
      assert.equal((await admin(server, 'GET', `/roles/${agent.role}`)).body.live_agents, 0)
      assert.equal((await admin(server, 'DELETE', `/roles/${agent.role}`)).status, 204)
      assert.equal((await admin(server, 'GET', `/roles/${agent.role}`)).status, 404)
    })

    test('deleting a role answers 204 and its initial access tokens stop working, even if the name is reused', async () => {
      const name = await createRole(server)
      const iat = await initialAccessToken(server, name, { uses: 5 })
      const del = await admin(server, 'DELETE', `/roles/${name}`)
      assert.equal(del.status, 204)
      assert.equal(del.text, '')
      assert.equal((await admin(server, 'GET', `/roles/${name}`)).status, 404)
      assert.ok(!((await admin(server, 'GET', '/roles')).body.roles as Array<{ name: string }>).some((r) => r.name === name))

      const refused = await register(server, iat)
      assert.equal(refused.status, 401)
      assert.equal(refused.body.error, 'invalid_token')
      await createRole(server, { name })
      assert.equal((await register(server, iat)).status, 401, 'a recreated role must not revive old tokens')
      assert.equal((await admin(server, 'DELETE', `/roles/${name}`)).status, 204)
      assert.equal((await admin(server, 'DELETE', `/roles/${name}`)).status, 404)
    })

    test('deleting a role while agents register under it never fails with a 500 and never strands an agent', async () => {
      for (let round = 0; round < 12; round++) {
        const name = await createRole(server)
        const iats = await Promise.all(Array.from({ length: 4 }, () => initialAccessToken(server, name, { uses: 10 })))
        // Registrations spread over a few milliseconds, so some are in flight while the delete runs.
        const deletion = admin(server, 'DELETE', `/roles/${name}`)
        const registrations = Array.from({ length: 40 }, (_, i) => sleep((i * (round % 6)) / 4).then(() => register(server, iats[i % iats.length]!)))
        const [del, ...regs] = await Promise.all([deletion, ...registrations])
        for (const r of regs) assert.ok([201, 401, 403].includes(r.status), `registration: ${r.status} ${r.text}`)
        assert.ok([204, 409].includes(del.status), `delete: ${del.status} ${del.text}`)
        const created = regs.filter((r) => r.status === 201).length
        const live = await admin(server, 'GET', `/agents?role=${name}&status=active&limit=500`)
        assert.equal((live.body.agents as unknown[]).length, created)
        if (del.status === 204) {
          assert.equal(created, 0, 'a deleted role has no agents')
          assert.equal((await admin(server, 'GET', `/roles/${name}`)).status, 404)
        } else {
          assert.equal((await admin(server, 'GET', `/roles/${name}`)).body.live_agents, created)
        }
      }
    })

    const invalidRoles: Array<[string, Record<string, unknown>]> = [
      ['missing name', { scopes: ['a'] }],
      ['name with upper case and spaces', { name: 'Bad Name', scopes: ['a'] }],
      ['empty name', { name: '', scopes: ['a'] }],
      ['name starting with a dash', { name: '-role', scopes: ['a'] }],
      ['name of 65 characters', { name: 'a'.repeat(65), scopes: ['a'] }],
      ['name with a slash', { name: 'a/b', scopes: ['a'] }],
      ['name that is a number', { name: 42, scopes: ['a'] }],
      ['missing scopes', { name: 'x' }],
      ['empty scopes', { name: 'x', scopes: [] }],
      ['scopes as a string', { name: 'x', scopes: 'read write' }],
      ['scope with a space', { name: 'x', scopes: ['read write'] }],
      ['scope with a double quote', { name: 'x', scopes: ['a"b'] }],
      ['scope with a backslash', { name: 'x', scopes: ['a\\b'] }],
      ['empty scope token', { name: 'x', scopes: [''] }],
      ['non-ASCII scope token', { name: 'x', scopes: ['lecture:é'] }],
      ['scope that is a number', { name: 'x', scopes: [5] }],
      ['scope token of 129 characters', { name: 'x', scopes: ['s'.repeat(129)] }],
      ['101 scopes', { name: 'x', scopes: Array.from({ length: 101 }, (_, i) => `s${i}`) }],
      ['token_ttl_seconds 0', { name: 'x', scopes: ['a'], token_ttl_seconds: 0 }],
      ['negative token_ttl_seconds', { name: 'x', scopes: ['a'], token_ttl_seconds: -5 }],
      ['token_ttl_seconds above the ceiling', { name: 'x', scopes: ['a'], token_ttl_seconds: 86_401 }],
      ['fractional token_ttl_seconds', { name: 'x', scopes: ['a'], token_ttl_seconds: 1.5 }],
      ['token_ttl_seconds as a string', { name: 'x', scopes: ['a'], token_ttl_seconds: '300' }],
      ['negative max_agents', { name: 'x', scopes: ['a'], max_agents: -1 }],
      ['max_agents as a string', { name: 'x', scopes: ['a'], max_agents: 'ten' }],
      ['unknown lifecycle', { name: 'x', scopes: ['a'], lifecycle: 'forever' }],
      ['agent_ttl_seconds below the minimum', { name: 'x', scopes: ['a'], lifecycle: 'ephemeral', agent_ttl_seconds: 59 }],
      ['agent_ttl_seconds on a persistent role', { name: 'x', scopes: ['a'], agent_ttl_seconds: 3600 }],
      ['can_introspect as a string', { name: 'x', scopes: ['a'], can_introspect: 'yes' }],
      ['rate_limit as a number', { name: 'x', scopes: ['a'], rate_limit: 50 }],
      ['rate_limit as a string', { name: 'x', scopes: ['a'], rate_limit: '50/s' }],
      ['rate_limit as an array', { name: 'x', scopes: ['a'], rate_limit: [50, 100] }],
      ['rate_limit without burst', { name: 'x', scopes: ['a'], rate_limit: { per_second: 50 } }],
      ['rate_limit without per_second', { name: 'x', scopes: ['a'], rate_limit: { burst: 100 } }],
      ['rate_limit per_second 0', { name: 'x', scopes: ['a'], rate_limit: { per_second: 0, burst: 100 } }],
      ['negative rate_limit per_second', { name: 'x', scopes: ['a'], rate_limit: { per_second: -1, burst: 100 } }],
      ['rate_limit per_second as a string', { name: 'x', scopes: ['a'], rate_limit: { per_second: '50', burst: 100 } }],
      ['rate_limit per_second above the maximum', { name: 'x', scopes: ['a'], rate_limit: { per_second: 100_001, burst: 100 } }],
      ['a huge rate_limit per_second', { name: 'x', scopes: ['a'], rate_limit: { per_second: 1e308, burst: 100 } }],
      ['rate_limit burst 0', { name: 'x', scopes: ['a'], rate_limit: { per_second: 50, burst: 0 } }],
      ['negative rate_limit burst', { name: 'x', scopes: ['a'], rate_limit: { per_second: 50, burst: -5 } }],
      ['fractional rate_limit burst', { name: 'x', scopes: ['a'], rate_limit: { per_second: 50, burst: 1.5 } }],
      ['rate_limit burst above the maximum', { name: 'x', scopes: ['a'], rate_limit: { per_second: 50, burst: 1_000_001 } }],
      ['rate_limit burst as a boolean', { name: 'x', scopes: ['a'], rate_limit: { per_second: 50, burst: true } }],
      ['an unknown rate_limit member', { name: 'x', scopes: ['a'], rate_limit: { per_second: 50, burst: 100, per_minute: 10 } }],
      ['unknown field', { name: 'x', scopes: ['a'], max_agent: 5 }],
      ['purposes as an object', { name: 'x', scopes: ['a'], purposes: { id: 'p', description: 'd', lawful_basis: 'consent' } }],
      ['purposes as a string', { name: 'x', scopes: ['a'], purposes: 'marketing' }],
      ['a purpose that is a string', { name: 'x', scopes: ['a'], purposes: ['marketing'] }],
      ['a purpose that is null', { name: 'x', scopes: ['a'], purposes: [null] }],
      ['a purpose without id', { name: 'x', scopes: ['a'], purposes: [{ description: 'd', lawful_basis: 'consent' }] }],
      ['a purpose id with spaces', { name: 'x', scopes: ['a'], purposes: [{ id: 'credit check', description: 'd', lawful_basis: 'consent' }] }],
      ['a purpose id in capitals', { name: 'x', scopes: ['a'], purposes: [{ id: 'Credit', description: 'd', lawful_basis: 'consent' }] }],
      ['a purpose id of 65 characters', { name: 'x', scopes: ['a'], purposes: [{ id: 'p'.repeat(65), description: 'd', lawful_basis: 'consent' }] }],
      ['a purpose id as a number', { name: 'x', scopes: ['a'], purposes: [{ id: 7, description: 'd', lawful_basis: 'consent' }] }],
      ['a purpose without description', { name: 'x', scopes: ['a'], purposes: [{ id: 'p', lawful_basis: 'consent' }] }],
      ['a blank purpose description', { name: 'x', scopes: ['a'], purposes: [{ id: 'p', description: '   ', lawful_basis: 'consent' }] }],
      ['a purpose description of 501 characters', { name: 'x', scopes: ['a'], purposes: [{ id: 'p', description: 'd'.repeat(501), lawful_basis: 'consent' }] }],
      ['a purpose description on two lines', { name: 'x', scopes: ['a'], purposes: [{ id: 'p', description: 'one\ntwo', lawful_basis: 'consent' }] }],
      ['a purpose description with a bidirectional override', { name: 'x', scopes: ['a'], purposes: [{ id: 'p', description: 'pay \u202Eevil', lawful_basis: 'consent' }] }],
      ['a purpose description that is not text', { name: 'x', scopes: ['a'], purposes: [{ id: 'p', description: ['d'], lawful_basis: 'consent' }] }],
      ['a purpose without lawful_basis', { name: 'x', scopes: ['a'], purposes: [{ id: 'p', description: 'd' }] }],
      ['an unknown lawful_basis', { name: 'x', scopes: ['a'], purposes: [{ id: 'p', description: 'd', lawful_basis: 'because' }] }],
      ['a lawful_basis in capitals', { name: 'x', scopes: ['a'], purposes: [{ id: 'p', description: 'd', lawful_basis: 'CONSENT' }] }],
      ['an unknown purpose field', { name: 'x', scopes: ['a'], purposes: [{ id: 'p', description: 'd', lawful_basis: 'consent', retention: '1y' }] }],
      ['a duplicated purpose id', { name: 'x', scopes: ['a'], purposes: [{ id: 'p', description: 'd', lawful_basis: 'consent' }, { id: 'p', description: 'e', lawful_basis: 'contract' }] }],
      ['21 purposes', { name: 'x', scopes: ['a'], purposes: Array.from({ length: 21 }, (_, i) => ({ id: `p${i}`, description: 'd', lawful_basis: 'consent' })) }],
      ['singular "scope" typo', { name: 'x', scope: ['a'] }],
    ]
    for (const [what, body] of invalidRoles) {
      test(`a role with ${what} is refused with 400 invalid_request and nothing is created`, async () => {
        const name = typeof body.name === 'string' && body.name === 'x' ? uniqueName('bad') : body.name
        const sent = { ...body, ...(body.name === 'x' ? { name } : {}) }
        const before = (await admin(server, 'GET', '/roles')).body.roles as unknown[]
        const res = await admin(server, 'POST', '/roles', sent)
        assert.equal(res.status, 400, res.text)
        assert.equal(res.body.error, 'invalid_request')
        assert.equal(typeof res.body.error_description, 'string')
        const after = (await admin(server, 'GET', '/roles')).body.roles as unknown[]
        assert.equal(after.length, before.length)
        if (typeof name === 'string' && /^[a-z0-9][a-z0-9._-]*$/.test(name)) assert.equal((await admin(server, 'GET', `/roles/${name}`)).status, 404)
      })
    }

    test('a role body that is not a JSON object is refused with 400 invalid_request', async () => {
      for (const body of [[], 'role', 42, null]) {
        const res = await admin(server, 'POST', '/roles', body)
        assert.equal(res.status, 400, JSON.stringify(body))
        assert.equal(res.body.error, 'invalid_request')
      }
      const form = await call(server, 'POST', '/admin/roles', {
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=x&scopes=a',
      })
      assert.equal(form.status, 400)
      assert.equal(form.body.error, 'invalid_request')
      const malformed = await call(server, 'POST', '/admin/roles', {
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: '{"name": "x", "scopes": [',
      })
      assert.equal(malformed.status, 400)
      assert.equal(malformed.body.error, 'invalid_request')
    })

    test('oversized, non-UTF-8 and prototype-polluting role bodies are refused without a 500', async () => {
      const headers = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' }
      const cases: Array<[string, string | Uint8Array, number]> = [
        ['a 1 MiB body', JSON.stringify({ name: uniqueName(), scopes: ['a'], pad: 'x'.repeat(1024 * 1024) }), 413],
        ['invalid UTF-8', new Uint8Array([...Buffer.from('{"name":"'), 0xff, 0xfe, ...Buffer.from('","scopes":["a"]}')]), 400],
        ['__proto__', '{"name":"proto-role","scopes":["a"],"__proto__":{"can_introspect":true}}', 400],
        ['constructor.prototype', '{"name":"proto-role","scopes":["a"],"constructor":{"prototype":{"x":1}}}', 400],
      ]
      for (const [what, body, status] of cases) {
        const res = await call(server, 'POST', '/admin/roles', { headers, body })
        assert.equal(res.status, status, `${what}: ${res.text}`)
        assert.equal(res.body.error, 'invalid_request', what)
      }
      assert.equal((await admin(server, 'GET', '/roles/proto-role')).status, 404)
      assert.equal((await admin(server, 'GET', '/roles')).status, 200, 'the server keeps serving')
    })

    test('an invalid PUT is refused with 400 and leaves the role and its version untouched', async () => {
      const name = await createRole(server, { scopes: ['a'], token_ttl_seconds: 60 })
      for (const body of [{ scopes: [] }, { scopes: ['a'], token_ttl_seconds: 0 }, { scopes: ['a'], colour: 'blue' }, { name: 'other-name', scopes: ['a'] }, { scopes: ['a b'] }]) {
        const res = await admin(server, 'PUT', `/roles/${name}`, body)
        assert.equal(res.status, 400, JSON.stringify(body))
        assert.equal(res.body.error, 'invalid_request')
      }
      const got = await admin(server, 'GET', `/roles/${name}`)
      assert.equal(got.body.version, 1)
      assert.deepEqual(got.body.scopes, ['a'])
      assert.equal(got.body.token_ttl_seconds, 60)
      assert.equal((await admin(server, 'GET', '/roles/other-name')).status, 404)
    })

    test('an initial access token is returned once as {id, token, expires_at, uses} and never shown again', async () => {
      const name = await createRole(server)
      const t0 = Date.now()
      const res = await admin(server, 'POST', `/roles/${name}/initial-access-tokens`, { uses: 3, expires_in: 600 })
      assert.equal(res.status, 201)
      assert.deepEqual(Object.keys(res.body).sort(), ['expires_at', 'id', 'token', 'uses'])
      assert.equal(res.body.uses, 3)
      assert.equal(typeof res.body.id, 'string')
      assert.equal(typeof res.body.token, 'string')
      assert.ok((res.body.token as string).length >= 32)
      assert.notEqual(res.body.id, res.body.token)
      const expiresAt = Date.parse(res.body.expires_at as string)
      assert.ok(Math.abs(expiresAt - (t0 + 600_000)) < 10_000, `expires_at ${res.body.expires_at as string}`)
      assert.match(res.headers.get('cache-control') ?? '', /no-store/)

      const token = res.body.token as string
      for (const path of [`/roles/${name}`, '/roles']) {
        const got = await admin(server, 'GET', path)
        assert.equal(got.status, 200)
        assert.ok(!got.text.includes(token), `${path} must not reveal the token`)
      }
      const audit = await admin(server, 'GET', '/audit?action=initial_access_token.created&limit=1000')
      assert.ok(!audit.text.includes(token), 'the audit log must not hold the token')
      assert.ok(audit.text.includes(res.body.id as string))
    })

    test('an initial access token defaults to one use and a lifetime in the future', async () => {
      const name = await createRole(server)
      const empty = await call(server, 'POST', `/admin/roles/${name}/initial-access-tokens`, { headers: { authorization: `Bearer ${server.adminToken}` } })
      assert.equal(empty.status, 201, empty.text)
      assert.equal(empty.body.uses, 1)
      assert.ok(Date.parse(empty.body.expires_at as string) > Date.now() + 60_000)
      const two = await admin(server, 'POST', `/roles/${name}/initial-access-tokens`, {})
      assert.equal(two.status, 201)
      assert.notEqual(two.body.token, empty.body.token)
      assert.notEqual(two.body.id, empty.body.id)
    })

    test('initial access token requests with bad fields are refused with 400 invalid_request', async () => {
      const name = await createRole(server)
      for (const body of [{ uses: 0 }, { uses: -1 }, { uses: 'two' }, { uses: 1.5 }, { expires_in: 0 }, { expires_in: '60' }, { expires_in: 10 ** 12 }, { role: name }, [1], 'x']) {
        const res = await admin(server, 'POST', `/roles/${name}/initial-access-tokens`, body)
        assert.equal(res.status, 400, JSON.stringify(body))
        assert.equal(res.body.error, 'invalid_request')
      }
    })

    test('an operator lists a role\'s usable initial access tokens and revokes one before it is used up', async () => {
      const name = await createRole(server)
      const first = await admin(server, 'POST', `/roles/${name}/initial-access-tokens`, { uses: 5, expires_in: 600 })
      const second = await admin(server, 'POST', `/roles/${name}/initial-access-tokens`, { uses: 1 })
      const listed = await admin(server, 'GET', `/roles/${name}/initial-access-tokens`)
      assert.equal(listed.status, 200)
      const tokens = listed.body.initial_access_tokens as Record<string, unknown>[]
      assert.deepEqual(tokens.map((t) => t.id).sort(), [first.body.id, second.body.id].sort())
      assert.equal(JSON.stringify(listed.body).includes(first.body.token as string), false, 'the token itself is never listed')
      assert.equal(tokens.find((t) => t.id === first.body.id)!.uses_left, 5)

      assert.equal((await register(server, first.body.token as string)).status, 201)
      const revoked = await admin(server, 'DELETE', `/roles/${name}/initial-access-tokens/${first.body.id as string}`)
      assert.equal(revoked.status, 204)
      assert.equal((await register(server, first.body.token as string)).status, 401, 'a revoked token registers nobody')
      assert.equal((await admin(server, 'DELETE', `/roles/${name}/initial-access-tokens/${first.body.id as string}`)).status, 404)
      assert.equal((await admin(server, 'DELETE', `/roles/other-role/initial-access-tokens/${second.body.id as string}`)).status, 404)
      const after = (await admin(server, 'GET', `/roles/${name}/initial-access-tokens`)).body.initial_access_tokens as Record<string, unknown>[]
      assert.deepEqual(after.map((t) => t.id), [second.body.id])
      const events = (await admin(server, 'GET', '/audit?action=initial_access_token.revoked')).body.events as Record<string, unknown>[]
      assert.equal(events[0]!.target, first.body.id)
    })
  })
}
