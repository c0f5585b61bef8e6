#!/usr/bin/env node
// `grit rebuild` (full WAL replay) and `grit rebuild --from-snapshot`, run as the CLI, against the
// time native git takes to read the same objects (`git cat-file --batch --buffer` fed exactly the objects
// the rebuild reads), measured in the same run; and the store's size per issue against the WAL's
// packed size per issue.
//
// The WALs are generated in-process (test/helpers/gen-events.ts: every event kind, three actors,
// one signing) as one pack, then `git repack -a -d` gives them the layout of a gc'd or cloned
// repository (git's own deltas). A loose-object case stands for a WAL written locally and never
// gc'd. Commits hold 1-4 events (2.5 on average: group commit and sync batch writes), or exactly
// 1 (the worst case). 200 events follow the snapshot.
// Usage: node bench/rebuild.js [--quick]
import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GRIT, isMain, printTable, row, tempRepo } from './lib.js';
import { runLocal } from '../dist/src/commands/run.js';
import { generateWal } from '../dist/test/helpers/gen-events.js';

const TAIL = 200;
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ACTORS = [{ id: '11'.repeat(16) }, { id: '22'.repeat(16), secretKey: '5e'.repeat(32) }, { id: '33'.repeat(16) }];
const SIGNING = [
  { id: '44'.repeat(16), secretKey: '6f'.repeat(32) },
  { id: '55'.repeat(16), secretKey: '7a'.repeat(32) },
];

function git(repo, args, input) {
  const r = spawnSync('git', args, { cwd: repo, input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Wall time of one `git cat-file --batch --buffer` reading `oids` (newline-separated), process
 * start included. `--buffer`: without it git flushes after every object, and the baseline would
 * time the pipe, not the reading. Its output goes to /dev/null: collected by this process it
 * would time node gathering ~60 MB from a pipe (100k events: 1.45 s against 0.83 s), not git.
 */
function catFile(repo, oids) {
  const t = performance.now();
  const r = spawnSync('git', ['cat-file', '--batch', '--buffer'], { cwd: repo, input: oids, stdio: ['pipe', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`git cat-file: ${r.stderr}`);
  return performance.now() - t;
}

/** The ids of the objects `rev-list --objects` names for `revs` (the listing is not timed). */
const objectList = (repo, revs) =>
  git(repo, ['rev-list', '--objects', ...revs])
    .toString()
    .split('\n')
    .map((l) => l.slice(0, 40))
    .join('\n');

function grit(repo, args) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [GRIT, ...args, '--json'], { cwd: repo, env: { ...process.env, GRIT_NO_DAEMON: '1' }, maxBuffer: 1 << 30 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`grit ${args.join(' ')}: ${r.stderr}`);
  return { ms, json: JSON.parse(r.stdout).data };
}

/** Makes `actors`' public keys known to the repository (as a teammate's imported key would be). */
function trustKeys(repo, actors) {
  for (const a of actors) {
    const secret = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, Buffer.from(a.secretKey, 'hex')]), format: 'der', type: 'pkcs8' });
    const pub = createPublicKey(secret).export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
    const dir = join(repo, '.git', 'grit', 'actors', a.id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.toml'), `actor_id = "${a.id}"\nlabel = ""\ncreated_ts = 0\npublic_key = "${pub}"\nkey_scheme = "ed25519"\n`);
  }
}

/** A repository whose WAL holds `events` events, a snapshot of them, and TAIL events after it. */
async function buildRepo({ events, batchMax, loose = false, actors = ACTORS }) {
  const repo = tempRepo();
  await runLocal('Init', { no_agents_md: true }, { cwd: repo });
  const gitDir = join(repo, '.git');
  const gen = await generateWal(gitDir, { seed: 7, events, actors, batchMax, packed: !loose });
  const snap = grit(repo, ['snapshot']).json;
  await generateWal(gitDir, { seed: 8, events: TAIL, actors, batchMax, packed: !loose, startTs: gen.nextTs });
  if (!loose) git(repo, ['repack', '-a', '-d', '-q']);
  return {
    repo,
    commits: gen.commits,
    walObjects: objectList(repo, ['refs/grit/wal']),
    // The snapshot commit, its tree and chunks, and the WAL after the snapshot's wal_head.
    snapObjects: objectList(repo, [snap.snapshot_ref, 'refs/grit/wal', `^${snap.wal_head}`]),
  };
}

/** Median rebuild and cat-file times (interleaved, so load on the machine hits both alike). */
function timeRebuilds(r, reps) {
  const t = { wal: [], walBase: [], snap: [], snapBase: [] };
  let counts = null;
  for (let i = 0; i < reps; i++) {
    t.walBase.push(catFile(r.repo, r.walObjects));
    const full = grit(r.repo, ['rebuild']);
    t.wal.push(full.ms);
    t.snapBase.push(catFile(r.repo, r.snapObjects));
    const fast = grit(r.repo, ['rebuild', '--from-snapshot']);
    t.snap.push(fast.ms);
    if (!fast.json.from_snapshot || fast.json.event_count !== full.json.event_count) {
      throw new Error(`rebuilds disagree: ${JSON.stringify([full.json, fast.json])}`);
    }
    counts = full.json.event_count;
  }
  return { events: counts, ...Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)])) };
}

