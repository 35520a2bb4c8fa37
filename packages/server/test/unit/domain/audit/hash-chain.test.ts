import { test } from 'node:test'
import assert from 'node:assert/strict'
import { canonicalEvent, canonicalEventGeneral } from '../../../../src/domain/audit/hash-chain.js'
import type { AuditEvent } from '../../../../src/ports/audit-store.js'

const base: Omit<AuditEvent, 'hash'> = {
  id: 'evt_00000000001abc', streamId: 'str_x', seq: 1, ts: 1_764_806_400_000, actorType: 'agent', actorId: 'agt_1', action: 'token.issued',
  outcome: 'success', reason: null, target: 'https://api.example/', role: 'reader', ip: '::1', requestId: 'req-1', details: {}, prevHash: '0'.repeat(64),
}

const awkward = ['', '"quoted" \\ back', 'line\nbreak\ttab\u0000nul\u001f', 'ünïcödé ✓ 日本', '😀 astral', '\u2028\u2029', '</script>', 'é'.normalize('NFD')]

test('the direct canonical form equals RFC 8785 canonicalisation of the whole event', () => {
  const cases: Omit<AuditEvent, 'hash'>[] = [base]
  for (const text of awkward) {
    cases.push({ ...base, action: text, actorId: text, reason: text, target: text, role: text, ip: text, requestId: text, id: `evt_${text}`, streamId: text, prevHash: text })
    cases.push({ ...base, details: { [text]: text, z: [1, 2.5, -0, 1e21, 1e-7, null, true, { b: text, a: [text] }], a: { nested: { deeper: text } } } })
  }
  cases.push({ ...base, actorId: null, reason: null, target: null, role: null, ip: null, requestId: null, actorType: 'anonymous', outcome: 'failure' })
  cases.push({ ...base, seq: Number.MAX_SAFE_INTEGER, ts: 0 })
  for (const c of cases) assert.equal(canonicalEvent(c), canonicalEventGeneral(c), JSON.stringify(c))
})

test('a number that is not an integer is refused rather than hashed differently', () => {
  assert.throws(() => canonicalEvent({ ...base, seq: 1.5 }))
  assert.throws(() => canonicalEvent({ ...base, ts: Number.NaN }))
})
