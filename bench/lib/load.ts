// Load generators. Four shapes:
// - closedLoop: autocannon, N connections each sending as soon as its last answer arrived
//   (maximum throughput). Latency from autocannon (1 ms resolution).
// - openLoop: a fixed offered rate, sends evenly spaced over N connections (undici Pool),
//   whatever the answers do; latency measured from each request's *intended* send time, so
//   time spent queued (in the generator or the server) shows up. autocannon -R is not used: it
//   sends each second's quota in a burst, and measures from the actual send.
// - chainedLoop: N closed loops (one undici Client each) whose next request depends on the last
//   answer (refresh-token rotation: each chain carries its own token sequence).
// - burst: N requests at once over N connections (undici Pool), total time to the last answer.
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { Client, Pool } from 'undici';
import { summarize, type Latency, round1, Samples } from './stats.js';

export interface Measurement {
  /** 2xx answers per second over the measured window (for burst: requests / total time). */
  rate: number;
  /** Offered rate, for the open loop. */
  offered_rate?: number;
  requests: number;
  ok: number;
  non2xx: number;
  /** Connection-level errors other than timeouts (resets, refused). */
  errors: number;
  timeouts: number;
  status_codes: Record<string, number>;
  latency_ms: Latency;
  duration_s: number;
  /** Burst only: first send to last answer. */
  total_ms?: number;
  /** Open loop only: 2xx answers completed in each second of the measured pass. */
  per_second?: number[];
  /** Open loop only: how late the generator itself sent a request (ms); large = generator starved. */
  send_lag_ms?: { p99: number; max: number };
  notes?: string[];
}