/** Store bytes per issue of a freshly built store, against the WAL's packed bytes per issue. */
async function storeSize(repo) {
  const before = await runLocal('DbStats', {}, { cwd: repo });
  rmSync(before.path, { force: true });
  rmSync(`${before.path}-lock`, { force: true });
  grit(repo, ['rebuild']);
  const stats = await runLocal('DbStats', {}, { cwd: repo });
  const walPack = git(repo, ['pack-objects', '--revs', '--stdout', '-q'], 'refs/grit/wal\n').length;
  return { issues: stats.issue_count, store: statSync(stats.path).size / stats.issue_count, wal: walPack / stats.issue_count };
}

const CAT_FILE = 'git cat-file --batch --buffer';
const rebuildRow = (name, value, base, target) => row('rebuild', name, value, 'ms', { baseline: CAT_FILE, baselineValue: base, target });

export async function run({ quick = false } = {}) {
  const cases = quick
    ? [{ events: 1000, batchMax: 4, label: '1k events', reps: 1, size: true }]
    : [
        { events: 10_000, batchMax: 4, label: '10k events', reps: 3 },
        { events: 10_000, batchMax: 1, label: '10k events, 1 per commit', reps: 3 },
        { events: 10_000, batchMax: 4, label: '10k events, loose objects', reps: 3, loose: true },
        { events: 10_000, batchMax: 4, label: '10k events, signed, keys known', reps: 3, actors: SIGNING },
        { events: 100_000, batchMax: 4, label: '100k events', reps: 5, size: true, targets: true },
      ];
  const rows = [];
  for (const c of cases) {
    const r = await buildRepo(c);
    if (c.actors) trustKeys(r.repo, c.actors);
    const t = timeRebuilds(r, c.reps);
    const label = `${c.label} (${r.commits} commits)`;
    rows.push(rebuildRow(`from WAL, ${label}`, t.wal, t.walBase, c.targets ? '<= 3x' : undefined));
    rows.push(rebuildRow(`from snapshot, ${label}`, t.snap, t.snapBase, c.targets ? '<= 2000 ms' : undefined));
    if (c.size) {
      const s = await storeSize(r.repo);
      rows.push(row('rebuild', `store size, ${c.label} (${s.issues} issues)`, s.store, 'bytes/issue', { baseline: 'WAL packed by git', baselineValue: s.wal }));
    }
    rmSync(r.repo, { recursive: true, force: true });
  }
  return rows;
}

if (isMain(import.meta.url)) printTable(await run({ quick: process.argv.includes('--quick') }));
