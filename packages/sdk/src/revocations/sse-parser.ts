/** One thing read from a text/event-stream. */
export type SseItem =
  | { kind: 'event'; type: string; data: string; id: string }
  | { kind: 'comment'; text: string }
  | { kind: 'retry'; ms: number }

/** A line longer than this is a broken or hostile stream, not an event. */
const DEFAULT_MAX_LINE = 1 << 20

/**
 * An incremental parser of the WHATWG HTML "Server-sent events" format (§9.2.6 "Interpreting an
 * event stream"), because Node 20 has no EventSource. Feed it chunks as they arrive (bytes or
 * text, split anywhere); it returns the events, comments and retry hints completed so far.
 */
export class SseParser {
  private readonly decoder = new TextDecoder('utf-8')
  private buffer = ''
  private afterCR = false
  private started = false
  private data = ''
  private hasData = false
  private eventType = ''
  private lastEventId = ''

  constructor(private readonly maxLine = DEFAULT_MAX_LINE) {}

  push(chunk: string | Uint8Array): SseItem[] {
    // The stream is always UTF-8 (the spec ignores any charset); a split code point waits for the next chunk.
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true })
    if (!this.started && text.length > 0) {
      this.started = true
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1) // one leading BOM is ignored
    }
    // A CR ended the last chunk: an LF starting this one belongs to the same line break.
    if (this.afterCR && text.length > 0) {
      this.afterCR = false
      if (text.charCodeAt(0) === 10) text = text.slice(1)
    }
    const out: SseItem[] = []
    let start = 0
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c !== 10 && c !== 13) continue
      this.line(this.buffer + text.slice(start, i), out)
      this.buffer = ''
      // Lines end in CRLF, LF or CR alone.
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++
        } else this.afterCR = true
      }
      start = i + 1
    }
    this.buffer += text.slice(start)
    if (this.buffer.length > this.maxLine) throw new Error(`event stream line longer than ${this.maxLine} characters`)
    return out
  }

  /** The stream closed: an event without its final blank line is discarded, as the spec says. */
  end(): SseItem[] {
    this.buffer = ''
    this.data = ''
    this.hasData = false
    this.eventType = ''
    return []
  }

  private line(line: string, out: SseItem[]): void {
    if (line === '') return this.dispatch(out)
    if (line.charCodeAt(0) === 58 /* : */) {
      out.push({ kind: 'comment', text: line.slice(1).replace(/^ /, '') })
      return
    }
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
    switch (field) {
      case 'event':
        this.eventType = value
        break
      case 'data':
        this.data += value + '\n'
        this.hasData = true
        break
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value
        break
      case 'retry':
        if (/^\d+$/.test(value)) out.push({ kind: 'retry', ms: Number(value) })
        break
      default: // unknown fields are ignored
    }
  }

  private dispatch(out: SseItem[]): void {
    if (this.hasData) {
      out.push({ kind: 'event', type: this.eventType || 'message', data: this.data.slice(0, -1), id: this.lastEventId })
    }
    this.data = ''
    this.hasData = false
    this.eventType = ''
  }
}
