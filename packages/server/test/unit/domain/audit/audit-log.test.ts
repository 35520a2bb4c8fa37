import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openDatabase, sqlStorage } from '../../../../src/adapters/storage/sql/index.js'
import { AuditLog } from '../../../../src/domain/audit/audit-log.js'
import { verifyAuditLog } from '../../../../src/domain/audit/verify.js'
import { ManualClock } from '../../../../src/ports/clock.js'
import type { AuditStore } from '../../../../src/ports/audit-store.js'

async function realStore() {
  const database = await openDatabase({ kind: 'sqlite', file: ':memory:' })
  return { database, store: sqlStorage(database.db).audit }
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
