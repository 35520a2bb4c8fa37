import { isStorableText } from '../../domain/text.js'
import { InvalidRequest } from '../errors.js'

/** The parameters /authorize reads; anything else is ignored (RFC 6749 §3.1). */
const KNOWN = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method', 'nonce', 'prompt', 'response_mode'] as const
export type AuthorizeParam = (typeof KNOWN)[number]

/** Longest value of each parameter: enough for any honest client, small enough to carry through sign-in. */
const MAX_LENGTH: Record<AuthorizeParam, number> = {
  response_type: 64, client_id: 128, redirect_uri: 2000, scope: 2048, state: 1024, code_challenge: 128,
  code_challenge_method: 32, nonce: 512, prompt: 64, response_mode: 32,
}
/** The whole query must fit through the sign-in page's return_to (4096 characters, with the path). */
export const MAX_QUERY_LENGTH = 4000

/** The request's parameters, read once; a problem found is raised only when that parameter is read. */
export class AuthorizeParams {
  constructor(
    private readonly values: ReadonlyMap<string, readonly string[]>,
    readonly queryLength: number,
  ) {}

  /** RFC 6749 §3.1: a parameter sent without a value counts as omitted, and none may repeat. */
  get(name: AuthorizeParam): string | undefined {
    const all = (this.values.get(name) ?? []).filter((v) => v !== '')
    if (all.length === 0) return undefined
    if (all.length > 1 || (this.values.get(name)?.length ?? 0) > 1) throw new InvalidRequest(`parameter ${name} is repeated`)
    const value = all[0]!
    if (value.length > MAX_LENGTH[name]) throw new InvalidRequest(`${name} is longer than ${MAX_LENGTH[name]} characters`)
    if (!isStorableText(value)) throw new InvalidRequest(`${name} contains U+0000 or an unpaired surrogate`)
    return value
  }

  /** Whether a parameter was sent with a value, however long or often (for those only refused when present). */
  sent(name: string): boolean {
    return (this.values.get(name) ?? []).some((v) => v !== '')
  }

  /** RFC 8707 §2: `resource` may repeat. */
  resources(): string[] {
    const all = (this.values.get('resource') ?? []).filter((v) => v !== '')
    if (all.some((v) => !isStorableText(v))) throw new InvalidRequest('resource contains U+0000 or an unpaired surrogate')
    return all
  }

  static readonly known: readonly string[] = KNOWN
}
