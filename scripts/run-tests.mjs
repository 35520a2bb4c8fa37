#!/usr/bin/env node
// Runs every packages/*/test/**/*.test.ts with Node's built-in test runner.
//
// Usage: node scripts/run-tests.mjs [filter...]
//   Each filter is a substring matched against the repo-relative path; a file
//   runs if it matches any filter. With no filters, every test file runs.
//
// Node 20's `node --test` does not expand globs, so we build the file list
// ourselves (node:fs readdir recursive, no glob dependency).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);

const files = [];
for (const pkg of readdirSync(join(root, 'packages'))) {
  const testDir = join(root, 'packages', pkg, 'test');
  if (!existsSync(testDir)) continue;
  for (const entry of readdirSync(testDir, { recursive: true })) {
    const abs = join(testDir, entry);
    if (!entry.endsWith('.test.ts') || !statSync(abs).isFile()) continue;
    // Repo-relative with forward slashes: stable sort order and filters that
    // read the same on every OS.
    files.push(relative(root, abs).split(sep).join('/'));
  }
}
files.sort();

const selected = filters.length === 0 ? files : files.filter((f) => filters.some((s) => f.includes(s)));
if (selected.length === 0) {
  console.error(
    filters.length === 0
      ? 'run-tests: no *.test.ts files found under packages/*/test/'
      : `run-tests: no test file matches ${filters.map((f) => JSON.stringify(f)).join(', ')}`,
  );
  process.exit(1);
}

// Concurrency 1: each file starts real servers and databases, and the reference
// machine has two cores; files in parallel only make timings noisier.
// A per-test timeout turns a hang into a failure instead of a stuck CI run. Node 20 applies it
// to each test file as a whole too, and a file of several server start-ups took over 3 minutes
// on a loaded 2-core machine: 10 minutes still stops a hang.
const args = ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', '--test-reporter=spec', ...selected];
const child = spawn(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, MANDATE_TEST: '1' },
});
child.on('error', (err) => {
  console.error('run-tests: could not start node:', err);
  process.exit(1);
});
// A child killed by a signal has code null; treat that as failure.
child.on('exit', (code) => process.exit(code ?? 1));
