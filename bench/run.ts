// `npm run bench`: every scenario of the scale issue against Mandate and two references
// (node-oidc-provider, and the lean signer), alternated round by round so machine noise hits all
// alike. See bench/README.md.
//
//   npm run bench                       full run (20-23 minutes)
//   npm run bench -- --quick            smoke run (short durations, one round; about 2.5 minutes)
//   npm run bench -- --only cc-64,soak  some scenarios (ids in bench/lib/scenarios.ts, and soak)
//   npm run bench -- --cpu-prof         profile Mandate under cc-64 instead (top self-time functions)
//   npm run bench -- --cpu-prof --profile-scenario introspect-64   ...or under introspection
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { closedLoop, openLoop } from './lib/load.js';
import { cpuWindow, killAllStarted, rssBytes, threadTicks, waitQuiet } from './lib/proc.js';
import { profileMarkdown, summarizeProfile } from './lib/profile.js';
import { evaluateGoals, fmt, ratios, save, summarize, type RoundResult, type RunRecord, type ScenarioRun, type TargetRun } from './lib/report.js';
import { SCENARIOS, type Params, type SoakResult } from './lib/scenarios.js';
import { round1 } from './lib/stats.js';
import { checkIntrospection, checkToken, pgReachable, startLean, startMandate, startPeer, type Target, type TargetName, type TokenCheck } from './lib/targets.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, 'bench', 'results');
const PAUSE_MS = 1000;
/** Before each measurement, wait (at most this long) for other processes' CPU use to drop. */
const QUIET_MAX_WAIT_MS = 30_000;
const QUIET_BUSY_PCT = 30;

const FULL: Params = { rounds: 3, durationS: 10, warmupS: 2, rate: 5000, soakS: 300, soakRate: 2000, registrations: 1000 };
const QUICK: Params = { rounds: 1, durationS: 3, warmupS: 1, rate: 5000, soakS: 15, soakRate: 2000, registrations: 1000 };

const { values: cli } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    rate: { type: 'string' },
    'soak-seconds': { type: 'string' },
    'soak-rate': { type: 'string' },
    only: { type: 'string' },
    'require-pg': { type: 'boolean', default: false },
    'pg-url': { type: 'string', default: process.env.MANDATE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    'skip-build': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    'profile-scenario': { type: 'string', default: 'cc-64' },
    'no-wait-quiet': { type: 'boolean', default: false },
  },
});

