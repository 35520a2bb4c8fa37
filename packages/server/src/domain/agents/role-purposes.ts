import { LAWFUL_BASES, type LawfulBasis, type Purpose } from '../../ports/role-repo.js'
import { ValidationFailed } from '../errors.js'
import { characterCount, isPrintableLine } from '../text.js'

/** A purpose id: a short token, like a role name (`automated-deletion`). */
export const PURPOSE_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/
export const MAX_PURPOSES = 20
export const MAX_PURPOSE_DESCRIPTION = 500
const FIELDS = new Set(['id', 'description', 'lawful_basis'])

/**
 * `purposes: [{ "id", "description", "lawful_basis" }]` of a role (GDPR Art. 5(1)(b): personal
 * data is collected for specified purposes; Art. 6(1): each on a lawful basis). Omitted (or
 * null) means none. Unknown fields, duplicate ids and oversized lists are refused: the consent
 * page shows these words to people as written, so a typo must not pass silently.
 */
export function parsePurposes(v: unknown): Purpose[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw new ValidationFailed('purposes', 'purposes must be an array of { "id", "description", "lawful_basis" } objects')
  if (v.length > MAX_PURPOSES) throw new ValidationFailed('purposes', `a role may declare at most ${MAX_PURPOSES} purposes`)
  const seen = new Set<string>()
  return v.map((entry: unknown, i) => {
    const purpose = parsePurpose(entry, i)
    if (seen.has(purpose.id)) throw new ValidationFailed('purposes', `purposes[${i}].id ${purpose.id} is declared twice`)
    seen.add(purpose.id)
    return purpose
  })
}

function parsePurpose(entry: unknown, i: number): Purpose {
  const at = `purposes[${i}]`
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ValidationFailed('purposes', `${at} must be an object { "id", "description", "lawful_basis" }`)
  const p = entry as Record<string, unknown>
  const unknown = Object.keys(p).find((k) => !FIELDS.has(k))
  if (unknown !== undefined) throw new ValidationFailed('purposes', `${at} has an unknown field: ${unknown.slice(0, 64)}`)
  if (typeof p.id !== 'string' || !PURPOSE_ID.test(p.id)) {
    throw new ValidationFailed('purposes', `${at}.id must be 1-64 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit`)
  }
  const description = p.description
  if (typeof description !== 'string' || description.trim() === '' || characterCount(description) > MAX_PURPOSE_DESCRIPTION || !isPrintableLine(description)) {
    throw new ValidationFailed('purposes', `${at}.description must be plain text: 1 to ${MAX_PURPOSE_DESCRIPTION} printable characters on one line`)
  }
  if (typeof p.lawful_basis !== 'string' || !(LAWFUL_BASES as readonly string[]).includes(p.lawful_basis)) {
    throw new ValidationFailed('purposes', `${at}.lawful_basis must be one of ${LAWFUL_BASES.join(', ')} (GDPR Art. 6(1))`)
  }
  return { id: p.id, description: description.trim(), lawfulBasis: p.lawful_basis as LawfulBasis }
}

/** The wire (and audit) shape of purposes: snake_case. */
export function purposesJson(purposes: readonly Purpose[]): Array<{ id: string; description: string; lawful_basis: LawfulBasis }> {
  return purposes.map((p) => ({ id: p.id, description: p.description, lawful_basis: p.lawfulBasis }))
}
