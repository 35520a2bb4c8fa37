// Child processes (servers under test) and what /proc tells about them.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

export interface Started {
  child: ChildProcess;
  pid: number;
  match: RegExpExecArray;
  /** The last lines the process wrote (stdout and stderr), for a failure message. */
  tail(): string;
}

const children = new Set<ChildProcess>();

/**
 * Spawns `node <args>` and resolves once a stdout line matches `ready`. Rejects (and kills the
 * process) when it exits first or is not ready within `timeoutMs`.
 */
export function startProcess(opts: {
  name: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  ready: RegExp;
  timeoutMs?: number;
}): Promise<Started> {
  const child = spawn(process.execPath, opts.args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
    if (lines.length > 40) lines.shift();
  };
  const tail = () => lines.map((l) => `  [${opts.name}] ${l}`).join('\n');
  // Keep reading both pipes for the whole run: a full pipe would block the server.
  createInterface({ input: child.stderr! }).on('line', keep);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${opts.name} failed to start: ${why}\n${tail()}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code, signal) => fail(`exited before ready (code=${code}, signal=${signal})`));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      if (settled) return;
      const match = opts.ready.exec(line);
      if (!match) return;
      settled = true;
      clearTimeout(timer);
      resolve({ child, pid: child.pid!, match, tail });
    });
  });
}

/** SIGTERM, then wait for the exit (SIGKILL after `graceMs`). Resolves with the exit code. */
export async function stopProcess(child: ChildProcess, graceMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** Last resort on Ctrl-C or a crash: every server this harness started, by its own pid. */
export function killAllStarted(): void {
  for (const child of children) child.kill('SIGKILL');
}

export function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Resident set size of a process, in bytes (VmRSS in /proc/<pid>/status). */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time a process used so far (user + system), in clock ticks (USER_HZ, 100 on Linux). */
export function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  } catch {
    return 0;
  }
}

/** Busy and total ticks of the whole machine, from the first line of /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const n = line.trim().split(/\s+/).slice(1).map(Number);
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal (guest is counted in user)
    const idle = (n[3] ?? 0) + (n[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

const TICKS_PER_SECOND = 100;

export interface CpuWindow {
  /** Share of one core, in percent (200 = both cores of a 2-core machine). */
  server_pct: number;
  harness_pct: number;
  /** Everything else on the machine: other processes, PostgreSQL, the kernel. */
  other_pct: number;
}

/** Starts a CPU accounting window over the given server pids; call the result to close it. */
export function cpuWindow(serverPids: number[]): () => CpuWindow {
  const t0 = process.hrtime.bigint();
  const m0 = machineTicks();
  const s0 = serverPids.reduce((a, pid) => a + processTicks(pid), 0);
  const h0 = process.cpuUsage();
  return () => {
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const m1 = machineTicks();
    const server = (serverPids.reduce((a, pid) => a + processTicks(pid), 0) - s0) / TICKS_PER_SECOND;
    const h = process.cpuUsage(h0);
    const harness = (h.user + h.system) / 1e6;
    const busy = (m1.busy - m0.busy) / TICKS_PER_SECOND;
    const pct = (s: number) => Math.round((s / seconds) * 1000) / 10;
    return { server_pct: pct(server), harness_pct: pct(harness), other_pct: Math.max(0, pct(busy - server - harness)) };
  };
}

/**
 * Waits until the machine is quiet: busy CPU over a 500 ms sample below `maxBusyPct` (100 = one
 * core), for at most `maxWaitMs`. Returns how long it waited. Other test suites on a shared
 * machine come in bursts; measuring between them keeps the noise down.
 */
export async function waitQuiet(maxBusyPct: number, maxWaitMs: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const a = machineTicks();
    await new Promise((r) => setTimeout(r, 500));
    const b = machineTicks();
    const busyPct = ((b.busy - a.busy) / TICKS_PER_SECOND / 0.5) * 100;
    if (busyPct < maxBusyPct || Date.now() - t0 >= maxWaitMs) return Date.now() - t0;
  }
}

/** CPU ticks per thread of a process, by thread name (node's main thread is "node"; libuv's pool "libuv-worker"). */
export function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const key = tid === String(pid) ? 'main thread' : name;
      out.set(key, (out.get(key) ?? 0) + Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended
    }
  }
  return out;
}
