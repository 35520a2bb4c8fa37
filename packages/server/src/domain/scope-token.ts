// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/
export const MAX_SCOPE_TOKEN_LENGTH = 128
export const MAX_SCOPES = 100

export function isScopeToken(s: string): boolean {
  return s.length <= MAX_SCOPE_TOKEN_LENGTH && SCOPE_TOKEN.test(s)
}

/** Scopes an agent may hold now: its own, capped by its role's current scopes (the ceiling). */
export function effectiveScopes(agentScopes: readonly string[], roleScopes: readonly string[]): string[] {
  const ceiling = new Set(roleScopes)
  return agentScopes.filter((s) => ceiling.has(s))
}
