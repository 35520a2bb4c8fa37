import type { FastifyRequest } from 'fastify'
import type { ActionContext } from '../domain/context.js'
import { InvalidRequest } from '../protocol/errors.js'
import { FormBody, JsonBody } from './bodies.js'

export interface FormParams {
  /** Single-valued parameters. RFC 6749 §3.1: an empty value counts as omitted. */
  params: Map<string, string>
  /** Values of the parameters allowed to repeat. */
  lists: Map<string, string[]>
}

/**
 * RFC 6749 §3.2 / RFC 7009 §2.1 / RFC 7662 §2.1: the body must be a form, and no parameter may
 * appear more than once (§3.1), except the ones named in `repeatable` (RFC 8707 `resource`).
 */
export function readForm(request: FastifyRequest, repeatable: readonly string[] = []): FormParams {
  const body = request.body
  if (!(body instanceof FormBody)) throw new InvalidRequest('the request body must be application/x-www-form-urlencoded')
  const params = new Map<string, string>()
  const lists = new Map<string, string[]>()
  for (const [name, all] of body.values) {
    const present = all.filter((v) => v !== '')
    if (present.length === 0) continue
    if (repeatable.includes(name)) {
      lists.set(name, present)
      continue
    }
    if (all.length > 1) throw new InvalidRequest(`parameter ${name.slice(0, 64)} is repeated`)
    params.set(name, present[0]!)
  }
  return { params, lists }
}

/** The JSON body of a request, or an error saying the body must be JSON. */
export function readJson(request: FastifyRequest, errorFor: (description: string) => Error = (d) => new InvalidRequest(d)): unknown {
  const body = request.body
  if (!(body instanceof JsonBody)) throw errorFor('the request body must be application/json')
  return body.value
}

/** JSON body when one was sent; undefined for an empty request. */
export function readOptionalJson(request: FastifyRequest): unknown {
  if (request.body === undefined || request.body === null) return undefined
  return readJson(request)
}

/** Query parameters, refusing repeated names (which Fastify parses into arrays). */
export function readQuery(request: FastifyRequest, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>()
  const query = (request.query ?? {}) as Record<string, unknown>
  for (const [name, value] of Object.entries(query)) {
    if (Array.isArray(value)) throw new InvalidRequest(`query parameter ${name.slice(0, 64)} is repeated`)
    if (!allowed.includes(name)) throw new InvalidRequest(`unknown query parameter ${name.slice(0, 64)}`)
    if (typeof value === 'string' && value !== '') out.set(name, value)
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
