#!/usr/bin/env node
// Runs every compiled test file with node's test runner (Node 20 has no --test globs).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('../dist/test/', import.meta.url).pathname;
const filter = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js') && (filter.length === 0 || filter.some((f) => p.includes(f)))) files.push(p);
  }
})(root);
// With no files node's runner would go looking for tests on its own, everywhere under the cwd.
if (files.length === 0) {
  console.error(`no compiled test file matches ${filter.join(' or ')} (under dist/test/: run \`npm run build\` first?)`);
  process.exit(1);
}
// Three files at a time on two cores: a test file spends much of its time waiting on the git,
// grit and daemon processes it starts (measured: docs/decisions.md, "The test suite").
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=3', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
