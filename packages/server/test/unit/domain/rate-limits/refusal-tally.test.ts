import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RefusalTally, type Refusal } from '../../../../src/domain/rate-limits/refusal-tally.js'
import type { AuditEntry, AuditEvent } from '../../../../src/ports/audit-store.js'

function recorder() {
  const written: AuditEntry[] = []
  let failNext = 0
  return {
    written,
    failTimes(n: number) {
      failNext = n
    },
    async record(entry: AuditEntry): Promise<AuditEvent> {
      if (failNext > 0) {
        failNext--
        throw new Error('database is down')
      }
      written.push(entry)
      return {} as AuditEvent
    },
  }
}

const agentRefusal = (agentId: string, endpoint = 'POST /token', at = 1000): Refusal => ({
  limit: 'agent', agentId, role: 'fleet', address: '10.0.0.1', endpoint, policy: { perSecond: 50, burst: 100 }, at,
})

test('many refusals become one event per subject, with the count, the endpoints and the window', async () => {
  const audit = recorder()
  const tally = new RefusalTally(audit)
  for (let i = 0; i < 1000; i++) tally.record(agentRefusal('agt_a', i % 4 === 0 ? 'POST /introspect' : 'POST /token', 1000 + i))
  tally.record({ limit: 'auth_failures', agentId: null, role: null, address: '203.0.113.9', endpoint: 'POST /token', policy: { perSecond: 10, burst: 100 }, at: 5000 })
  await tally.flush()
  assert.equal(audit.written.length, 2)
  const agent = audit.written.find((e) => e.actorId === 'agt_a')!
  assert.equal(agent.action, 'rate_limit.exceeded')
  assert.equal(agent.actorType, 'agent')
  assert.deepEqual(agent.details, { limit: 'agent', count: 1000, per_second: 50, burst: 100, endpoints: { 'POST /introspect': 250, 'POST /token': 750 }, first_refused_at: 1000, last_refused_at: 1999 })
  const address = audit.written.find((e) => e.actorId === null)!
  assert.equal(address.actorType, 'anonymous')
  assert.equal(address.target, '203.0.113.9')
  assert.equal(address.ip, '203.0.113.9')
  assert.equal(tally.refused, 1001)
  await tally.flush()
  assert.equal(audit.written.length, 2, 'nothing new, nothing written')
})

test('a tally whose event could not be written is kept and merged into the next flush', async () => {
  const audit = recorder()
  const tally = new RefusalTally(audit)
  for (let i = 0; i < 5; i++) tally.record(agentRefusal('agt_b'))
  audit.failTimes(1)
  await assert.rejects(tally.flush(), /database is down/)
  for (let i = 0; i < 3; i++) tally.record(agentRefusal('agt_b', 'POST /revoke'))
  await tally.flush()
  assert.equal(audit.written.length, 1)
  assert.equal(audit.written[0]!.details!.count, 8)
  assert.deepEqual(audit.written[0]!.details!.endpoints, { 'POST /token': 5, 'POST /revoke': 3 })
})

test('past 10,000 subjects in a window, refusals are counted together under "*" rather than growing without bound', async () => {
  const audit = recorder()
  const tally = new RefusalTally(audit)
  for (let i = 0; i < 10_050; i++) tally.record({ limit: 'register', agentId: null, role: null, address: `198.51.${i >> 8}.${i & 255}`, endpoint: 'POST /register', policy: { perSecond: 20, burst: 200 }, at: i })
  await tally.flush()
  assert.equal(audit.written.length, 10_001)
  const overflow = audit.written.find((e) => e.target === '*')!
  assert.equal(overflow.details!.count, 50)
  assert.equal(overflow.ip, null)
})
