/**
 * HTML built from templates. Every interpolated value goes through `escapeHtml`, the one
 * escaping helper, unless it is already `Html` (built by this same template), so a value can
 * never become markup by accident. Values are only ever placed in text and in double-quoted
 * attribute values, where escaping & < > " ' is enough (OWASP XSS Prevention Cheat Sheet, rules 1 and 2).
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c]!)
}

type Interpolation = Html | string | number | null | undefined | readonly Interpolation[]

function render(value: Interpolation): string {
  if (value === null || value === undefined) return ''
  if (value instanceof Html) return value.text
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}

/** html`<p>${name}</p>`: `name` is escaped; nested html`` fragments and arrays of them are kept. */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0]!
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!
  })
  return new Html(out)
}
