// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per package.
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  where: string;
  self_ms: number;
  self_pct: number;
}

/** Where a frame's code lives: a package, Mandate's own dist, Node's internals, or V8 itself. */
function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const own = /packages\/server\/dist\/(.+)$/.exec(url);
  if (own) return `mandate:${own[1]!.split('/').slice(0, -1).join('/') || '.'}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[1] ?? url.slice(5)}`;
  return url.replace(/^file:\/\//, '');
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/(node_modules|packages)\//, '$1/');
}

export async function summarizeProfile(file: string, top = 30): Promise<{ total_ms: number; functions: ProfileRow[]; areas: ProfileRow[] }> {
  const p = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map<string, ProfileRow>();
  const areas = new Map<string, ProfileRow>();
  for (const [id, us] of self) {
    const cf = byId.get(id)!.callFrame;
    const name = cf.functionName || '(anonymous)';
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const row = fns.get(key) ?? { name, where, self_ms: 0, self_pct: 0 };
    row.self_ms += us / 1000;
    fns.set(key, row);
    const a = area(cf.url, name);
    const arow = areas.get(a) ?? { name: a, where: '', self_ms: 0, self_pct: 0 };
    arow.self_ms += us / 1000;
    areas.set(a, arow);
  }
  const finish = (rows: Iterable<ProfileRow>) =>
    [...rows]
      .map((r) => ({ ...r, self_ms: Math.round(r.self_ms), self_pct: Math.round((r.self_ms / (total / 1000)) * 1000) / 10 }))
      .sort((a, b) => b.self_ms - a.self_ms)
      .slice(0, top);
  return { total_ms: Math.round(total / 1000), functions: finish(fns.values()), areas: finish(areas.values()) };
}

export function profileMarkdown(title: string, s: Awaited<ReturnType<typeof summarizeProfile>>): string {
  return [
    `# ${title}`,
    '',
    `Sampled ${s.total_ms.toLocaleString('en-US')} ms of the server's main thread (idle included). Self time: time in the function itself, not its callees.`,
    '',
    '## By package / area',
    '',
    '| area | self ms | % |',
    '|---|---:|---:|',
    ...s.areas.map((r) => `| ${r.name} | ${r.self_ms} | ${r.self_pct} |`),
    '',
    '## Top functions by self time',
    '',
    '| function | where | self ms | % |',
    '|---|---|---:|---:|',
    ...s.functions.map((r) => `| ${r.name.replace(/\|/g, '\\|')} | ${r.where} | ${r.self_ms} | ${r.self_pct} |`),
    '',
  ].join('\n');
}
