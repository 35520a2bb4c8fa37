import { InvalidTarget } from './errors.js'

const MAX_RESOURCES = 10
const MAX_RESOURCE_LENGTH = 2048

/** RFC 8707 §2: each resource is an absolute URI without a fragment. Undefined when none was sent. */
export function parseResources(resources: readonly string[]): string[] | undefined {
  if (resources.length === 0) return undefined
  if (resources.length > MAX_RESOURCES) throw new InvalidTarget(`at most ${MAX_RESOURCES} resource parameters are accepted`)
  const distinct = [...new Set(resources)]
  for (const r of distinct) {
    if (r.length > MAX_RESOURCE_LENGTH) throw new InvalidTarget('resource is too long')
    let url: URL
    try {
      url = new URL(r)
    } catch {
      throw new InvalidTarget('resource must be an absolute URI')
    }
    if (r.includes('#') || url.hash !== '') throw new InvalidTarget('resource must not contain a fragment')
  }
  return distinct
}
