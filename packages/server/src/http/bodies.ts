import type { FastifyInstance } from 'fastify'
import secureJson from 'secure-json-parse'
import { InvalidRequest } from '../protocol/errors.js'

/** An application/x-www-form-urlencoded body: every value of every name, in order. */
export class FormBody {
  constructor(readonly values: ReadonlyMap<string, readonly string[]>) {}
}

export class JsonBody {
  constructor(readonly value: unknown) {}
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
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, new FormBody(parseForm(utf8(body as Buffer))))
    } catch (err) {
      done(err as Error, undefined)
    }
  })
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      const text = utf8(body as Buffer)
      if (text.trim() === '') throw new InvalidRequest('the request body is empty; send a JSON object')
      done(null, new JsonBody(secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' })))
    } catch (err) {
      done(err instanceof InvalidRequest ? err : new InvalidRequest('the request body is not valid JSON'), undefined)
    }
  })
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, _body, done) => {
    done(null, new OtherBody(req.headers['content-type']))
  })
}

/** WHATWG application/x-www-form-urlencoded parsing, refusing invalid percent-encoded UTF-8. */
function parseForm(text: string): Map<string, string[]> {
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
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '))
  } catch {
    throw new InvalidRequest('the form body has malformed percent-encoding or invalid UTF-8')
  }
}
