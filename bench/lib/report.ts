// Aggregation (medians over rounds), the issue's targets (item 8), the results file and latest.md.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Measurement } from './load.js';
import type { CpuWindow } from './proc.js';
import type { Metric, Params, SoakResult } from './scenarios.js';
import { median, round1 } from './stats.js';
import type { TargetName, TokenCheck } from './targets.js';

export interface RoundResult extends Measurement {
  round: number;
  cpu: CpuWindow;
}

export interface Summary {
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  total_ms?: number;
  /** Summed over rounds. */
  non2xx: number;
  errors: number;
  timeouts: number;
  server_cpu_pct: number;
  other_cpu_pct: number;
}

export interface TargetRun {
  target: TargetName;
  label: string;
  rounds: RoundResult[];
  median: Summary;
}

export interface ScenarioRun {
  id: string;
  title: string;
  metric: Metric;
  overload: boolean;
  targets: TargetRun[];
  /** Mandate (SQLite) / each other target, on the scenario's metric (medians). */
  ratios: Record<string, number>;
  skipped?: Record<string, string>;
}

export interface Goal {
  id: string;
  text: string;
  value: number | null;
  limit: number;
  comparison: '>=' | '<=';
  unit: string;
  met: boolean | null;
  detail: string;
}

export interface RunRecord {
  schema: 2;
  timestamp: string;
  finished: string;
  git_commit: string | null;
  git_dirty: boolean | null;
  machine: { cpu_model: string; cpu_cores: number; node: string; platform: string; arch: string; loadavg_start: number[]; loadavg_end: number[] };
  mode: 'full' | 'quick' | 'custom';
  params: Params;
  versions: Record<string, string>;
  notes: string[];
  token_checks: Record<string, TokenCheck>;
  scenarios: ScenarioRun[];
  soak?: SoakResult;
  goals: Goal[];
  failures: string[];
}

export function summarize(rounds: RoundResult[]): Summary {
  const m = (f: (r: RoundResult) => number) => median(rounds.map(f));
  const sum = (f: (r: RoundResult) => number) => rounds.reduce((a, r) => a + f(r), 0);
  return {
    rate: Math.round(m((r) => r.rate)),
    p50: round1(m((r) => r.latency_ms.p50)),
    p90: round1(m((r) => r.latency_ms.p90)),
    p99: round1(m((r) => r.latency_ms.p99)),
    max: round1(m((r) => r.latency_ms.max)),
    ...(rounds.some((r) => r.total_ms !== undefined) ? { total_ms: round1(m((r) => r.total_ms ?? NaN)) } : {}),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    server_cpu_pct: round1(m((r) => r.cpu.server_pct)),
    other_cpu_pct: round1(m((r) => r.cpu.other_pct)),
  };
}

export function metricOf(s: Summary, metric: Metric): number {
  return metric === 'rate' ? s.rate : metric === 'p99' ? s.p99 : (s.total_ms ?? NaN);
}

export function ratios(targets: TargetRun[], metric: Metric): Record<string, number> {
  const base = targets.find((t) => t.target === 'mandate');
  if (!base) return {};
  const out: Record<string, number> = {};
  for (const t of targets) {
    if (t.target === 'mandate') continue;
    const v = metricOf(t.median, metric);
    if (v > 0) out[t.target] = Math.round((metricOf(base.median, metric) / v) * 100) / 100;
  }
  return out;
}

// ---------------------------------------------------------------- goals (item 8)

function goal(id: string, text: string, value: number | null | undefined, comparison: '>=' | '<=', limit: number, unit: string): Goal {
  if (value === null || value === undefined || !Number.isFinite(value)) return { id, text, value: null, limit, comparison, unit, met: null, detail: 'not measured in this run' };
  const met = comparison === '>=' ? value >= limit : value <= limit;
  let detail: string;
  if (met) detail = 'met';
  else if (comparison === '>=') detail = limit === 0 ? 'missed' : `missed by ${fmt(limit - value)}${unit} (reached ${Math.round((value / limit) * 100)}% of the target)`;
  else detail = limit === 0 ? `missed: ${fmt(value)}${unit}` : `missed by ${fmt(value - limit)}${unit} (${round1(value / limit)}× the limit)`;
  return { id, text, value, limit, comparison, unit, met, detail };
}

