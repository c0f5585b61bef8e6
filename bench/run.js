#!/usr/bin/env node
// The benchmark suite (`npm run bench`): runs every bench module, prints one table and writes
// bench/results.json. Each figure comes with a baseline measured in the same run and their ratio,
// so results from a noisy machine stay comparable; targets (issue 9) are checked and marked.
// Usage: node bench/run.js [--quick] [--only cli,throughput,rebuild,sync,memory] [--out file]
// --quick runs tiny sizes in well under a minute: a smoke test of the suite, not a measurement.
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { printTable, ROOT } from './lib.js';

const MODULES = ['cli', 'throughput', 'rebuild', 'sync', 'memory'];
const FILES = { cli: './cli-latency.js', throughput: './throughput.js', rebuild: './rebuild.js', sync: './sync.js', memory: './memory.js' };

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string', default: `${ROOT}bench/results.json` },
  },
});
const only = values.only ? values.only.split(',') : MODULES;
const unknown = only.filter((m) => !MODULES.includes(m));
if (unknown.length) {
  console.error(`unknown bench module(s): ${unknown.join(', ')} (known: ${MODULES.join(', ')})`);
  process.exit(2);
}

/** Whether a row meets its target: `<= 1.5x` bounds the ratio, `<= 2000 ms` or `>= 5000 /s` the value. */
function meets(r) {
  const m = /^(<=|>=) ([\d.]+) ?(x|ms|\/s|MiB)$/.exec(r.target ?? '');
  if (!m) return undefined;
  const actual = m[3] === 'x' ? r.ratio : r.value;
  return m[1] === '<=' ? actual <= Number(m[2]) : actual >= Number(m[2]);
}

const started = Date.now();
const rows = [];
for (const name of only) {
  const t = performance.now();
  const mod = await import(FILES[name]);
  const got = await mod.run({ quick: values.quick });
  for (const r of got) {
    const ok = values.quick ? undefined : meets(r); // quick sizes are not what the targets are for
    rows.push(ok === undefined ? r : { ...r, met: ok ? 'yes' : 'NO' });
  }
  console.error(`# ${name}: ${got.length} figures in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

const results = {
  date: new Date(started).toISOString(),
  quick: values.quick,
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform },
  rows,
};
writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
printTable(rows);
const missed = rows.filter((r) => r.met === 'NO');
console.log(`\n${rows.length} figures; ${rows.filter((r) => r.met).length} with targets, ${missed.length} missed. Written to ${values.out}`);
