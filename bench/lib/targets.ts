// The servers under test: Mandate (a real `mandate serve` process, SQLite or PostgreSQL, one node
// or two), the peer (node-oidc-provider) and the lean signer, each started as its own process and
// set up so that the same scenario sends each of them the equivalent requests.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import pg from 'pg';
import type { RequestSpec } from './load.js';
import { startProcess, stopProcess, type Started } from './proc.js';

export type TargetName = 'mandate' | 'mandate-pg' | 'mandate-pg-2n' | 'peer' | 'lean';
export type Kind = 'mandate' | 'peer' | 'lean';

/** The resource (RFC 8707) every token is requested for; the token's `aud`. */
export const RESOURCE = 'https://api.bench.test/';
export const CC_BODY = `grant_type=client_credentials&scope=read&resource=${encodeURIComponent(RESOURCE)}`;
/** The claims every target's access token must carry (Mandate's set, RFC 9068 plus two). */
export const EXPECTED_CLAIMS = ['iss', 'sub', 'client_id', 'aud', 'scope', 'iat', 'exp', 'jti', 'actor_type', 'role'];

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

export interface Target {
  name: TargetName;
  label: string;
  kind: Kind;
  /** One per node; load is split across them. */
  urls: string[];
  pids: number[];
  token: RequestSpec;
  introspect: RequestSpec;
  /** Fresh registration requests (for Mandate: a fresh initial access token of n uses). */
  registrations(n: number): Promise<RequestSpec[]>;
  /** Session refresh: initial refresh tokens for n chains, and the refresh request; absent = n/a. */
  sessions?: { start(n: number): Promise<string[]>; refresh(rt: string): RequestSpec };
  /** V8 heap in use, where the server exposes it (Mandate's /metrics). */
  heapBytes(): Promise<number | null>;
  /** What the pre-flight check found about the access token. */
  token_check?: TokenCheck;
  alive(): boolean;
  stop(): Promise<void>;
}

export interface TokenCheck {
  alg: string;
  typ: string;
  claims: string[];
  bytes: number;
}