export function evaluateGoals(scenarios: ScenarioRun[], soak: SoakResult | undefined): Goal[] {
  const find = (sid: string, t: TargetName) => scenarios.find((s) => s.id === sid)?.targets.find((x) => x.target === t)?.median;
  const ratio = (sid: string, t: string) => scenarios.find((s) => s.id === sid)?.ratios[t];
  const failures = (s: Summary | undefined) => (s === undefined ? undefined : s.errors + s.timeouts + s.non2xx);
  const cc = find('cc-64', 'mandate');
  const fixed = find('cc-rate', 'mandate');
  const c1000 = find('cc-1000', 'mandate');
  const reg = find('register-1000', 'mandate');
  const sqlite = find('cc-64-storage', 'mandate');
  const pgOne = find('cc-64-storage', 'mandate-pg');
  const goals = [
    goal('cc-64-rate', 'client_credentials at 64 connections ≥ 10,000 tokens/s', cc?.rate, '>=', 10_000, '/s'),
    goal('cc-64-vs-lean', 'client_credentials at 64 connections ≥ 70% of the lean signer (same run)', ratio('cc-64', 'lean'), '>=', 0.7, '×'),
    goal('cc-64-vs-peer', 'client_credentials at 64 connections ≥ 2× oidc-provider (same run)', ratio('cc-64', 'peer'), '>=', 2, '×'),
    goal('cc-64-errors', 'client_credentials at 64 connections: no errors', failures(cc), '<=', 0, ' failed requests'),
    goal('cc-rate-p99', 'at the fixed offered rate: p99 ≤ 10 ms', fixed?.p99, '<=', 10, ' ms'),
    goal('cc-rate-errors', 'at the fixed offered rate: no errors', failures(fixed), '<=', 0, ' failed requests'),
    goal('cc-1000-errors', 'at 1,000 connections: no errors or timeouts', failures(c1000), '<=', 0, ' failed requests'),
    goal('cc-1000-p99', 'at 1,000 connections: p99 ≤ 150 ms', c1000?.p99, '<=', 150, ' ms'),
    goal('introspect-rate', 'introspection ≥ 15,000/s', find('introspect-64', 'mandate')?.rate, '>=', 15_000, '/s'),
    goal('register-time', '1,000 concurrent registrations done in ≤ 2 s', reg?.total_ms, '<=', 2000, ' ms'),
    goal('register-errors', '1,000 concurrent registrations: no errors', failures(reg), '<=', 0, ' failed requests'),
    goal('pg-vs-sqlite', 'PostgreSQL within 70% of SQLite (client_credentials, 64 connections, one node)', sqlite && pgOne ? round1((pgOne.rate / sqlite.rate) * 100) / 100 : undefined, '>=', 0.7, '×'),
  ];
  const growth = soak && soak.rss_baseline && soak.rss_end ? round1(((soak.rss_end - soak.rss_baseline) / soak.rss_baseline) * 100) : undefined;
  goals.push(goal('soak-memory', 'soak: memory flat (RSS growth from the baseline sample to the end ≤ 10%)', growth, '<=', 10, '%'));
  return goals;
}

// ---------------------------------------------------------------- output

export function fmt(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Number.isInteger(n)) return String(n);
  return String(Math.round(n * 100) / 100);
}

const mib = (b: number | null) => (b === null ? '–' : `${fmt(round1(b / 1048576))} MiB`);

