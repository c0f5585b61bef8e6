#!/usr/bin/env node
// `grit context index` wall time, cold and incremental, on a clone of a real repository and on a
// synthetic tree, as ratios to a baseline measured in the same run: a node process that runs
// `git ls-files` and reads and SHA-256-hashes every listed file (the floor any indexer pays).
// Usage: node bench/context-index.js [repo=/work/main] [synthetic files=2000] [runs=3]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRIT, printTable, tempRepo } from './lib.js';
import { languageOf } from '../dist/src/context/languages.js';

const source = process.argv[2] ?? '/work/main';
const syntheticFiles = Number(process.argv[3] ?? 2000);
const runs = Number(process.argv[4] ?? 3);
const env = { ...process.env, GRIT_NO_DAEMON: '1', GRIT_NO_PROGRESS: '1' };

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Median wall time of `fn` over `runs` runs, `setup` (untimed) before each. */
function median(fn, setup = () => {}) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    setup(i);
    const t = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const BASELINE = `
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { createHash } = require('node:crypto');
for (const p of execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\\0')) {
  if (p) try { createHash('sha256').update(readFileSync(p)).digest(); } catch {}
}`;

const index = (repo) => JSON.parse(run(process.execPath, [GRIT, 'context', 'index', '--json'], repo)).data;

/** Drops the WAL and all grit state, then sets grit up again: the next index is a cold one. */
function resetGrit(repo) {
  spawnSync('git', ['update-ref', '-d', 'refs/grit/wal'], { cwd: repo });
  rmSync(join(repo, '.git', 'grit'), { recursive: true, force: true });
  run(process.execPath, [GRIT, 'init', '--no-agents-md', '--json'], repo);
}

/** Appends a comment line to the first `n` indexed files (untracked edits are still read). */
function touch(repo, files, n, round) {
  for (const f of files.slice(0, n)) {
    const p = join(repo, f);
    const comment = /\.(py|rb|ex|exs)$/.test(f) ? '#' : '//';
    writeFileSync(p, `${readFileSync(p, 'utf8')}\n${comment} bench edit ${round}\n`);
  }
}

function measure(label, repo) {
  const baseline = median(() => run(process.execPath, ['-e', BASELINE], repo));
  let stats;
  const cold = median(
    () => (stats = index(repo)),
    () => resetGrit(repo),
  );
  const files = run('git', ['ls-files'], repo).split('\n').filter((f) => languageOf(f));
  const noChange = median(() => index(repo));
  const tenChanged = median(
    () => index(repo),
    (i) => touch(repo, files, 10, i),
  );
  const row = (what, ms) => ({
    tree: label,
    files: stats.files,
    symbols: stats.symbols,
    run: what,
    median_ms: ms.toFixed(0),
    ratio: (ms / baseline).toFixed(2),
  });
  return [row('baseline: ls-files + read + sha256', baseline), row('cold index', cold), row('incremental, no change', noChange), row('incremental, 10 files changed', tenChanged)];
}

// --- a clone of the real repository (the source checkout itself is never written to) ---
const clone = tempRepo();
rmSync(clone, { recursive: true, force: true });
run('git', ['clone', '-q', '--no-hardlinks', source, clone], process.cwd());

// --- a synthetic tree: modules in six languages, ~60 lines and 8 symbols each ---
const synth = tempRepo();
const TEMPLATES = {
  ts: (i) => `/** Module ${i}. */\nexport const LIMIT_${i} = ${i};\nexport interface Shape${i} { area(): number; }\nexport class Box${i} implements Shape${i} {\n  constructor(private w: number) {}\n  area(): number {\n    return this.w * ${i};\n  }\n}\nexport function make${i}(w: number): Box${i} {\n  return new Box${i}(w);\n}\n` + body(i, '//'),
  py: (i) => `"""Module ${i}."""\nLIMIT_${i} = ${i}\n\nclass Box${i}:\n    def __init__(self, w):\n        self.w = w\n\n    def area(self):\n        return self.w * ${i}\n\n\ndef make_${i}(w):\n    return Box${i}(w)\n` + body(i, '#'),
  go: (i) => `// Package m${i} is module ${i}.\npackage m${i}\n\nconst Limit${i} = ${i}\n\ntype Box${i} struct {\n\tW int\n}\n\nfunc (b *Box${i}) Area() int {\n\treturn b.W * ${i}\n}\n\nfunc Make${i}(w int) *Box${i} {\n\treturn &Box${i}{W: w}\n}\n` + body(i, '//'),
  rs: (i) => `//! Module ${i}.\npub const LIMIT_${i}: u32 = ${i};\n\npub struct Box${i} {\n    w: u32,\n}\n\nimpl Box${i} {\n    pub fn area(&self) -> u32 {\n        self.w * ${i}\n    }\n}\n\npub fn make_${i}(w: u32) -> Box${i} {\n    Box${i} { w }\n}\n` + body(i, '//'),
  java: (i) => `// Module ${i}.\npublic class Box${i} {\n    public static final int LIMIT = ${i};\n    private final int w;\n\n    public Box${i}(int w) {\n        this.w = w;\n    }\n\n    public int area() {\n        return w * ${i};\n    }\n}\n` + body(i, '//'),
  rb: (i) => `# Module ${i}.\nmodule M${i}\n  LIMIT = ${i}\n\n  class Box\n    def initialize(w)\n      @w = w\n    end\n\n    def area\n      @w * ${i}\n    end\n  end\nend\n` + body(i, '#'),
};
function body(i, comment) {
  return Array.from({ length: 40 }, (_, k) => `${comment} filler line ${k} of module ${i}: lorem ipsum dolor sit amet`).join('\n') + '\n';
}
const exts = Object.keys(TEMPLATES);
for (let i = 0; i < syntheticFiles; i++) {
  const ext = exts[i % exts.length];
  const dir = join(synth, `pkg${Math.floor(i / 100)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `m${i}.${ext}`), TEMPLATES[ext](i));
}
run('git', ['add', '-A'], synth);

const rows = [...measure(`clone of ${source}`, clone), ...measure(`synthetic (${syntheticFiles} files)`, synth)];
printTable(rows);
rmSync(clone, { recursive: true, force: true });
rmSync(synth, { recursive: true, force: true });
