import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { SseParser, type SseItem } from '../src/index.js'

/** Feeds the chunks in order and collects everything the parser produced. */
function parse(chunks: (string | Uint8Array)[]): SseItem[] {
  const p = new SseParser()
  const out = chunks.flatMap((c) => p.push(c))
  return [...out, ...p.end()]
}
const events = (items: SseItem[]) => items.filter((i) => i.kind === 'event')

describe('SSE parser (WHATWG event-stream format)', () => {
  const stream = 'id: 1\nevent: revocation\ndata: {"a":1}\n\n: ping\n\nid: 2\nevent: synced\ndata: {"cursor":"2"}\n\n'

  test('gives the same events whichever way the stream is split, down to one character per chunk', () => {
    const whole = parse([stream])
    assert.deepEqual(whole, [
      { kind: 'event', type: 'revocation', data: '{"a":1}', id: '1' },
      { kind: 'comment', text: 'ping' },
      { kind: 'event', type: 'synced', data: '{"cursor":"2"}', id: '2' },
    ])
    assert.deepEqual(parse([...stream]), whole)
    for (let cut = 1; cut < stream.length; cut++) assert.deepEqual(parse([stream.slice(0, cut), stream.slice(cut)]), whole, `split at ${cut}`)
  })

  test('CRLF, lone CR and LF line endings are the same, including a CRLF split between chunks', () => {
    const crlf = stream.replaceAll('\n', '\r\n')
    const cr = stream.replaceAll('\n', '\r')
    const expected = parse([stream])
    assert.deepEqual(parse([crlf]), expected)
    assert.deepEqual(parse([cr]), expected)
    for (let cut = 1; cut < crlf.length; cut++) assert.deepEqual(parse([crlf.slice(0, cut), crlf.slice(cut)]), expected, `CRLF split at ${cut}`)
    // A CR at the end of one chunk and an LF at the start of the next make one line break, not two.
    assert.deepEqual(events(parse(['data: x\r', '\ndata: y\r\n\r\n'])), [{ kind: 'event', type: 'message', data: 'x\ny', id: '' }])
  })

  test('multi-line data joins with LF; "data" without a colon is an empty line of data', () => {
    assert.deepEqual(events(parse(['data: first\ndata:second\ndata\ndata:  two spaces\n\n'])), [{ kind: 'event', type: 'message', data: 'first\nsecond\n\n two spaces', id: '' }])
  })

  test('comments are reported and never dispatch an event; unknown fields are ignored', () => {
    const items = parse([':\n: ping\n:no space\nfoo: bar\nretry: 1500\nretry: soon\n\n'])
    assert.deepEqual(items, [
      { kind: 'comment', text: '' },
      { kind: 'comment', text: 'ping' },
      { kind: 'comment', text: 'no space' },
      { kind: 'retry', ms: 1500 },
    ])
  })

  test('the last event id carries over to later events, and an id containing NUL is ignored', () => {
    const got = events(parse(['id: 7\ndata: a\n\ndata: b\n\nid: 8\u0000x\ndata: c\n\nid\ndata: d\n\n']))
    assert.deepEqual(got.map((e) => e.kind === 'event' && e.id), ['7', '7', '7', ''])
  })

  test('an event without its final blank line is not dispatched when the stream ends', () => {
    const got = parse(['data: complete\n\nid: 9\nevent: revocation\ndata: {"partial":true}'])
    assert.deepEqual(events(got), [{ kind: 'event', type: 'message', data: 'complete', id: '' }])
    assert.deepEqual(events(parse(['data: no blank line\n'])), [])
  })

  test('a leading BOM is dropped; UTF-8 split inside a code point is decoded whole', () => {
    const bytes = new TextEncoder().encode('\uFEFFdata: café ✓ 𝄞\n\n')
    const pieces = [...bytes].map((b) => Uint8Array.of(b))
    assert.deepEqual(events(parse(pieces)), [{ kind: 'event', type: 'message', data: 'café ✓ 𝄞', id: '' }])
  })

  test('an endless line is refused instead of growing without bound', () => {
    const p = new SseParser(1000)
    assert.throws(() => p.push('data: ' + 'x'.repeat(2000)), /longer than 1000/)
  })
})
