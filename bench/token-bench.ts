// Token endpoint throughput bench: builds the server, starts it on a random
// port with a throwaway SQLite database, registers one confidential client and
// hammers POST /token (client_credentials) with autocannon.
//
// Usage: npm run bench [-- --duration 10 --connections 64]
// Results: printed, appended to bench/results/<date>.json, and summarised in
// bench/results/latest.md.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = join(root, 'bench', 'results');
const WARMUP_SECONDS = 2;
const READY_TIMEOUT_MS = 30_000;

interface RunRecord {
  timestamp: string;
  git_commit: string | null;
  git_dirty: boolean | null;
  machine: { cpu_model: string; cpu_cores: number; node: string; platform: string; arch: string };
  params: {
    endpoint: string;
    body: string;
    connections: number;
    duration_s: number;
    warmup_s: number;
  };
  results: {
    tokens_per_s: number;
    latency_ms: { p50: number; p90: number; p99: number; mean: number; max: number };
    responses_2xx: number;
  };
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

let server: ChildProcess | undefined;
let tmpDir: string | undefined;

/** Starts the built server and resolves with its issuer URL once it logs readiness. */
function startServer(adminToken: string, dir: string): Promise<string> {
  const child = spawn(
    process.execPath,
    ['packages/server/dist/cli/main.js', 'serve', '--port', '0', '--db', join(dir, 'bench.db'), '--data-dir', dir],
    {
      cwd: root,
      env: { ...process.env, MANDATE_ADMIN_TOKEN: adminToken, MANDATE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  server = child;
  return new Promise((resolve, reject) => {
    // Settle once; the timer must not outlive the outcome or it keeps the process alive.
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`server not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`server exited before ready (code=${code}, signal=${signal})`)));
    // Keep reading stdout for the whole run: a full pipe would block the server.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      process.stderr.write(`[server] ${line}\n`);
      if (!line.includes('Mandate ready')) return;
      // Stop at quotes/commas too, in case the line is structured (JSON) log output.
      const match = /issuer=(https?:\/\/[^\s"',]+)/.exec(line);
      if (!match?.[1]) return fail(new Error(`cannot parse issuer from ready line: ${line}`));
      clearTimeout(timer);
      resolve(match[1].replace(/\/+$/, ''));
    });
  });
}

/** SIGTERM, then wait for exit (SIGKILL if it takes longer than 10 s). */
async function stopServer(): Promise<void> {
  const child = server;
  server = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function postJson(url: string, bearer: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url} -> ${res.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function stringField(obj: Record<string, unknown>, key: string): string {
  const value = obj[key];
  if (typeof value !== 'string' || value === '') throw new Error(`response has no string "${key}": ${JSON.stringify(obj)}`);
  return value;
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null; // no git, or no commit yet
  }
}

/** Appends to today's JSON array via a temp file + rename, so a crash never leaves half a file. */
async function saveResults(record: RunRecord): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const file = join(resultsDir, `${record.timestamp.slice(0, 10)}.json`);
  const runs: unknown[] = existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as unknown[]) : [];
  if (!Array.isArray(runs)) throw new Error(`${file} is not a JSON array`);
  runs.push(record);
  await writeFile(`${file}.tmp`, JSON.stringify(runs, null, 2) + '\n');
  await rename(`${file}.tmp`, file);

  const r = record.results;
  const m = record.machine;
  const commit = record.git_commit ? `${record.git_commit.slice(0, 12)}${record.git_dirty ? ' (dirty)' : ''}` : 'none';
  const md = [
    '# Latest token bench',
    '',
    `${record.timestamp}, commit ${commit}`,
    `${m.cpu_model} × ${m.cpu_cores} cores, Node ${m.node}, ${m.platform}/${m.arch}`,
    `\`${record.params.endpoint}\` \`${record.params.body}\`, ${record.params.connections} connections, ` +
      `${record.params.duration_s} s after ${record.params.warmup_s} s warm-up`,
    '',
    '| tokens/s | p50 ms | p90 ms | p99 ms |',
    '|---:|---:|---:|---:|',
    `| ${r.tokens_per_s} | ${r.latency_ms.p50} | ${r.latency_ms.p90} | ${r.latency_ms.p99} |`,
    '',
  ].join('\n');
  await writeFile(join(resultsDir, 'latest.md'), md);
  return file;
}

async function main(): Promise<void> {
  const { values: cli } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '64' },
    },
  });
  const duration = positiveInt('duration', cli.duration);
  const connections = positiveInt('connections', cli.connections);

  console.log('building server...');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });

  tmpDir = await mkdtemp(join(os.tmpdir(), 'mandate-bench-'));
  const adminToken = randomBytes(32).toString('base64url'); // 43 chars
  const issuer = await startServer(adminToken, tmpDir);
  console.log(`server ready at ${issuer}`);

  // One role, one initial access token, one client: the minimum to get a client secret.
  await postJson(`${issuer}/admin/roles`, adminToken, { name: 'bench', scopes: ['read', 'write'], token_ttl_seconds: 300 });
  const iat = stringField(
    await postJson(`${issuer}/admin/roles/bench/initial-access-tokens`, adminToken, { uses: 1, expires_in: 600 }),
    'token',
  );
  const client = await postJson(`${issuer}/register`, iat, { client_name: 'bench agent', scope: 'read write' });
  const clientId = stringField(client, 'client_id');
  const clientSecret = stringField(client, 'client_secret');

  // RFC 6749 §2.3.1: form-urlencode id and secret before Basic-encoding them.
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64');
  const headers = { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` };
  const body = 'grant_type=client_credentials&scope=read';

  // One request by hand first: autocannon only counts failures, this shows why.
  const probe = await fetch(`${issuer}/token`, { method: 'POST', headers, body });
  if (!probe.ok) throw new Error(`POST /token -> ${probe.status}: ${await probe.text()}`);

  console.log(`warm-up ${WARMUP_SECONDS} s, then ${duration} s with ${connections} connections...`);
  const result = await autocannon({
    url: `${issuer}/token`,
    method: 'POST',
    connections,
    duration,
    headers,
    body,
    warmup: { connections, duration: WARMUP_SECONDS },
  });

  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `${result.non2xx} non-2xx responses and ${result.errors} errors (${result.timeouts} timeouts); ` +
        `status codes: ${JSON.stringify(result.statusCodeStats)}`,
    );
  }

  const cpus = os.cpus();
  const gitStatus = git(['status', '--porcelain']); // non-empty: uncommitted changes
  const record: RunRecord = {
    timestamp: new Date().toISOString(),
    git_commit: git(['rev-parse', 'HEAD']),
    git_dirty: gitStatus === null ? null : gitStatus !== '',
    machine: {
      cpu_model: cpus[0]?.model.trim() ?? 'unknown',
      cpu_cores: cpus.length,
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      arch: os.arch(),
    },
    params: { endpoint: 'POST /token', body, connections, duration_s: duration, warmup_s: WARMUP_SECONDS },
    results: {
      // Every response was 2xx (checked above), so requests/s is tokens/s.
      tokens_per_s: result.requests.mean,
      latency_ms: {
        p50: result.latency.p50,
        p90: result.latency.p90,
        p99: result.latency.p99,
        mean: result.latency.mean,
        max: result.latency.max,
      },
      responses_2xx: result['2xx'],
    },
  };

  const { machine: m, results: r } = record;
  console.log(`\nmachine:  ${m.cpu_model}, ${m.cpu_cores} cores, node ${m.node}`);
  console.log(`tokens/s: ${r.tokens_per_s}`);
  console.log(`latency:  p50 ${r.latency_ms.p50} ms, p90 ${r.latency_ms.p90} ms, p99 ${r.latency_ms.p99} ms`);
  const file = await saveResults(record);
  console.log(`results:  ${file}, bench/results/latest.md`);
}

async function cleanup(): Promise<void> {
  await stopServer();
  if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
}

// Ctrl-C: still take the server down and remove the temp dir.
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

try {
  await main();
} catch (err) {
  console.error('\nBENCH FAILED:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
