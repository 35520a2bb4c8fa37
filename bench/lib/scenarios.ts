// The scenarios of the scale issue (item 7), each run against its targets in alternation.
import { burst, chainedLoop, closedLoop, openLoop, type Measurement } from './load.js';
import { str, type Target, type TargetName } from './targets.js';

export interface Params {
  rounds: number;
  durationS: number;
  warmupS: number;
  /** Offered rate of the fixed-rate scenario (tokens/s). */
  rate: number;
  soakS: number;
  soakRate: number;
  registrations: number;
}

export type Metric = 'rate' | 'p99' | 'total_ms';

export interface Scenario {
  id: string;
  title: string;
  /** In the order of the first round; later rounds rotate it. */
  targets: TargetName[];
  /** What the ratios compare: throughput (higher is better) or a latency/time (lower is better). */
  metric: Metric;
  /**
   * Overload scenarios measure what would otherwise fail the run (a target of the issue): at 1,000
   * connections errors and timeouts; at a fixed offered rate above a server's capacity, the
   * requests that could not go out within 10 s of their due time (timeouts). Errors and non-2xx
   * answers still fail a `timeouts` scenario.
   */
  overload?: 'errors-and-timeouts' | 'timeouts';
  run(t: Target, p: Params): Promise<Measurement>;
}

const C64 = 64;

export const SCENARIOS: Scenario[] = [
  {
    id: 'cc-64',
    title: 'client_credentials, 64 connections, closed loop (autocannon)',
    targets: ['mandate', 'peer', 'lean'],
    metric: 'rate',
    run: (t, p) => closedLoop({ urls: t.urls, req: t.token, connections: C64, durationS: p.durationS, warmupS: p.warmupS }),
  },
  {
    id: 'cc-rate',
    title: 'client_credentials at a fixed offered rate over 64 connections, open loop (latency from intended send time)',
    targets: ['mandate', 'peer', 'lean'],
    metric: 'p99',
    overload: 'timeouts',
    run: (t, p) => openLoop({ urls: t.urls, req: t.token, rate: p.rate, connections: C64, durationS: p.durationS, warmupS: p.warmupS }),
  },
  {
    id: 'cc-1000',
    title: 'client_credentials, 1,000 connections, closed loop (autocannon, 10 s timeout)',
    targets: ['mandate', 'peer', 'lean'],
    metric: 'rate',
    overload: 'errors-and-timeouts',
    run: (t, p) => closedLoop({ urls: t.urls, req: t.token, connections: 1000, durationS: p.durationS, warmupS: p.warmupS }),
  },
  {
    id: 'introspect-64',
    title: 'introspection of a valid token, 64 connections, closed loop (autocannon)',
    targets: ['mandate', 'peer', 'lean'],
    metric: 'rate',
    run: (t, p) => closedLoop({ urls: t.urls, req: t.introspect, connections: C64, durationS: p.durationS, warmupS: p.warmupS }),
  },
  {
    id: 'register-1000',
    title: '1,000 concurrent self-registrations (POST /register, one connection each, one initial access token of 1,000 uses)',
    targets: ['mandate', 'mandate-pg', 'peer', 'lean'],
    metric: 'total_ms',
    run: async (t, p) => {
      const requests = await t.registrations(p.registrations);
      const m = await burst({ urls: t.urls, requests });
      // Every 2xx must be a registration: a client_id and a client_secret.
      const bad = m.bodies.filter((b) => {
        try {
          const o = JSON.parse(b) as Record<string, unknown>;
          return typeof o.client_id !== 'string' || typeof o.client_secret !== 'string';
        } catch {
          return true;
        }
      });
      if (m.ok > 0 && bad.length > m.non2xx) throw new Error(`${t.label}: registration answers without client_id/client_secret: ${bad[0]?.slice(0, 200)}`);
      const { bodies: _bodies, ...rest } = m;
      return rest;
    },
  },
  {
    id: 'refresh-64',
    title: 'session refresh (grant_type=refresh_token, rotating), 64 chains each on its own connection, closed loop',
    targets: ['mandate', 'mandate-pg', 'mandate-pg-2n', 'lean'],
    metric: 'rate',
    run: async (t, p) => {
      const s = t.sessions!;
      const initial = await s.start(C64);
      return chainedLoop({
        urls: t.urls,
        initial,
        request: (rt) => s.refresh(rt),
        next: (_rt, body) => str(JSON.parse(body) as Record<string, unknown>, 'refresh_token'),
        durationS: p.durationS,
        warmupS: p.warmupS,
      });
    },
  },
  {
    id: 'cc-64-storage',
    title: 'client_credentials, 64 connections: SQLite vs PostgreSQL, one node vs two (load split evenly)',
    targets: ['mandate', 'mandate-pg', 'mandate-pg-2n'],
    metric: 'rate',
    run: (t, p) => closedLoop({ urls: t.urls, req: t.token, connections: C64, durationS: p.durationS, warmupS: p.warmupS }),
  },
];

/** The soak: Mandate (SQLite) alone, a steady open-loop rate, memory sampled through the run. */
export interface SoakResult {
  rate: number;
  duration_s: number;
  measurement: Measurement;
  /** [seconds into the soak, RSS bytes, heap used bytes | null] */
  samples: [number, number | null, number | null][];
  rss_start: number | null;
  rss_baseline: number | null;
  rss_end: number | null;
  heap_start: number | null;
  heap_baseline: number | null;
  heap_end: number | null;
  /** Least-squares slope of RSS after the baseline, MiB per minute. */
  rss_slope_mib_per_min: number | null;
}
