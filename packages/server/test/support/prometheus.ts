import assert from 'node:assert/strict'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Exposition {
  samples: Sample[]
  help: Map<string, string>
  types: Map<string, string>
  /** The sum of the samples of `name` whose labels include all of `labels`. */
  value(name: string, labels?: Record<string, string>): number
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y

/**
 * Parses Prometheus text exposition format 0.0.4 strictly: every line is a comment (HELP/TYPE)
 * or a sample, every sample belongs to a family with HELP and TYPE, label syntax is checked.
 */
export function parseExposition(text: string): Exposition {
  const help = new Map<string, string>()
  const types = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (comment) {
      assert.match(comment[2]!, NAME, line)
      if (comment[1] === 'HELP') help.set(comment[2]!, comment[3]!)
      else {
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(comment[3]!), line)
        types.set(comment[2]!, comment[3]!)
      }
      continue
    }
    const m = SAMPLE.exec(line)
    assert.ok(m, `not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    if (m[2] !== undefined && m[2] !== '') {
      LABEL.lastIndex = 0
      let consumed = 0
      for (let l = LABEL.exec(m[2]); l; l = LABEL.exec(m[2])) {
        labels[l[1]!] = l[2]!
        consumed = LABEL.lastIndex
      }
      assert.equal(consumed, m[2].length, `malformed labels: ${line}`)
    }
    // Prometheus reads values with Go's ParseFloat: NaN and Inf in any letter case.
    const value = /^[+-]?inf$/i.test(m[3]!) ? (m[3]!.startsWith('-') ? -Infinity : Infinity) : Number(m[3])
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(m[3]!), `bad value: ${line}`)
    samples.push({ name: m[1]!, labels, value })
    const family = familyOf(m[1]!, types)
    assert.ok(types.has(family) && help.has(family), `no HELP/TYPE for ${m[1]}`)
  }
  return {
    samples,
    help,
    types,
    value(name, want = {}) {
      return samples
        .filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v))
        .reduce((sum, s) => sum + s.value, 0)
    },
  }
}

function familyOf(sample: string, types: Map<string, string>): string {
  if (types.has(sample)) return sample
  for (const suffix of ['_bucket', '_sum', '_count', '_total', '_created']) {
    if (sample.endsWith(suffix) && types.has(sample.slice(0, -suffix.length))) return sample.slice(0, -suffix.length)
  }
  return sample
}
