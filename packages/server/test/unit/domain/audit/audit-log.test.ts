import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openDatabase, sqlStorage } from '../../../../src/adapters/storage/sql/index.js'
import { AuditLog } from '../../../../src/domain/audit/audit-log.js'
import { verifyAuditLog } from '../../../../src/domain/audit/verify.js'
import { ManualClock } from '../../../../src/ports/clock.js'
import type { AuditStore } from '../../../../src/ports/audit-store.js'

async function realStore() {
  const database = await openDatabase({ kind: 'sqlite', file: ':memory:' })
  return { database, store: sqlStorage(database).audit }
}

const entry = (i: number) => ({ actorType: 'system' as const, actorId: null, action: 'test.event', outcome: 'success' as const, details: { i } })

test('concurrent events are group-committed into few transactions, in one unbroken chain', async () => {
  const { database, store } = await realStore()
  let appends = 0
  const counting: AuditStore = { ...store, append: (id, events) => (appends++, store.append(id, events)) }
  const log = await AuditLog.open(counting, new ManualClock(1_000))
  const events = await Promise.all(Array.from({ length: 200 }, (_, i) => log.record(entry(i))))
  assert.deepEqual(events.map((e) => e.seq), Array.from({ length: 200 }, (_, i) => i + 1))
  assert.ok(appends < 10, `200 events took ${appends} transactions`)
  assert.deepEqual(await verifyAuditLog(store), { ok: true, checked: 200, streams: 1 })
  await log.close()
  await database.close()
})

test('a failed write rejects its batch and leaves the chain whole for the next one', async () => {
  const { database, store } = await realStore()
  let failNext = false
  const flaky: AuditStore = {
    ...store,
    append: (id, events) => {
      if (failNext) {
        failNext = false
        return Promise.reject(new Error('disk full'))
      }
      return store.append(id, events)
    },
  }
  const log = await AuditLog.open(flaky, new ManualClock(1_000))
  await log.record(entry(1))
  failNext = true
  await assert.rejects(log.record(entry(2)), /disk full/)
  const third = await log.record(entry(3))
  assert.equal(third.seq, 2)
  assert.equal((await verifyAuditLog(store)).ok, true)
  await log.close()
  await database.close()
})

test('a write that committed but reported failure (a connection cut mid-COMMIT) does not reuse sequence numbers', async () => {
  const { database, store } = await realStore()
  let lieOnce = false
  const ambiguous: AuditStore = {
    ...store,
    append: async (id, events) => {
      await store.append(id, events)
      if (lieOnce) {
        lieOnce = false
        throw new Error('Connection terminated unexpectedly')
      }
    },
  }
  const log = await AuditLog.open(ambiguous, new ManualClock(1_000))
  await log.record(entry(1))
  lieOnce = true
  await assert.rejects(log.record(entry(2)), /Connection terminated/)
  const next = await log.record(entry(3))
  assert.equal(next.seq, 3, 'continues after the event that did reach the database')
  assert.deepEqual(await verifyAuditLog(store), { ok: true, checked: 3, streams: 1 })
  await log.close()
  await database.close()
})

test('verify while events are being written reports no false break', async () => {
  const { database, store } = await realStore()
  const log = await AuditLog.open(store, new ManualClock(1_000))
  await Promise.all(Array.from({ length: 2500 }, (_, i) => log.record(entry(i))))
  const writing = Promise.all(Array.from({ length: 1500 }, (_, i) => log.record(entry(i))))
  const result = await verifyAuditLog(store)
  await writing
  assert.equal(result.ok, true, JSON.stringify(result))
  assert.ok(result.checked >= 2500)
  await log.close()
  await database.close()
})

test('close flushes what is pending and refuses new events', async () => {
  const { database, store } = await realStore()
  const log = await AuditLog.open(store, new ManualClock(1_000))
  const pending = Promise.all([log.record(entry(1)), log.record(entry(2))])
  await log.close()
  assert.equal((await pending).length, 2)
  await assert.rejects(log.record(entry(3)), /closed/)
  assert.equal((await verifyAuditLog(store)).checked, 2)
  await database.close()
})

test('a clock that steps back does not make a stream go back in time, and verify would catch one that did', async () => {
  const { database, store } = await realStore()
  const clock = new ManualClock(10_000)
  const log = await AuditLog.open(store, clock)
  const first = await log.record(entry(1))
  clock.set(5_000) // NTP stepped the clock back
  const second = await log.record(entry(2))
  assert.ok(second.ts >= first.ts, 'times never go backwards within a stream')
  assert.deepEqual(await verifyAuditLog(store), { ok: true, checked: 2, streams: 1 })
  await log.close()

  // A stream written (and hashed) by something that let time run backwards is reported.
  const { hashEvent } = await import('../../../../src/domain/audit/hash-chain.js')
  const streamId = 'str_backwards'
  await store.openStream({ id: streamId, startedAt: 1_000, headSeq: 0, headHash: '0'.repeat(64) })
  const base = { streamId, actorType: 'system' as const, actorId: null, action: 'test.event', outcome: 'success' as const, reason: null, target: null, role: null, ip: null, requestId: null, details: {} }
  const e1 = { ...base, id: 'evt_b1', seq: 1, ts: 3_000, prevHash: '0'.repeat(64) }
  const h1 = hashEvent(e1)
  const e2 = { ...base, id: 'evt_b2', seq: 2, ts: 2_000, prevHash: h1 }
  await store.append(streamId, [{ ...e1, hash: h1 }, { ...e2, hash: hashEvent(e2) }])
  const res = await verifyAuditLog(store)
  assert.equal(res.ok, false)
  assert.equal(res.first_bad, 'evt_b2')
  assert.match(res.problem!, /older than the event before it/)
  await database.close()
})
