/**
 * `npm run bench -- --quick` end to end: every bench module runs, and bench/results.json holds a
 * well-formed row for each figure, its baseline from the same run and their ratio.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/repo.js';

test('the benchmark suite runs in quick mode and writes results.json', { timeout: 240_000 }, () => {
  const out = join(tempDir('grit-bench-'), 'results.json');
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bench', 'run.js'), '--quick', '--out', out], { encoding: 'utf8', env: { ...process.env, GRIT_NO_DAEMON: '' } });
  assert.equal(r.status, 0, `bench/run.js failed:\n${r.stdout}\n${r.stderr}`);
  const results = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(results.quick, true);
  assert.ok(results.machine.cpus >= 1 && /^v\d+/.test(results.machine.node));
  const benches = new Set(results.rows.map((x: { bench: string }) => x.bench));
  assert.deepEqual([...benches].sort(), ['cli', 'memory', 'rebuild', 'sync', 'throughput']);
  for (const row of results.rows) {
    assert.ok(typeof row.case === 'string' && row.case.length > 0, JSON.stringify(row));
    assert.ok(Number.isFinite(row.value) && row.value > 0, `${row.case}: value ${row.value}`);
    assert.ok(typeof row.unit === 'string', `${row.case}: unit`);
    if (row.baseline !== undefined) {
      assert.ok(row.baseline_value > 0, `${row.case}: baseline ${row.baseline_value}`);
      assert.ok(Math.abs(row.ratio - row.value / row.baseline_value) <= 0.01 * row.ratio + 0.01, `${row.case}: ratio ${row.ratio}`);
    }
  }
  // Peak RSS is the measured process's own (getrusage's maxrss would carry the parent's over exec).
  for (const row of results.rows.filter((x: { bench: string }) => x.bench === 'memory')) {
    assert.ok(row.baseline_value < 150, `node -e 0 peaks at ${row.baseline_value} MiB: the probe measured something else`);
  }
  // The table on stdout names every figure.
  for (const row of results.rows) assert.ok(r.stdout.includes(row.case), `table lacks ${row.case}`);
});