function int(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

const base = cli.quick ? QUICK : FULL;
const params: Params = {
  rounds: int('rounds', cli.rounds, base.rounds),
  durationS: int('duration', cli.duration, base.durationS),
  warmupS: int('warmup', cli.warmup, base.warmupS, 0),
  rate: int('rate', cli.rate, base.rate),
  soakS: int('soak-seconds', cli['soak-seconds'], base.soakS),
  soakRate: int('soak-rate', cli['soak-rate'], base.soakRate),
  registrations: base.registrations,
};
const customised = ['rounds', 'duration', 'warmup', 'rate', 'soak-seconds', 'soak-rate', 'only'].some((k) => cli[k as keyof typeof cli] !== undefined);
const mode: RunRecord['mode'] = customised ? 'custom' : cli.quick ? 'quick' : 'full';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => console.log(s);

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function version(pkg: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

function build(): void {
  if (cli['skip-build']) return;
  log('building the server (npm run -s build)...');
  try {
    execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
  } catch {
    throw new Error('the server does not build');
  }
}

const started: Target[] = [];

async function startTarget(name: TargetName, pgUrl: string): Promise<Target> {
  log(`starting ${name}...`);
  const t =
    name === 'lean' ? await startLean(root)
    : name === 'peer' ? await startPeer(root)
    : await startMandate({ root, name, db: name === 'mandate' ? 'sqlite' : 'pg', nodes: name === 'mandate-pg-2n' ? 2 : 1, pgAdminUrl: pgUrl });
  started.push(t);
  log(`  ${t.label} at ${t.urls.join(', ')} (pid ${t.pids.join(', ')})`);
  return t;
}

function rotate<T>(xs: T[], by: number): T[] {
  const k = by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

function describe(r: RoundResult, metric: string): string {
  const errs = r.errors + r.timeouts + r.non2xx ? `  errors/timeouts/non2xx ${r.errors}/${r.timeouts}/${r.non2xx}` : '';
  const main = metric === 'total_ms' ? `total ${fmt(r.total_ms)} ms` : `${fmt(r.rate)}/s`;
  return `${main}  p50 ${fmt(r.latency_ms.p50)}  p99 ${fmt(r.latency_ms.p99)}  max ${fmt(r.latency_ms.max)} ms  cpu server ${r.cpu.server_pct}% other ${r.cpu.other_pct}%${errs}`;
}

async function soak(t: Target, failures: string[]): Promise<SoakResult> {
  const pid = t.pids[0]!;
  const samples: SoakResult['samples'] = [];
  const every = Math.max(1, Math.round(params.soakS / 60));
  const rssStart = rssBytes(pid);
  const heapStart = await t.heapBytes();
  log(`soak: ${params.soakS} s at ${params.soakRate}/s against ${t.label}; RSS at start ${fmt(round1((rssStart ?? 0) / 1048576))} MiB`);
  const t0 = Date.now();
  const pending: Promise<void>[] = [];
  const timer = setInterval(() => {
    const at = Math.round((Date.now() - t0) / 1000);
    const rss = rssBytes(pid);
    pending.push(t.heapBytes().then((heap) => void samples.push([at, rss, heap])));
  }, every * 1000);
  const close = cpuWindow(t.pids);
  const m = await openLoop({ urls: t.urls, req: t.token, rate: params.soakRate, connections: 64, durationS: params.soakS, warmupS: 0 }).finally(() => clearInterval(timer));
  const cpu = close();
  await Promise.all(pending);
  samples.push([Math.round((Date.now() - t0) / 1000), rssBytes(pid), await t.heapBytes()]);
  samples.sort((a, b) => a[0] - b[0]);
  const baseAt = Math.min(60, params.soakS / 5);
  const baseline = samples.find(([s]) => s >= baseAt) ?? samples[0]!;
  const end = samples[samples.length - 1]!;
  const after = samples.filter(([s, rss]) => s >= baseline[0] && rss !== null) as [number, number, number | null][];
  let slope: number | null = null;
  if (after.length >= 3) {
    const n = after.length;
    const mx = after.reduce((a, [s]) => a + s, 0) / n;
    const my = after.reduce((a, [, r]) => a + r, 0) / n;
    const sxy = after.reduce((a, [s, r]) => a + (s - mx) * (r - my), 0);
    const sxx = after.reduce((a, [s]) => a + (s - mx) ** 2, 0);
    slope = sxx > 0 ? round1(((sxy / sxx) * 60) / 1048576) : null;
  }
  if (m.errors + m.timeouts + m.non2xx > 0) failures.push(`soak: ${m.errors} errors, ${m.timeouts} timeouts, ${m.non2xx} non-2xx (${JSON.stringify(m.status_codes)})`);
  log(`  achieved ${fmt(m.rate)}/s p99 ${fmt(m.latency_ms.p99)} ms; RSS baseline ${fmt(round1((baseline[1] ?? 0) / 1048576))} MiB → end ${fmt(round1((end[1] ?? 0) / 1048576))} MiB; server CPU ${cpu.server_pct}%`);
  return {
    rate: params.soakRate,
    duration_s: params.soakS,
    measurement: m,
    samples,
    rss_start: rssStart,
    rss_baseline: baseline[1],
    rss_end: end[1],
    heap_start: heapStart,
    heap_baseline: baseline[2],
    heap_end: end[2],
    rss_slope_mib_per_min: slope,
  };
}

async function benchmark(): Promise<number> {
  const only = cli.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Set([...SCENARIOS.map((s) => s.id), 'soak']);
  for (const id of only ?? []) if (!known.has(id)) throw new Error(`--only: unknown scenario ${id}; known: ${[...known].join(', ')}`);
  const scenarios = SCENARIOS.filter((s) => !only || only.includes(s.id));
  const doSoak = !only || only.includes('soak');
  const notes: string[] = [];
  const failures: string[] = [];
  const loadStart = os.loadavg().map((x) => round1(x));
  const timestamp = new Date().toISOString();

  const needed = new Set<TargetName>(scenarios.flatMap((s) => s.targets));
  if (doSoak) needed.add('mandate');
  const pgTargets: TargetName[] = ['mandate-pg', 'mandate-pg-2n'];
  let pgSkip: string | undefined;
  if (pgTargets.some((t) => needed.has(t))) {
    const why = await pgReachable(cli['pg-url']);
    if (why !== null) {
      if (cli['require-pg']) throw new Error(`PostgreSQL at ${cli['pg-url']} is unreachable (${why}) and --require-pg was given`);
      pgSkip = `PostgreSQL at ${cli['pg-url']} unreachable: ${why}`;
      notes.push(`PostgreSQL scenarios skipped: ${pgSkip}`);
      log(`NOTE: ${pgSkip}; the PostgreSQL targets are skipped (--require-pg makes this an error)`);
      for (const t of pgTargets) needed.delete(t);
    }
  }

  build();
  const targets = new Map<TargetName, Target>();
  const order: TargetName[] = ['lean', 'peer', 'mandate', 'mandate-pg', 'mandate-pg-2n'];
  for (const name of order) if (needed.has(name)) targets.set(name, await startTarget(name, cli['pg-url']));
  for (const t of targets.values()) {
    const n = (t as Target & { setup_notes?: string[] }).setup_notes;
    if (n?.length) notes.push(`${t.label}: roles created with ${n.join('; ')}`);
  }

  // Pre-flight: every target issues a valid ES256 JWT with the same claims, and introspects it.
  const tokenChecks: Record<string, TokenCheck> = {};
  for (const t of targets.values()) {
    t.token_check = await checkToken(t);
    tokenChecks[t.label] = t.token_check;
    if (scenarios.some((s) => s.id === 'introspect-64')) await checkIntrospection(t);
  }
  log('pre-flight: every server issued a valid ES256 at+jwt with the expected claims');

  const runs: ScenarioRun[] = [];
  let waited = 0;
  for (const s of scenarios) {
    log(`\n== ${s.id}: ${s.title}`);
    const present = s.targets.filter((n) => targets.has(n));
    const skipped: Record<string, string> = {};
    for (const n of s.targets) if (!targets.has(n)) skipped[n] = pgSkip ?? 'not started';
    const rounds = new Map<TargetName, RoundResult[]>(present.map((n) => [n, []]));
    const broken = new Set<TargetName>();
    for (let r = 1; r <= params.rounds; r++) {
      for (const name of rotate(present, r - 1)) {
        if (broken.has(name)) continue;
        const t = targets.get(name)!;
        if (!t.alive()) throw new Error(`${t.label} is no longer running`);
        if (!cli['no-wait-quiet']) waited += await waitQuiet(QUIET_BUSY_PCT, QUIET_MAX_WAIT_MS);
        const close = cpuWindow(t.pids);
        let m;
        try {
          m = await s.run(t, params);
        } catch (err) {
          failures.push(`${s.id} / ${t.label}: ${(err as Error).message}`);
          log(`  round ${r} ${t.label.padEnd(30)} FAILED: ${(err as Error).message}`);
          broken.add(name);
          continue;
        }
        const rr: RoundResult = { ...m, round: r, cpu: close() };
        rounds.get(name)!.push(rr);
        log(`  round ${r} ${t.label.padEnd(30)} ${describe(rr, s.metric)}`);
        if (!t.alive()) throw new Error(`${t.label} died during ${s.id}`);
        const fatal = rr.errors + rr.non2xx + (s.overload === undefined ? rr.timeouts : 0)
        if (s.overload !== 'errors-and-timeouts' && fatal > 0) {
          failures.push(`${s.id} / ${t.label} round ${r}: ${rr.errors} errors, ${rr.timeouts} timeouts, ${rr.non2xx} non-2xx (status codes ${JSON.stringify(rr.status_codes)})${rr.notes ? `; ${rr.notes.join('; ')}` : ''}`);
        }
        await sleep(PAUSE_MS);
      }
    }
    const trs: TargetRun[] = present.filter((n) => rounds.get(n)!.length > 0).map((n) => ({ target: n, label: targets.get(n)!.label, rounds: rounds.get(n)!, median: summarize(rounds.get(n)!) }));
    const run: ScenarioRun = { id: s.id, title: s.title, metric: s.metric, overload: !!s.overload, targets: trs, ratios: ratios(trs, s.metric), ...(Object.keys(skipped).length ? { skipped } : {}) };
    runs.push(run);
    const rs = Object.entries(run.ratios).map(([k, v]) => `Mandate/${k} ${fmt(v)}`).join(', ');
    log(`  medians: ${trs.map((t) => `${t.label} ${s.metric === 'rate' ? `${fmt(t.median.rate)}/s` : s.metric === 'p99' ? `p99 ${fmt(t.median.p99)} ms` : `${fmt(t.median.total_ms)} ms`}`).join(' | ')}${rs ? `\n  ratios (${s.metric}): ${rs}` : ''}`);
  }

  let soakResult: SoakResult | undefined;
  if (doSoak) {
    log('');
    soakResult = await soak(targets.get('mandate')!, failures);
  }

  for (const t of [...started].reverse()) await t.stop();
  started.length = 0;

  if (waited > 0) notes.push(`waited ${Math.round(waited / 1000)} s in all for the machine to quiet down (other processes under ${QUIET_BUSY_PCT}% of a core, at most ${QUIET_MAX_WAIT_MS / 1000} s before each measurement)`);
  const others = runs.flatMap((s) => s.targets.flatMap((t) => t.rounds.map((r) => r.cpu.other_pct)));
  const busy = others.filter((x) => x > 25).length;
  if (busy) notes.push(`the machine was not idle: ${busy} of ${others.length} measurements saw more than 25% of a core used by other processes (see "other CPU"; PostgreSQL's own work counts there for the PG targets)`);
  const cpus = os.cpus();
  const status = git(['status', '--porcelain']);
  const goals = evaluateGoals(runs, soakResult);
  const record: RunRecord = {
    schema: 2,
    timestamp,
    finished: new Date().toISOString(),
    git_commit: git(['rev-parse', 'HEAD']),
    git_dirty: status === null ? null : status !== '',
    machine: { cpu_model: cpus[0]?.model.trim() ?? 'unknown', cpu_cores: cpus.length, node: process.version, platform: `${os.platform()} ${os.release()}`, arch: os.arch(), loadavg_start: loadStart, loadavg_end: os.loadavg().map((x) => round1(x)) },
    mode,
    params,
    versions: { 'oidc-provider': version('oidc-provider'), fastify: version('fastify'), jose: version('jose'), undici: version('undici'), autocannon: version('autocannon') },
    notes,
    token_checks: tokenChecks,
    scenarios: runs,
    ...(soakResult ? { soak: soakResult } : {}),
    goals,
    failures,
  };
  const file = await save(resultsDir, record, mode === 'full' ? 'latest.md' : `latest-${mode}.md`);

  log('\n== targets (issue item 8)');
  for (const g of goals) log(`  ${g.met === null ? '  –  ' : g.met ? ' met ' : 'MISSED'}  ${g.text}: ${g.value === null ? '–' : `${fmt(g.value)}${g.unit}`}${g.met === false ? ` (${g.detail})` : ''}`);
  log('\n== ratios (Mandate on SQLite / reference, medians)');
  for (const s of runs) if (Object.keys(s.ratios).length) log(`  ${s.id.padEnd(15)} ${Object.entries(s.ratios).map(([k, v]) => `/${k} ${fmt(v)}`).join('   ')}   (${s.metric}${s.metric === 'rate' ? ', higher is better' : ', lower is better'})`);
  log(`\nresults: ${file}, bench/results/${mode === 'full' ? 'latest.md' : `latest-${mode}.md`}`);
  if (failures.length) {
    console.error(`\nBENCH FAILED: ${failures.length} problem(s):\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    return 1;
  }
  return 0;
}

/** What --cpu-prof can drive: the closed-loop, 64-connection scenarios. */
const PROFILED = { 'cc-64': { what: 'client_credentials', req: (t: Target) => t.token }, 'introspect-64': { what: 'introspection', req: (t: Target) => t.introspect } } as const;

/** --cpu-prof: Mandate (SQLite) under cc-64 (or --profile-scenario) with V8's sampling profiler, summarised. */
async function profile(): Promise<number> {
  const scenario = cli['profile-scenario'] as keyof typeof PROFILED;
  if (!(scenario in PROFILED)) throw new Error(`--profile-scenario must be one of ${Object.keys(PROFILED).join(', ')}`);
  const { what, req } = PROFILED[scenario];
  build();
  const dir = join(resultsDir, 'profiles');
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const name = `mandate-${scenario}-${stamp}.cpuprofile`;
  const t = await startMandate({ root, name: 'mandate', db: 'sqlite', nodes: 1, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', name] });
  started.push(t);
  await checkToken(t);
  if (scenario === 'introspect-64') await checkIntrospection(t);
  log(`profiling ${t.label} under ${scenario} for ${params.durationS} s (after ${params.warmupS} s warm-up)...`);
  // Per-thread CPU over the whole run (warm-up included): main thread vs worker threads vs libuv's pool.
  const before = threadTicks(t.pids[0]!);
  const t0 = Date.now();
  const m = await closedLoop({ urls: t.urls, req: req(t), connections: 64, durationS: params.durationS, warmupS: params.warmupS });
  const seconds = (Date.now() - t0) / 1000;
  const threads = [...threadTicks(t.pids[0]!)].map(([k, v]) => [k, Math.round((v - (before.get(k) ?? 0)) / seconds)] as const).filter(([, pct]) => pct > 0).sort((a, b) => b[1] - a[1]);
  log(`  ${fmt(m.rate)}/s p99 ${fmt(m.latency_ms.p99)} ms (profiling slows the server)`);
  log(`  server CPU by thread (% of one core): ${threads.map(([k, v]) => `${k} ${v}%`).join(', ')}`);
  await t.stop();
  started.length = 0;
  const file = readdirSync(dir).find((f) => f === name);
  if (!file) throw new Error(`no profile written to ${dir}`);
  const summary = await summarizeProfile(join(dir, file), 40);
  const md =
    profileMarkdown(`CPU profile: Mandate (SQLite) under ${what}, 64 connections (${new Date().toISOString()}, ${fmt(m.rate)} requests/s while profiled)`, summary) +
    `\nServer CPU by thread during the run (% of one core): ${threads.map(([k, v]) => `${k} ${v}%`).join(', ')}.\n`;
  await writeFile(join(resultsDir, scenario === 'cc-64' ? 'profile-latest.md' : `profile-${scenario}.md`), md);
  log('\ntop self time by area:');
  for (const r of summary.areas.slice(0, 12)) log(`  ${String(r.self_pct).padStart(5)}%  ${r.name}`);
  log('\ntop functions by self time:');
  for (const r of summary.functions.slice(0, 20)) log(`  ${String(r.self_pct).padStart(5)}%  ${r.name}  ${r.where}`);
  log(`\nprofile: ${join(dir, file)} (open in Chrome DevTools); summary: bench/results/profile-latest.md`);
  return 0;
}

// Ctrl-C: stop the servers cleanly (dropping the PostgreSQL databases), then anything left.
process.once('SIGINT', () => {
  void Promise.race([Promise.all(started.map((t) => t.stop().catch(() => {}))), sleep(20_000)]).finally(() => {
    killAllStarted();
    process.exit(130);
  });
});

let code = 1;
try {
  code = cli['cpu-prof'] ? await profile() : await benchmark();
} catch (err) {
  console.error('\nBENCH FAILED:', err instanceof Error ? err.message : err);
  code = 1;
} finally {
  for (const t of started) await t.stop().catch(() => {});
}
process.exit(code);
