import { test } from 'node:test'
import assert from 'node:assert/strict'
import { GENESIS_HASH, hashEvent } from '../../src/domain/audit/hash-chain.js'
import { verifyAuditLog } from '../../src/domain/audit/verify.js'
import type { AuditEvent } from '../../src/ports/audit-store.js'
import { availableEngines } from '../support/engines.js'
import { freshStorage } from '../support/storage.js'

/** A chain of `count` events of one stream, starting after (seq, hash). */
function chain(streamId: string, count: number, after = { seq: 0, hash: GENESIS_HASH }): AuditEvent[] {
  const events: AuditEvent[] = []
  let prev = after.hash
  for (let i = 1; i <= count; i++) {
    const seq = after.seq + i
    const unhashed = {
      id: `evt_${streamId}_${seq}`, streamId, seq, ts: 1_000 + seq, actorType: 'agent' as const, actorId: 'agt_x', action: 'token.issued',
      outcome: 'success' as const, reason: null, target: 'https://api.example/', role: 'r', ip: '127.0.0.1', requestId: `req-${seq}`,
      details: { n: seq, text: 'ünïcode ✓', nested: { list: [1, 'two'] } }, prevHash: prev,
    }
    const event = { ...unhashed, hash: hashEvent(unhashed) }
    prev = event.hash
    events.push(event)
  }
  return events
}

for (const engine of await availableEngines()) {
  test(`${engine}: a batch larger than one statement holds (2,500 events) and reads back exactly`, async () => {
    const { storage, close } = await freshStorage(engine)
    try {
      await storage.audit.openStream({ id: 'str_big', startedAt: 1_000, headSeq: 0, headHash: GENESIS_HASH })
      const events = chain('str_big', 2_500)
      await storage.audit.append('str_big', events)
      const head = await storage.audit.stream('str_big')
      assert.equal(head?.headSeq, 2_500)
      assert.equal(head?.headHash, events.at(-1)!.hash)
      assert.deepEqual(await storage.audit.readStream('str_big', 2_495, 10), events.slice(2_495))
      assert.deepEqual(await verifyAuditLog(storage.audit), { ok: true, checked: 2_500, streams: 1 })
    } finally {
      await close()
    }
  })

  test(`${engine}: a batch with one bad row writes nothing and leaves the head where it was`, async () => {
    const { storage, close } = await freshStorage(engine)
    try {
      await storage.audit.openStream({ id: 'str_a', startedAt: 1_000, headSeq: 0, headHash: GENESIS_HASH })
      const first = chain('str_a', 3)
      await storage.audit.append('str_a', first)
      // The second batch reuses a sequence number in its last row: the unique (stream, seq) refuses it.
      const second = chain('str_a', 4, { seq: 3, hash: first.at(-1)!.hash })
      second[3] = { ...second[3]!, seq: 2 }
      await assert.rejects(storage.audit.append('str_a', second))
      const head = await storage.audit.stream('str_a')
      assert.deepEqual([head?.headSeq, head?.headHash], [3, first.at(-1)!.hash])
      assert.equal((await storage.audit.readStream('str_a', 0, 100)).length, 3)
      assert.deepEqual(await verifyAuditLog(storage.audit), { ok: true, checked: 3, streams: 1 })
    } finally {
      await close()
    }
  })
}
