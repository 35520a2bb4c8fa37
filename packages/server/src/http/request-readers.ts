import type { FastifyRequest } from 'fastify'
import type { ActionContext } from '../domain/context.js'
import { InvalidRequest } from '../protocol/errors.js'
import { FormBody, JsonBody, MalformedForm, parseForm } from './bodies.js'

/**
 * Single-valued form parameters. RFC 6749 §3.1: a parameter must not be sent more than once, so
 * reading a repeated one is an invalid_request; RFC 6749 §3.2: parameters the server does not
 * read are ignored, repeated or not. An empty value counts as omitted (§3.1).
 */
export class SingleParams extends Map<string, string> {
  private readonly repeated = new Set<string>()

  markRepeated(name: string): void {
    this.repeated.add(name)
  }

  override get(name: string): string | undefined {
    if (this.repeated.has(name)) throw new InvalidRequest(`parameter ${name.slice(0, 64)} is repeated`)
    return super.get(name)
  }

  override has(name: string): boolean {
    return this.get(name) !== undefined
  }
}

export interface FormParams {
  params: SingleParams
  /** Values of the parameters allowed to repeat. */
  lists: Map<string, string[]>
}

/**
 * RFC 6749 §3.2 / RFC 7009 §2.1 / RFC 7662 §2.1: the body must be a form. Parameters named in
 * `repeatable` (RFC 8707 `resource`) may repeat; any other repeated parameter is refused when read.
 */
export function readForm(request: FastifyRequest, repeatable: readonly string[] = []): FormParams {
  const body = request.body
  if (body instanceof MalformedForm) throw body.error
  if (!(body instanceof FormBody)) throw new InvalidRequest('the request body must be application/x-www-form-urlencoded')
  const params = new SingleParams()
  const lists = new Map<string, string[]>()
  for (const [name, all] of body.values) {
    const present = all.filter((v) => v !== '')
    if (present.length === 0) continue
    if (repeatable.includes(name)) {
      lists.set(name, present)
      continue
    }
    if (all.length > 1) params.markRepeated(name)
    params.set(name, present[0]!)
  }
  return { params, lists }
}

/** The JSON body of a request, or an error saying the body must be JSON. */
export function readJson(request: FastifyRequest, errorFor: (description: string) => Error = (d) => new InvalidRequest(d)): unknown {
  const body = request.body
  if (!(body instanceof JsonBody)) throw errorFor(body === undefined || body === null ? 'a JSON body is required' : 'the request body must be application/json')
  return body.value
}

/**
 * An optional JSON object body: undefined for an empty request, else the object. A body that
 * was sent must be an object; `null`, arrays and bare values are not "no body".
 */
export function readOptionalJson(request: FastifyRequest): Record<string, unknown> | undefined {
  if (request.body === undefined || request.body === null) return undefined
  const value = readJson(request)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidRequest('the request body must be a JSON object')
  return value as Record<string, unknown>
}

/** An optional JSON object body whose fields must all be among `allowed`: a typo is refused, not ignored. */
export function readOptionalFields(request: FastifyRequest, allowed: readonly string[]): Record<string, unknown> {
  const body = readOptionalJson(request) ?? {}
  const unknown = Object.keys(body).find((k) => !allowed.includes(k))
  if (unknown !== undefined) throw new InvalidRequest(`unknown field: ${unknown.slice(0, 64)}`)
  return body
}

/**
 * Query parameters, parsed strictly from the raw URL: malformed percent-encoding or invalid
 * UTF-8, a repeated name, or a name not in `allowed` is an invalid_request.
 */
export function readQuery(request: FastifyRequest, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>()
  const q = request.url.indexOf('?')
  if (q < 0) return out
  let parsed: Map<string, string[]>
  try {
    parsed = parseForm(request.url.slice(q + 1))
  } catch {
    throw new InvalidRequest('the query string has malformed percent-encoding or invalid UTF-8')
  }
  for (const [name, values] of parsed) {
    if (!allowed.includes(name)) throw new InvalidRequest(`unknown query parameter ${name.slice(0, 64)}`)
    if (values.length > 1) throw new InvalidRequest(`query parameter ${name.slice(0, 64)} is repeated`)
    if (values[0] !== '') out.set(name, values[0]!)
  }
  return out
}

/** RFC 6750 §2.1: `Bearer <b64token>`; undefined when there is no usable bearer credential. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header === undefined) return undefined
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header)
  return match?.[1]
}

export function actionContext(request: FastifyRequest, actor: Pick<ActionContext, 'actorType' | 'actorId'>): ActionContext {
  return { ...actor, ip: request.ip, requestId: request.id }
}
