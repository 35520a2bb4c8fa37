import type { FastifyInstance } from 'fastify'
import secureJson from 'secure-json-parse'
import { isStorableText } from '../domain/text.js'
import { InvalidRequest } from '../protocol/errors.js'

/** An application/x-www-form-urlencoded body: every value of every name, in order. */
export class FormBody {
  constructor(readonly values: ReadonlyMap<string, readonly string[]>) {}
}

export class JsonBody {
  constructor(readonly value: unknown) {}
}

/**
 * A form body that could not be parsed (invalid UTF-8, bad percent-encoding, wrong charset).
 * The error is raised when the route reads the body, so the route can audit the refusal.
 */
export class MalformedForm {
  constructor(readonly error: Error) {}
}

/** A body of a media type no route accepts; the route decides which error that is. */
export class OtherBody {
  constructor(readonly contentType: string | undefined) {}
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function utf8(buf: Buffer): string {
  try {
    return strictUtf8.decode(buf)
  } catch {
    throw new InvalidRequest('the request body is not valid UTF-8')
  }
}

/**
 * The edge parses bodies strictly: invalid UTF-8 (raw or percent-encoded) is refused rather
 * than replaced, and JSON with __proto__ / constructor keys is refused.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      requireUtf8Charset(req.headers['content-type']) // RFC 6749 Appendix B: forms are UTF-8
      done(null, new FormBody(parseForm(utf8(body as Buffer))))
    } catch (err) {
      done(null, new MalformedForm(err as Error))
    }
  })
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      requireUtf8Charset(req.headers['content-type']) // RFC 8259 §8.1: JSON exchanged between systems is UTF-8
      const text = utf8(body as Buffer)
      // Content-Type says JSON, so an empty body is malformed JSON, not "no body": refuse rather than guess.
      if (text.trim() === '') throw new InvalidRequest('the request body is empty; send a JSON object')
      let value: unknown
      try {
        value = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })
      } catch (err) {
        if (/forbidden (prototype|constructor) property/i.test((err as Error).message)) throw new InvalidRequest('the JSON body uses a forbidden member name (__proto__ or constructor.prototype)')
        throw new InvalidRequest('the request body is not valid JSON')
      }
      // RFC 7493 §2.3 (I-JSON): duplicate member names are ambiguous (parsers disagree on which wins).
      const duplicate = duplicateMemberName(text)
      if (duplicate !== undefined) throw new InvalidRequest(`the JSON member ${JSON.stringify(duplicate.slice(0, 64))} appears more than once`)
      if (!jsonTextIsStorable(value)) throw new InvalidRequest('the JSON body contains U+0000 or an unpaired surrogate (\\uD800-\\uDFFF)')
      done(null, new JsonBody(value))
    } catch (err) {
      done(err instanceof InvalidRequest ? err : new InvalidRequest('the request body is not valid JSON'), undefined)
    }
  })
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, _body, done) => {
    done(null, new OtherBody(req.headers['content-type']))
  })
}

/** A charset parameter other than UTF-8 would make us misread the bytes: refuse it. */
function requireUtf8Charset(contentType: string | undefined): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)"?/i.exec(contentType ?? '')?.[1]
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) throw new InvalidRequest(`charset ${charset.slice(0, 32)} is not supported; send UTF-8`)
}

/**
 * The first member name repeated within one object of a JSON text that already parsed, or
 * undefined. A single linear scan: strings are skipped whole, and a string is a member name
 * when it follows "{" or "," inside an object.
 */
export function duplicateMemberName(text: string): string | undefined {
  const objects: Array<Set<string> | null> = [] // null marks an array
  let expectName = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') {
      let j = i + 1
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      const names = objects[objects.length - 1]
      if (expectName && names) {
        const name = JSON.parse(text.slice(i, j + 1)) as string
        if (names.has(name)) return name
        names.add(name)
      }
      expectName = false
      i = j
    } else if (c === '{') {
      objects.push(new Set())
      expectName = true
    } else if (c === '[') {
      objects.push(null)
      expectName = false
    } else if (c === '}' || c === ']') {
      objects.pop()
      expectName = false
    } else if (c === ',') {
      expectName = objects[objects.length - 1] != null
    }
  }
  return undefined
}

/** WHATWG application/x-www-form-urlencoded parsing, refusing invalid percent-encoded UTF-8. */
export function parseForm(text: string): Map<string, string[]> {
  const values = new Map<string, string[]>()
  if (text === '') return values
  for (const pair of text.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const name = decode(eq < 0 ? pair : pair.slice(0, eq))
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1))
    const list = values.get(name)
    if (list) list.push(value)
    else values.set(name, [value])
  }
  return values
}

function decode(s: string): string {
  let decoded: string
  try {
    decoded = decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    throw new InvalidRequest('the form body has malformed percent-encoding or invalid UTF-8')
  }
  if (!isStorableText(decoded)) throw new InvalidRequest('the form body contains U+0000')
  return decoded
}

/** Every member name and string of a parsed JSON value is storable text. Iterative: depth is unbounded. */
function jsonTextIsStorable(value: unknown): boolean {
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v === 'string') {
      if (!isStorableText(v)) return false
    } else if (Array.isArray(v)) {
      stack.push(...v)
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, inner] of Object.entries(v)) {
        if (!isStorableText(k)) return false
        stack.push(inner)
      }
    }
  }
  return true
}
