import { isScopeToken, MAX_SCOPES } from '../domain/scope-token.js'
import { InvalidScope } from './errors.js'

/** Parses a space-delimited scope string (RFC 6749 §3.3) into distinct tokens, in order. */
export function parseScope(raw: string): string[] {
  const parts = raw.split(' ')
  if (parts.some((p) => p === '')) throw new InvalidScope('scope must be scope tokens separated by single spaces')
  const bad = parts.find((p) => !isScopeToken(p))
  if (bad !== undefined) throw new InvalidScope(`scope contains an invalid scope token`)
  const distinct = [...new Set(parts)]
  if (distinct.length > MAX_SCOPES) throw new InvalidScope(`at most ${MAX_SCOPES} scopes may be requested`)
  return distinct
}

/**
 * The scopes granted for a request: the requested ones if all are allowed, or every allowed
 * scope when none was requested (RFC 6749 §3.3 lets the server pick a default).
 */
export function narrowScope(requested: string[] | undefined, allowed: readonly string[]): string[] {
  if (requested === undefined) {
    // RFC 6749 §3.3: with no usable default the request fails with invalid_scope; never a token with no scope.
    if (allowed.length === 0) throw new InvalidScope('the agent holds no scope its role still allows')
    return [...allowed]
  }
  const allowedSet = new Set(allowed)
  const refused = requested.filter((s) => !allowedSet.has(s))
  if (refused.length > 0) throw new InvalidScope(`scope not allowed for this agent: ${refused.slice(0, 5).join(' ')}`)
  return requested
}
