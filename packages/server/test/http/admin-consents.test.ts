import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableEngines } from '../support/engines.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { admin, auditEvents, call, registeredAgent } from '../support/client.js'
import { createPerson } from '../support/browser-client.js'
import { grantConsent, PURPOSES } from '../support/consents.js'
import { rawSql } from '../support/db-access.js'

type Receipt = Record<string, unknown> & { consent_id: string; status: string }

for (const engine of await availableEngines()) {
  describe(`GET /admin/consents on ${engine}`, () => {
    let server: TestServer
    let alice: { id: string }
    let bob: { id: string }
    let agentA: string
    let agentB: string
    const ids: string[] = []
    before(async () => {
      server = await startTestServer(engine)
      alice = await createPerson(server)
      bob = await createPerson(server)
      agentA = (await registeredAgent(server, { role: { scopes: ['loans:read'], purposes: PURPOSES }, metadata: { client_name: 'Agent A' } })).clientId
      agentB = (await registeredAgent(server, { role: { scopes: ['loans:read'] } })).clientId
      // Ids sort by the millisecond they were made in: one grant per millisecond keeps the order known.
      for (const [user, agent] of [[alice.id, agentA], [alice.id, agentB], [bob.id, agentA]] as const) {
        ids.push((await grantConsent(server, user, agent, ['loans:read'])).id)
        await new Promise((r) => setTimeout(r, 3))
      }
      await server.mandate.consents.withdraw(bob.id, ids[2]!, { actorType: 'human', actorId: bob.id, ip: null, requestId: null })
    })
    after(() => server.close())

    const list = async (query: string) => {
      const res = await admin(server, 'GET', `/consents${query}`)
      assert.equal(res.status, 200, res.text)
      return res.body as { consents: Receipt[]; next_cursor: string | null }
    }

    test('returns the same receipts as the person\'s export, filtered by person, agent and status; the read is audited', async () => {
      const all = await list('')
      assert.deepEqual(all.consents.map((c) => c.consent_id), ids)
      assert.equal(all.next_cursor, null)
      const first = all.consents[0]!
      assert.equal(first.user_id, alice.id)
      assert.equal(first.agent_id, agentA)
      assert.equal(first.agent_name, 'Agent A')
      assert.deepEqual(first.purposes, PURPOSES)
      assert.match(first.text_digest as string, /^[A-Za-z0-9_-]{43}$/)
      assert.equal(first.status, 'active')
      assert.deepEqual((await list(`?user=${alice.id}`)).consents.map((c) => c.consent_id), [ids[0], ids[1]])
      assert.deepEqual((await list(`?agent=${agentA}`)).consents.map((c) => c.consent_id), [ids[0], ids[2]])
      assert.deepEqual((await list('?status=withdrawn')).consents.map((c) => c.consent_id), [ids[2]])
      assert.deepEqual((await list(`?status=active&agent=${agentA}`)).consents.map((c) => c.consent_id), [ids[0]])
      assert.deepEqual((await list('?status=expired')).consents, [])
      const reads = await auditEvents(server, { action: 'admin.read', target: '/admin/consents' })
      assert.ok(reads.length >= 1 && reads[0]!.actor_type === 'admin')
    })

    test('pages with limit and cursor', async () => {
      const one = await list('?limit=1')
      assert.deepEqual(one.consents.map((c) => c.consent_id), [ids[0]])
      assert.equal(one.next_cursor, ids[0])
      const two = await list(`?limit=1&cursor=${one.next_cursor!}`)
      assert.deepEqual(two.consents.map((c) => c.consent_id), [ids[1]])
      const rest = await list(`?limit=5&cursor=${two.next_cursor!}`)
      assert.deepEqual(rest.consents.map((c) => c.consent_id), [ids[2]])
      assert.equal(rest.next_cursor, null)
    })

    test('bad input is 400 invalid_request (401 without the admin credential) and changes nothing', async () => {
      const [before] = await rawSql(server, 'select count(*) as n from consents where withdrawn_at is null')
      const bad = [
        '?status=revoked', '?status=', '?status=ACTIVE', '?limit=0', '?limit=501', '?limit=abc', '?limit=-1', '?limit=1.5', '?cursor=usr_123', '?cursor=cns_%3Cx%3E',
        `?cursor=cns_${'a'.repeat(200)}`, '?user=agt_1', '?user=usr_<b>', '?agent=usr_1', `?agent=agt_${'a'.repeat(200)}`, '?user=usr_1&user=usr_2', '?limit=1&limit=2',
        '?colour=blue', '?user=%ZZ', '?user=usr_%00',
      ]
      for (const query of bad) {
        const res = await admin(server, 'GET', `/consents${query}`)
        if (query === '?status=') {
          // An empty value counts as omitted (RFC 6749 §3.1), as on GET /admin/users.
          assert.equal(res.status, 200, query)
          continue
        }
        assert.equal(res.status, 400, `${query}: ${res.text}`)
        assert.equal(res.body.error, 'invalid_request', query)
        assert.equal(typeof res.body.error_description, 'string', query)
      }
      const noAuth = await call(server, 'GET', '/admin/consents')
      assert.equal(noAuth.status, 401)
      const wrong = await call(server, 'GET', '/admin/consents', { headers: { authorization: 'Bearer mdt_admin_wrong' } })
      assert.equal(wrong.status, 401)
      const post = await admin(server, 'POST', '/consents', {})
      assert.equal(post.status, 405)
      const [after] = await rawSql(server, 'select count(*) as n from consents where withdrawn_at is null')
      assert.equal(Number(after!.n), Number(before!.n))
    })
  })
}
