import type { GrantHandler } from './types.js'

/** The grants this server answers, built once at start-up from the enabled features. */
export function grantTable(handlers: GrantHandler[]): ReadonlyMap<string, GrantHandler> {
  return new Map(handlers.map((h) => [h.grantType, h]))
}
