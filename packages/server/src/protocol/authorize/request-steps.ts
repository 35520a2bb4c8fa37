import { effectiveScopes } from '../../domain/scope-token.js'
import { InvalidRequest, InvalidScope, OAuthError } from '../errors.js'
import { parseCodeChallenge } from '../pkce.js'
import { parseResources } from '../resource.js'
import { narrowScope, parseScope } from '../scopes.js'
import type { AuthorizeClient } from './client-step.js'
import { MAX_QUERY_LENGTH, type AuthorizeParams } from './read-params.js'

export type Prompt = 'none' | 'login' | 'consent'
const PROMPTS: readonly string[] = ['none', 'login', 'consent']

/** An authorization request whose every parameter has been checked. */
export interface AuthorizeRequest extends AuthorizeClient {
  state: string | undefined
  scope: string[]
  audience: string[] | null
  codeChallenge: string
  nonce: string | undefined
  prompt: ReadonlySet<Prompt>
}

/**
 * Steps 2 onwards, in order, once the client and redirect URI are known good; each error found
 * here goes back to the client by redirect (RFC 6749 §4.1.2.1).
 */
export function checkRequest(params: AuthorizeParams, client: AuthorizeClient): AuthorizeRequest {
  if (params.queryLength > MAX_QUERY_LENGTH) throw new InvalidRequest(`the request is longer than ${MAX_QUERY_LENGTH} characters`)
  // OIDC Core §6.1 / §6.2: request objects are not supported, by value or by reference.
  if (params.sent('request')) throw new OAuthError('request_not_supported', 'request objects (the request parameter) are not supported', 400)
  if (params.sent('request_uri')) throw new OAuthError('request_uri_not_supported', 'request_uri is not supported', 400)
  // RFC 6749 §4.1.1 / OAuth 2.1: only the code flow (no implicit, no hybrid).
  const responseType = params.get('response_type')
  if (responseType === undefined) throw new InvalidRequest('response_type is required')
  if (responseType !== 'code') throw new OAuthError('unsupported_response_type', 'response_type must be code', 400)
  // OAuth 2.0 Multiple Response Type Encoding §2.1: the default for code is query, the only mode here.
  const mode = params.get('response_mode')
  if (mode !== undefined && mode !== 'query') throw new InvalidRequest('response_mode must be query')
  const codeChallenge = parseCodeChallenge(params.get('code_challenge'), params.get('code_challenge_method'))
  // The agent's scopes capped by its role's ceiling today: a person cannot consent to more.
  const requested = params.get('scope')
  const allowed = effectiveScopes(client.agent.scopes, client.role.scopes)
  const scope = narrowScope(requested === undefined ? undefined : parseScope(requested), allowed)
  if (scope.length === 0) throw new InvalidScope('no scope can be granted to this client')
  // RFC 8707 §2: resource indicators bind the tokens' audience.
  const audience = parseResources(params.resources()) ?? null
  return { ...client, state: params.get('state'), scope, audience, codeChallenge, nonce: params.get('nonce'), prompt: parsePrompt(params.get('prompt')) }
}

/** OIDC Core §3.1.2.1: space-separated; `none` alone; unknown values are refused here. */
function parsePrompt(raw: string | undefined): ReadonlySet<Prompt> {
  if (raw === undefined) return new Set()
  const values = raw.split(' ')
  const unknown = values.find((v) => !PROMPTS.includes(v))
  if (unknown !== undefined) throw new InvalidRequest(`prompt ${unknown.slice(0, 32)} is not supported; use none, login or consent`)
  const set = new Set(values as Prompt[])
  if (set.has('none') && set.size > 1) throw new InvalidRequest('prompt none cannot be combined with other values')
  return set
}