export interface RequestSpec {
  method: 'POST' | 'GET';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function bump(codes: Record<string, number>, code: number | string, n = 1): void {
  codes[String(code)] = (codes[String(code)] ?? 0) + n;
}

function isTimeout(err: unknown): boolean {
  const { code, name } = err as { code?: unknown; name?: unknown };
  // AbortSignal.timeout() rejects with a DOMException named TimeoutError.
  return name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
}

/** autocannon over one URL per node, connections split evenly, run side by side. */
export async function closedLoop(opts: {
  urls: string[];
  req: RequestSpec;
  connections: number;
  durationS: number;
  warmupS: number;
  timeoutS?: number;
}): Promise<Measurement> {
  const per = Math.ceil(opts.connections / opts.urls.length);
  const results = await Promise.all(
    opts.urls.map((url) =>
      autocannon({
        url: url + opts.req.path,
        method: opts.req.method,
        headers: opts.req.headers,
        ...(opts.req.body === undefined ? {} : { body: opts.req.body }),
        connections: per,
        duration: opts.durationS,
        timeout: opts.timeoutS ?? 10,
        ...(opts.warmupS > 0 ? { warmup: { connections: per, duration: opts.warmupS } } : {}),
      }),
    ),
  );
  const codes: Record<string, number> = {};
  let ok = 0, non2xx = 0, errors = 0, timeouts = 0, total = 0, duration = 0, meanWeighted = 0;
  for (const r of results) {
    for (const [code, { count }] of Object.entries(r.statusCodeStats)) bump(codes, code, count);
    ok += r['2xx'];
    non2xx += r.non2xx;
    timeouts += r.timeouts;
    errors += r.errors - r.timeouts;
    total += r.requests.total;
    duration = Math.max(duration, r.duration);
    meanWeighted += r.latency.mean * r.requests.total;
  }
  // Two autocannon instances give two histograms; their percentiles cannot be merged exactly,
  // so each percentile is the worse of the two (the load is split evenly, so they are close).
  const worst = (k: 'p50' | 'p90' | 'p99' | 'max') => Math.max(...results.map((r) => r.latency[k]));
  return {
    rate: Math.round(ok / duration),
    requests: total,
    ok,
    non2xx,
    errors,
    timeouts,
    status_codes: codes,
    latency_ms: { p50: worst('p50'), p90: worst('p90'), p99: worst('p99'), max: worst('max'), mean: round1(total ? meanWeighted / total : NaN) },
    duration_s: round1(duration),
    ...(results.length > 1 ? { notes: ['latency percentiles: the worse of the per-node autocannon instances'] } : {}),
  };
}

/**
 * One open-loop pass; returns raw tallies. Requests wait in the generator's own FIFO (per node)
 * until one of that node's connections is free, so undici never queues and a request never sits
 * on a connection it is not using. A request that has waited `timeoutMs` past its intended send
 * time is dropped unsent and counted as a timeout: it would be abandoned by any client, and
 * aborting requests in flight instead would make undici close the connection, turning an
 * overload into a reconnection storm that measures the generator rather than the server.
 */
async function openLoopPass(pools: Pool[], perPool: number, req: RequestSpec, rate: number, durationS: number, timeoutMs: number, record: boolean) {
  const interval = 1000 / rate;
  const total = Math.round(rate * durationS);
  const latencies = new Samples();
  const lags = new Samples();
  const codes: Record<string, number> = {};
  let ok = 0, non2xx = 0, errors = 0, timeouts = 0, done = 0, lastDone = 0;
  let resolveAll!: () => void;
  const allDone = new Promise<void>((r) => (resolveAll = r));
  const queues = pools.map(() => ({ items: [] as number[], head: 0, free: perPool }));
  const perSecond: number[] = [];
  const t0 = performance.now() + 5;

  const finish = () => {
    lastDone = performance.now();
    if (++done === total) resolveAll();
  };
  const pump = (p: number) => {
    const q = queues[p]!;
    while (q.free > 0 && q.head < q.items.length) {
      const intended = q.items[q.head++]!;
      const now = performance.now();
      if (now - intended > timeoutMs) {
        timeouts++;
        finish();
        continue;
      }
      q.free--;
      pools[p]!
        .request({ method: req.method, path: req.path, headers: req.headers, body: req.body ?? null })
        .then(async (res) => {
          await res.body.dump();
          const latency = performance.now() - intended;
          bump(codes, res.statusCode);
          if (res.statusCode >= 200 && res.statusCode < 300) {
            ok++;
            const sec = Math.floor((performance.now() - t0) / 1000);
            perSecond[sec] = (perSecond[sec] ?? 0) + 1;
          } else non2xx++;
          if (record) latencies.push(latency);
        })
        .catch((err: unknown) => {
          if (isTimeout(err)) timeouts++;
          else errors++;
        })
        .finally(() => {
          q.free++;
          finish();
          pump(p);
        });
    }
    if (q.head > 65_536) {
      q.items = q.items.slice(q.head);
      q.head = 0;
    }
  };

  let i = 0;
  await new Promise<void>((resolveSent) => {
    const tick = () => {
      const now = performance.now();
      while (i < total && t0 + i * interval <= now) {
        lags.push(now - (t0 + i * interval)); // the generator's own lateness (timer granularity, a busy loop)
        queues[i % pools.length]!.items.push(t0 + i * interval);
        i++;
      }
      for (let p = 0; p < pools.length; p++) pump(p);
      if (i >= total) return resolveSent();
      setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
    };
    setTimeout(tick, 5);
  });
  // Requests still queued when the sends end are drained by completions (or dropped by age).
  const drain = setInterval(() => pools.forEach((_, p) => pump(p)), 100);
  await allDone.finally(() => clearInterval(drain));
  const lag = summarize(lags.values());
  return { latencies, codes, ok, non2xx, errors, timeouts, total, elapsedMs: Math.max(lastDone - t0, durationS * 1000), lag, perSecond: Array.from(perSecond, (x) => x ?? 0) };
}

/** Fixed offered rate, evenly spaced, latency from the intended send time. */
export async function openLoop(opts: {
  urls: string[];
  req: RequestSpec;
  rate: number;
  connections: number;
  durationS: number;
  warmupS: number;
  timeoutMs?: number;
}): Promise<Measurement> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const per = Math.ceil(opts.connections / opts.urls.length);
  // In-flight requests time out at timeoutMs too (undici then closes that connection).
  const pools = opts.urls.map((u) => new Pool(u, { connections: per, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }));
  try {
    if (opts.warmupS > 0) await openLoopPass(pools, per, opts.req, opts.rate, opts.warmupS, timeoutMs, false);
    const r = await openLoopPass(pools, per, opts.req, opts.rate, opts.durationS, timeoutMs, true);
    return {
      rate: Math.round(r.ok / (r.elapsedMs / 1000)),
      offered_rate: opts.rate,
      requests: r.total,
      ok: r.ok,
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
      status_codes: r.codes,
      latency_ms: summarize(r.latencies.values()),
      duration_s: round1(r.elapsedMs / 1000),
      send_lag_ms: { p99: r.lag.p99, max: r.lag.max },
      per_second: r.perSecond,
    };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}

/**
 * N chains, each a closed loop on its own connection: `next(state, body)` turns an answer into
 * the next request's state. A chain whose request fails stops (its state is lost).
 */
export async function chainedLoop<S>(opts: {
  urls: string[];
  initial: S[];
  request: (state: S) => RequestSpec;
  next: (state: S, body: string) => S;
  durationS: number;
  warmupS: number;
  timeoutMs?: number;
}): Promise<Measurement> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const clients = opts.initial.map((_, i) => new Client(opts.urls[i % opts.urls.length]!, { pipelining: 1, keepAliveTimeout: 60_000 }));
  const latencies = new Samples();
  const codes: Record<string, number> = {};
  let ok = 0, non2xx = 0, errors = 0, timeouts = 0, requests = 0;
  const start = performance.now();
  const measureFrom = start + opts.warmupS * 1000;
  const end = measureFrom + opts.durationS * 1000;
  const failures: string[] = [];
  try {
    await Promise.all(
      opts.initial.map(async (initial, i) => {
        const client = clients[i]!;
        let state = initial;
        while (performance.now() < end) {
          const req = opts.request(state);
          const t = performance.now();
          const measured = t >= measureFrom;
          try {
            const res = await client.request({ method: req.method, path: req.path, headers: req.headers, body: req.body ?? null, signal: AbortSignal.timeout(timeoutMs) });
            const body = await res.body.text();
            if (!measured) {
              if (res.statusCode !== 200) throw new Error(`warm-up: ${res.statusCode} ${body.slice(0, 200)}`);
              state = opts.next(state, body);
              continue;
            }
            requests++;
            latencies.push(performance.now() - t);
            bump(codes, res.statusCode);
            if (res.statusCode >= 200 && res.statusCode < 300) {
              ok++;
              state = opts.next(state, body);
            } else {
              non2xx++;
              if (failures.length < 3) failures.push(`${res.statusCode} ${body.slice(0, 200)}`);
              return;
            }
          } catch (err) {
            if (measured) requests++;
            if (isTimeout(err)) timeouts++;
            else errors++;
            if (failures.length < 3) failures.push((err as Error).message);
            return;
          }
        }
      }),
    );
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
  const duration = (Math.min(performance.now(), end) - measureFrom) / 1000;
  return {
    rate: Math.round(ok / Math.max(duration, 0.001)),
    requests,
    ok,
    non2xx,
    errors,
    timeouts,
    status_codes: codes,
    latency_ms: summarize(latencies.values()),
    duration_s: round1(duration),
    ...(failures.length ? { notes: failures.map((f) => `chain stopped: ${f}`) } : {}),
  };
}

/** N requests at once, each on its own connection (new connections: part of the cost). */
export async function burst(opts: { urls: string[]; requests: RequestSpec[]; timeoutMs?: number }): Promise<Measurement & { bodies: string[] }> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const n = opts.requests.length;
  const per = Math.ceil(n / opts.urls.length);
  const pools = opts.urls.map((u) => new Pool(u, { connections: per, pipelining: 1 }));
  const latencies = new Samples();
  const codes: Record<string, number> = {};
  const bodies: string[] = [];
  let ok = 0, non2xx = 0, errors = 0, timeouts = 0;
  const t0 = performance.now();
  let last = t0;
  try {
    await Promise.all(
      opts.requests.map(async (req, i) => {
        try {
          const res = await pools[i % pools.length]!.request({ method: req.method, path: req.path, headers: req.headers, body: req.body ?? null, signal: AbortSignal.timeout(timeoutMs) });
          const body = await res.body.text();
          const now = performance.now();
          last = Math.max(last, now);
          latencies.push(now - t0);
          bump(codes, res.statusCode);
          if (res.statusCode >= 200 && res.statusCode < 300) {
            ok++;
            bodies.push(body);
          } else {
            non2xx++;
            if (non2xx <= 3) bodies.push(body);
          }
        } catch (err) {
          if (isTimeout(err)) timeouts++;
          else errors++;
        }
      }),
    );
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
  const totalMs = last - t0;
  return {
    rate: Math.round(ok / (totalMs / 1000)),
    requests: n,
    ok,
    non2xx,
    errors,
    timeouts,
    status_codes: codes,
    latency_ms: summarize(latencies.values()),
    duration_s: round1(totalMs / 1000),
    total_ms: round1(totalMs),
    bodies,
  };
}