function basic(id: string, secret: string): string {
  // RFC 6749 §2.3.1: form-urlencode id and secret before Basic-encoding them.
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

function formReq(path: string, auth: string, body: string): RequestSpec {
  return { method: 'POST', path, headers: { 'content-type': FORM, authorization: auth }, body };
}

function jsonReq(path: string, auth: string, body: unknown): RequestSpec {
  return { method: 'POST', path, headers: { 'content-type': JSON_TYPE, authorization: auth }, body: JSON.stringify(body) };
}

/** Sends one request with fetch and returns the parsed JSON body; throws on non-2xx. */
export async function call(url: string, req: RequestSpec): Promise<Record<string, unknown>> {
  const res = await fetch(url + req.path, { method: req.method, headers: req.headers, ...(req.body === undefined ? {} : { body: req.body }) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${req.method} ${req.path} -> ${res.status}: ${text.slice(0, 500)}`);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

export function str(obj: Record<string, unknown>, key: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '') throw new Error(`response has no string "${key}": ${JSON.stringify(obj).slice(0, 300)}`);
  return v;
}

/**
 * Gets one token from the target and checks it: an ES256 JWS, `typ: at+jwt`, valid against the
 * target's /jwks, issued by it, for RESOURCE, with every expected claim.
 */
export async function checkToken(t: Target): Promise<TokenCheck> {
  const url = t.urls[0]!;
  const body = await call(url, t.token);
  const token = str(body, 'access_token');
  const header = decodeProtectedHeader(token);
  if (header.alg !== 'ES256') throw new Error(`${t.label}: token alg is ${header.alg}, not ES256`);
  const jwks = (await (await fetch(`${url}/jwks`)).json()) as { keys: [] };
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { typ: 'at+jwt', audience: RESOURCE, algorithms: ['ES256'] });
  const missing = EXPECTED_CLAIMS.filter((c) => !(c in payload));
  if (missing.length) throw new Error(`${t.label}: token lacks claims ${missing.join(', ')}`);
  // Second and later nodes must answer too (and with tokens that verify the same way).
  for (const other of t.urls.slice(1)) {
    const b = await call(other, t.token);
    await jwtVerify(str(b, 'access_token'), createLocalJWKSet(jwks), { typ: 'at+jwt', audience: RESOURCE, algorithms: ['ES256'] });
  }
  return { alg: header.alg, typ: String(header.typ), claims: Object.keys(payload), bytes: token.length };
}

/** Checks that the introspection request answers active: true. */
export async function checkIntrospection(t: Target): Promise<void> {
  for (const url of t.urls) {
    const body = await call(url, t.introspect);
    if (body.active !== true) throw new Error(`${t.label}: introspection of the bench token is not active: ${JSON.stringify(body).slice(0, 300)}`);
  }
}

// ---------------------------------------------------------------- the lean signer and the peer

export async function startLean(root: string): Promise<Target> {
  const p = await startProcess({ name: 'lean', args: ['--import', 'tsx', 'bench/peers/lean-signer.ts'], cwd: root, env: process.env, ready: /LEAN ready url=(\S+)/ });
  const url = p.match[1]!;
  const agent = basic('agt_bench', 'lean-does-not-check-secrets');
  let token = '';
  const t: Target = {
    name: 'lean',
    label: 'lean signer',
    kind: 'lean',
    urls: [url],
    pids: [p.pid],
    token: formReq('/token', agent, CC_BODY),
    get introspect() {
      return formReq('/introspect', basic('agt_rs', 'x'), `token=${token}`);
    },
    registrations: async (n) => Array.from({ length: n }, (_, i) => jsonReq('/register', 'Bearer lean-iat', { client_name: `bench agent ${i}`, scope: 'read' })),
    sessions: {
      start: async (n) => Promise.all(Array.from({ length: n }, async () => str(await call(url, jsonReq('/sessions', agent, sessionBody)), 'refresh_token'))),
      refresh: (rt) => formReq('/token', agent, `grant_type=refresh_token&refresh_token=${encodeURIComponent(rt)}`),
    },
    heapBytes: async () => null,
    alive: () => p.child.exitCode === null,
    stop: async () => void (await stopProcess(p.child)),
  };
  token = str(await call(url, t.token), 'access_token');
  return t;
}

const sessionBody = { task: 'bench-refresh', duration: 3600, heartbeat_interval_seconds: 3600, scope: 'read', resource: RESOURCE };

export async function startPeer(root: string): Promise<Target> {
  const creds = { id: 'bench-agent', secret: randomBytes(32).toString('base64url'), rsId: 'bench-rs', rsSecret: randomBytes(32).toString('base64url'), iat: randomBytes(32).toString('base64url') };
  const p = await startProcess({
    name: 'peer',
    args: ['--import', 'tsx', 'bench/peers/oidc-provider.ts'],
    cwd: root,
    env: { ...process.env, BENCH_CLIENT_ID: creds.id, BENCH_CLIENT_SECRET: creds.secret, BENCH_RS_ID: creds.rsId, BENCH_RS_SECRET: creds.rsSecret, BENCH_PEER_IAT: creds.iat },
    ready: /PEER ready url=(\S+)/,
  });
  const url = p.match[1]!;
  const agent = basic(creds.id, creds.secret);
  // oidc-provider introspects only tokens it stores: opaque ones, which it issues when no
  // resource is named (JWT access tokens are not stored, so they would introspect inactive).
  const opaque = str(await call(url, formReq('/token', agent, 'grant_type=client_credentials&scope=read')), 'access_token');
  const regBody = (i: number) => ({ client_name: `bench agent ${i}`, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', scope: 'read' });
  return {
    name: 'peer',
    label: 'oidc-provider',
    kind: 'peer',
    urls: [url],
    pids: [p.pid],
    token: formReq('/token', agent, CC_BODY),
    introspect: formReq('/token/introspection', basic(creds.rsId, creds.rsSecret), `token=${opaque}`),
    // Its initial access token is a fixed string with no use count (Mandate's counts uses atomically).
    registrations: async (n) => Array.from({ length: n }, (_, i) => jsonReq('/reg', `Bearer ${creds.iat}`, regBody(i))),
    heapBytes: async () => null,
    alive: () => p.child.exitCode === null,
    stop: async () => void (await stopProcess(p.child)),
  };
}

// ---------------------------------------------------------------- Mandate

export interface MandateOptions {
  root: string;
  name: TargetName;
  db: 'sqlite' | 'pg';
  nodes: 1 | 2;
  pgAdminUrl?: string;
  /** Extra node flags for the server processes, e.g. --cpu-prof. */
  nodeArgs?: string[];
}

/** A throwaway PostgreSQL database, created now and dropped by drop(). */
export async function createPgDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `mandate_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export async function pgReachable(adminUrl: string): Promise<string | null> {
  const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Roles get a very high rate limit where the build knows `rate_limit`; earlier builds have none. */
const RATE_LIMITS = [{ per_second: 100_000, burst: 1_000_000 }, { per_second: 100_000, burst: 100_000 }, { per_second: 10_000, burst: 10_000 }];

async function createRole(url: string, admin: string, role: Record<string, unknown>): Promise<string> {
  let lastError = '';
  for (const rateLimit of RATE_LIMITS) {
    const res = await fetch(`${url}/admin/roles`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': JSON_TYPE }, body: JSON.stringify({ ...role, rate_limit: rateLimit }) });
    const text = await res.text();
    if (res.ok) return `rate_limit ${JSON.stringify(rateLimit)}`;
    lastError = `${res.status}: ${text}`;
    if (/unknown field: rate_limit/.test(text)) {
      await call(url, jsonReq('/admin/roles', `Bearer ${admin}`, role));
      return 'no rate_limit field in this build';
    }
    if (!/rate_limit/.test(text)) break;
  }
  throw new Error(`cannot create role ${String(role.name)}: ${lastError}`);
}

export async function startMandate(o: MandateOptions): Promise<Target & { setup_notes: string[] }> {
  const admin = randomBytes(32).toString('base64url');
  const env = {
    ...process.env,
    MANDATE_ADMIN_TOKEN: admin,
    MANDATE_MASTER_KEY: randomBytes(32).toString('base64url'),
    MANDATE_METRICS_TOKEN: randomBytes(32).toString('base64url'),
    MANDATE_LOG_LEVEL: 'warn',
    // Every bench request comes from 127.0.0.1: lift the per-address limit on /register (default
    // 20/s, burst 200) to its maximum, or 1,000 concurrent registrations would mostly get 429.
    MANDATE_RATE_LIMIT_REGISTER: '100000:1000000',
  };
  const dirs: string[] = [];
  const procs: Started[] = [];
  const pgDb = o.db === 'pg' ? await createPgDatabase(o.pgAdminUrl!) : undefined;
  const cleanup = async () => {
    await Promise.all(procs.map((p) => stopProcess(p.child)));
    await pgDb?.drop().catch((err: Error) => console.error(`dropping the bench database: ${err.message}`));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  };
  try {
    let issuer: string | undefined;
    for (let n = 0; n < o.nodes; n++) {
      const dir = await mkdtemp(join(os.tmpdir(), 'mandate-bench-'));
      dirs.push(dir);
      const db = pgDb ? pgDb.url : join(dir, 'bench.db');
      const args = [...(o.nodeArgs ?? []), 'packages/server/dist/cli/main.js', 'serve', '--port', '0', '--db', db, '--data-dir', dir, ...(issuer ? ['--issuer', issuer] : [])];
      const p = await startProcess({ name: `${o.name}#${n + 1}`, args, cwd: o.root, env, ready: /Mandate ready: issuer=(\S+) listening=(\S+)/ });
      procs.push(p);
      issuer ??= p.match[1]!.replace(/\/+$/, '');
    }
    const urls = procs.map((p) => p.match[2]!.replace(/\/+$/, ''));
    const url = urls[0]!;
    const adminAuth = `Bearer ${admin}`;
    const notes: string[] = [];
    notes.push(await createRole(url, admin, { name: 'bench', scopes: ['read', 'write'], token_ttl_seconds: 300 }));
    await createRole(url, admin, { name: 'bench-rs', scopes: ['read'], can_introspect: true });
    await createRole(url, admin, { name: 'bench-reg', scopes: ['read'] });

    const register = async (role: string, name: string, scope: string) => {
      const iat = str(await call(url, jsonReq(`/admin/roles/${role}/initial-access-tokens`, adminAuth, { uses: 1, expires_in: 3600 })), 'token');
      const reg = await call(url, jsonReq('/register', `Bearer ${iat}`, { client_name: name, scope }));
      return basic(str(reg, 'client_id'), str(reg, 'client_secret'));
    };
    const agent = await register('bench', 'bench agent', 'read write');
    const rs = await register('bench-rs', 'bench resource server', 'read');
    const token = formReq('/token', agent, CC_BODY);
    const jwt = str(await call(url, token), 'access_token');
    const metricsToken = env.MANDATE_METRICS_TOKEN;
    const label = o.db === 'sqlite' ? 'Mandate (SQLite)' : o.nodes === 1 ? 'Mandate (PostgreSQL)' : 'Mandate (PostgreSQL, 2 nodes)';
    return {
      name: o.name,
      label,
      kind: 'mandate',
      urls,
      pids: procs.map((p) => p.pid),
      token,
      introspect: formReq('/introspect', rs, `token=${jwt}`),
      registrations: async (n) => {
        const iat = str(await call(url, jsonReq('/admin/roles/bench-reg/initial-access-tokens', adminAuth, { uses: n, expires_in: 3600 })), 'token');
        return Array.from({ length: n }, (_, i) => jsonReq('/register', `Bearer ${iat}`, { client_name: `bench agent ${i}`, scope: 'read' }));
      },
      sessions: {
        start: async (n) => Promise.all(Array.from({ length: n }, async (_, i) => str(await call(urls[i % urls.length]!, jsonReq('/sessions', agent, sessionBody)), 'refresh_token'))),
        refresh: (rt) => formReq('/token', agent, `grant_type=refresh_token&refresh_token=${encodeURIComponent(rt)}`),
      },
      heapBytes: async () => {
        try {
          const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
          if (!res.ok) return null;
          const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(await res.text());
          return m ? Number(m[1]) : null;
        } catch {
          return null;
        }
      },
      alive: () => procs.every((p) => p.child.exitCode === null),
      stop: cleanup,
      setup_notes: notes,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