export function markdown(r: RunRecord): string {
  const m = r.machine;
  const commit = r.git_commit ? `${r.git_commit.slice(0, 12)}${r.git_dirty ? ' (dirty tree)' : ''}` : 'none';
  const p = r.params;
  const out: string[] = [
    '# Latest benchmark run',
    '',
    `${r.timestamp} → ${r.finished}, commit ${commit}, mode **${r.mode}**`,
    `${m.cpu_model} × ${m.cpu_cores} cores, Node ${m.node}, ${m.platform}/${m.arch}; load average at start ${m.loadavg_start.join(' ')}, at end ${m.loadavg_end.join(' ')}`,
    `${p.rounds} round(s) per scenario, targets alternated (rotated each round); ${p.durationS} s measured after ${p.warmupS} s warm-up; fixed rate ${fmt(p.rate)}/s; soak ${p.soakS} s at ${fmt(p.soakRate)}/s.`,
    `Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    'Figures are medians over rounds. "server CPU" is the server process(es), all threads; "other CPU" everything on the machine but the servers and the load generator (other test suites, PostgreSQL, the kernel); 100% = one core. The load generator runs on the same two cores. Disk contention (other processes\' fsyncs) does not show as CPU, but slows Mandate\'s audit commits (SQLite synchronous=FULL) and nothing in the references.',
    '',
  ];
  if (r.notes.length) out.push(...r.notes.map((n) => `- ${n}`), '');
  if (r.failures.length) out.push('**FAILED:**', ...r.failures.map((f) => `- ${f}`), '');

  out.push('## Targets (issue item 8)', '', '| target | measured | result |', '|---|---:|---|');
  for (const g of r.goals) out.push(`| ${g.text} | ${g.value === null ? '–' : `${fmt(g.value)}${g.unit}`} | ${g.met === null ? 'not measured' : g.met ? '**met**' : `**missed**: ${g.detail.replace(/^missed:? ?/, '')}`} |`);
  out.push('');

  for (const s of r.scenarios) {
    out.push(`## ${s.id}: ${s.title}`, '');
    const total = s.metric === 'total_ms';
    out.push(`| server | ${total ? 'total ms | regs/s' : 'req/s'} | p50 ms | p90 ms | p99 ms | max ms | errors / timeouts / non-2xx | server CPU | server CPU µs per request | other CPU | per round (${total ? 'total ms' : s.metric === 'p99' ? 'p99 ms' : 'req/s'}) |`);
    out.push(`|---|${total ? '---:|---:' : '---:'}|---:|---:|---:|---:|---:|---:|---:|---:|---|`);
    for (const t of s.targets) {
      const x = t.median;
      const per = t.rounds.map((rr) => fmt(s.metric === 'rate' ? rr.rate : s.metric === 'p99' ? rr.latency_ms.p99 : rr.total_ms)).join(' / ');
      out.push(`| ${t.label} | ${total ? `${fmt(x.total_ms)} | ${fmt(x.rate)}` : fmt(x.rate)} | ${fmt(x.p50)} | ${fmt(x.p90)} | ${fmt(x.p99)} | ${fmt(x.max)} | ${x.errors} / ${x.timeouts} / ${x.non2xx} | ${fmt(x.server_cpu_pct)}% | ${total ? '–' : fmt(Math.round((x.server_cpu_pct / 100) * 1e6 / x.rate))} | ${fmt(x.other_cpu_pct)}% | ${per} |`);
    }
    const names: Record<string, string> = { peer: 'oidc-provider', lean: 'lean signer', 'mandate-pg': 'Mandate PG', 'mandate-pg-2n': 'Mandate PG ×2' };
    const rs = Object.entries(s.ratios).map(([k, v]) => `Mandate (SQLite) / ${names[k] ?? k} = **${fmt(v)}**`);
    if (rs.length) out.push('', `Ratios on ${s.metric === 'rate' ? 'req/s (higher is better for Mandate)' : s.metric === 'p99' ? 'p99 latency (lower is better for Mandate)' : 'total time (lower is better for Mandate)'}: ${rs.join(', ')}.`);
    if (s.skipped) for (const [k, why] of Object.entries(s.skipped)) out.push('', `${names[k] ?? k}: not run (${why}).`);
    const notes = [...new Set(s.targets.flatMap((t) => t.rounds.flatMap((rr) => rr.notes ?? [])))];
    if (notes.length) out.push('', ...notes.map((n) => `- ${n}`));
    out.push('');
  }

  if (r.soak) {
    const k = r.soak;
    const mm = k.measurement;
    out.push(
      `## soak: Mandate (SQLite), ${fmt(k.rate)}/s offered for ${k.duration_s} s (open loop, 64 connections)`,
      '',
      `Achieved ${fmt(mm.rate)}/s, p50 ${fmt(mm.latency_ms.p50)} ms, p99 ${fmt(mm.latency_ms.p99)} ms, max ${fmt(mm.latency_ms.max)} ms; errors / timeouts / non-2xx ${mm.errors} / ${mm.timeouts} / ${mm.non2xx}.`,
      '',
      '| | RSS | V8 heap used |',
      '|---|---:|---:|',
      `| start (before load) | ${mib(k.rss_start)} | ${mib(k.heap_start)} |`,
      `| baseline (after the first fifth, at most 60 s) | ${mib(k.rss_baseline)} | ${mib(k.heap_baseline)} |`,
      `| end | ${mib(k.rss_end)} | ${mib(k.heap_end)} |`,
      '',
      `RSS slope after the baseline: ${k.rss_slope_mib_per_min === null ? '–' : `${fmt(k.rss_slope_mib_per_min)} MiB/min`}. Samples (s, RSS MiB): ${k.samples.filter((_, i) => i % Math.max(1, Math.floor(k.samples.length / 12)) === 0).map(([t, rss]) => `${t}: ${rss === null ? '–' : fmt(round1(rss / 1048576))}`).join(', ')}.`,
      '',
    );
  }

  out.push('## Access tokens checked before measuring', '', '| server | alg | typ | bytes | claims |', '|---|---|---|---:|---|');
  for (const [k, c] of Object.entries(r.token_checks)) out.push(`| ${k} | ${c.alg} | ${c.typ} | ${c.bytes} | ${c.claims.join(' ')} |`);
  out.push('');
  return out.join('\n');
}

/** Appends the run to bench/results/<UTC date>.json (temp file + rename) and rewrites latest.md. */
export async function save(resultsDir: string, record: RunRecord, mdName = 'latest.md'): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `${record.timestamp.slice(0, 10)}.json`);
  const runs: unknown = existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) : [];
  if (!Array.isArray(runs)) throw new Error(`${file} is not a JSON array`);
  runs.push(record);
  await writeFile(`${file}.tmp`, JSON.stringify(runs, null, 2) + '\n');
  await rename(`${file}.tmp`, file);
  await writeFile(join(resultsDir, mdName), markdown(record));
  return file;
}
