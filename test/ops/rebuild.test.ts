import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RepoContext } from '../../src/commands/context.js';
import { replayWal } from '../../src/commands/wal-replay.js';
import { runLocal } from '../../src/commands/run.js';
import { decodeChunk } from '../../src/core/chunk.js';
import { dropObjects, fsckClean, git, grit, gritDoctor, gritOk, tempDir, tempRepo, gritInit, gritSetup } from '../helpers/repo.js';
import { generateWal, trustKey } from '../helpers/gen-events.js';
import { chunkOfRecords, unknownKindRecord } from '../helpers/bad-records.js';
import { ACTOR_HEX, comment, forge } from '../git/_util.js';
import { GritError } from '../../src/core/errors.js';
import { warnings } from '../../src/core/warnings.js';
import { blake2b256 } from '../../src/core/hash.js';
import { fromHex, toHex } from '../../src/core/hex.js';
import { StoreFill } from '../../src/core/store-fill.js';
import { ObjectStore } from '../../src/git/objects.js';
import { Wal, WAL_REF } from '../../src/git/wal.js';
import { network } from '../sync/_helpers.js';
import { daemonEnv, startDaemon } from '../helpers/daemon.js';
import { GRIT_BIN } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';
import { procStart, type ProcStart } from '../../src/core/pid-alive.js';
import { leaseIsLive, readLease } from '../../src/workers/lease.js';
import { judgeLock } from '../../src/commands/lockfile.js';

const ACTORS = [
  { id: 'a1'.repeat(16) },
  { id: 'b2'.repeat(16), secretKey: '5e'.repeat(32) },
  { id: 'c3'.repeat(16) },
];

/** Every observable read: the list (plain and filtered) and `issue show` of every issue. */
async function observe(repo: string): Promise<string> {
  const opts = { cwd: repo };
  const list = (await runLocal('IssueList', {}, opts)) as { issues: { issue_id: string }[] };
  const out: unknown[] = [list];
  out.push(await runLocal('IssueList', { state: 'closed' }, opts));
  out.push(await runLocal('IssueList', { label: 'bug' }, opts));
  for (const i of list.issues) out.push(await runLocal('IssueShow', { issue_id: i.issue_id }, opts));
  return JSON.stringify(out);
}

test('rebuild --from-snapshot gives exactly the state of a full WAL replay (3000 events, every kind)', { timeout: 300_000 }, async (t) => {
  const repo = tempRepo();
  const opts = { cwd: repo };
  await runLocal('Init', { no_agents_md: true }, opts);
  const first = await generateWal(join(repo, '.git'), { seed: 1, events: 1800, actors: ACTORS });
  const kinds = new Set(first.events.map((e) => e.kind.type));
  assert.equal(kinds.size, 14, `every kind is generated: ${[...kinds].join(', ')}`);

  const snap = (await runLocal('Snapshot', {}, opts)) as any;
  assert.match(snap.snapshot_ref, /^refs\/grit\/snapshots\/\d+$/);
  assert.equal(snap.event_count, 1800);
  assert.equal(snap.wal_head, git(repo, 'rev-parse', 'refs/grit/wal').trim());
  assert.equal(snap.created, true);
  // The WAL goes on after the snapshot.
  await generateWal(join(repo, '.git'), { seed: 2, events: 1200, actors: ACTORS, startTs: first.nextTs - 3000 });

  let t0 = performance.now();
  const full = (await runLocal('Rebuild', {}, opts)) as any;
  const fullMs = performance.now() - t0;
  assert.deepEqual([full.event_count, full.from_snapshot], [3000, false]);
  const fromWal = await observe(repo);
  const cliList = gritOk(repo, ['issue', 'list']);

  t0 = performance.now();
  const fast = (await runLocal('Rebuild', { from_snapshot: true }, opts)) as any;
  const snapMs = performance.now() - t0;
  assert.deepEqual([fast.event_count, fast.from_snapshot, fast.snapshot_ref, fast.wal_head], [3000, true, snap.snapshot_ref, full.wal_head]);
  assert.equal(await observe(repo), fromWal);
  assert.deepEqual(gritOk(repo, ['issue', 'list']), cliList);
  const some = cliList.issues[7].issue_id;
  // The CLI too, after a CLI rebuild from the snapshot.
  const viaCli = gritOk(repo, ['rebuild', '--from-snapshot']);
  assert.equal(viaCli.from_snapshot, true);
  assert.deepEqual(gritOk(repo, ['issue', 'list']), cliList);
  const show = gritOk(repo, ['issue', 'show', some]);
  gritOk(repo, ['rebuild']);
  assert.deepEqual(gritOk(repo, ['issue', 'show', some]), show);
  t.diagnostic(`3000 events: full replay ${fullMs.toFixed(0)} ms, from snapshot ${snapMs.toFixed(0)} ms`);
  fsckClean(repo);
});

/** `repo`'s store emptied, then built by `build`, and checked whole (1,500 events); what the commands read from it. */
async function rebuiltBy(repo: string, build: (ctx: RepoContext) => Promise<unknown>): Promise<string> {
  const ctx = RepoContext.open({ cwd: repo });
  try {
    ctx.store.clear();
    await build(ctx);
  } finally {
    ctx.wal.objects.close();
    await ctx.close();
  }
  // Commands first: on a store left empty, the first one builds it.
  const seen = await observe(repo);
  const check = await gritSetup(repo, ['db', 'check']);
  assert.deepEqual([check.events_checked, check.errors], [1500, []]);
  return seen;
}

/** The whole WAL applied in one batch: what every other way of building the store must match. */
async function applyAll(ctx: RepoContext): Promise<void> {
  const head = await ctx.wal.head();
  assert.ok(ctx.store.apply((await ctx.wal.readSince(null, head)).flatMap((c) => c.events), null, head));
}

test('a replay into an empty store, gathered as it is read and then applied in batches, gives what applying it all gives', { timeout: 120_000 }, async () => {
  const repo = tempRepo();
  await runLocal('Init', { no_agents_md: true }, { cwd: repo });
  await generateWal(join(repo, '.git'), { seed: 4, events: 1500, actors: ACTORS, batchMax: 4 });
  const applied = await rebuiltBy(repo, applyAll);
  // All of it gathered; only the first segment (512 commits) gathered, the rest applied; with a
  // reader thread, all of it gathered newest first (its commits state 1,500 events), or in order
  // (they state more than the 1,499 a fill may gather here); gathered newest first and folded on
  // two threads (the records in shared memory: lmdb must never be handed them).
  const cases = [
    { fillEvents: Infinity },
    { fillEvents: 0 },
    { fillEvents: 1500, readAheadFrom: 1 },
    { fillEvents: 1499, readAheadFrom: 1 },
    { fillEvents: 1500, readAheadFrom: 1, foldThreadFrom: 1 },
  ];
  for (const o of cases) assert.equal(await rebuiltBy(repo, (ctx) => replayWal(ctx, o)), applied, JSON.stringify(o));
  // The first command on an empty store builds it the same way.
  assert.equal(await rebuiltBy(repo, async () => undefined), applied);
});

test('a replay read newest first on the word of commit messages that understate their events starts over in order', { timeout: 120_000 }, async () => {
  const repo = tempRepo();
  await runLocal('Init', { no_agents_md: true }, { cwd: repo });
  // Each commit holds 1-4 events and states 1: the WAL states ~600 events and holds 1,500.
  await generateWal(join(repo, '.git'), { seed: 5, events: 1500, actors: ACTORS, batchMax: 4, packed: true, statedEvents: () => 1 });
  const applied = await rebuiltBy(repo, applyAll);
  const filled: number[] = [];
  const replayed = await rebuiltBy(repo, (ctx) => {
    const fill = ctx.store.fill.bind(ctx.store);
    ctx.store.fill = (f, walHead) => (filled.push(f.size), fill(f, walHead));
    return replayWal(ctx, { fillEvents: 1000, readAheadFrom: 1 });
  });
  assert.equal(replayed, applied);
  // One fill, of the first segment read in order (512 commits), not of everything read newest first.
  assert.equal(filled.length, 1);
  assert.ok(filled[0] >= 1000 && filled[0] < 1500, `filled ${filled[0]}`);
});

test('a replay gathered newest first takes records undecoded; one whose id is right but which does not decode makes it start over in order, which names its commit', { timeout: 120_000 }, async () => {
  const repo = tempRepo();
  await runLocal('Init', { no_agents_md: true }, { cwd: repo });
  await generateWal(join(repo, '.git'), { seed: 6, events: 1500, actors: ACTORS, batchMax: 4 });
  const applied = await rebuiltBy(repo, applyAll);
  const taken: number[] = [];
  const addRecords = StoreFill.prototype.addRecords;
  StoreFill.prototype.addRecords = function (records) {
    taken.push(records.length);
    return addRecords.call(this, records);
  };
  try {
    assert.equal(await rebuiltBy(repo, (ctx) => replayWal(ctx, { readAheadFrom: 1 })), applied);
  } finally {
    StoreFill.prototype.addRecords = addRecords;
  }
  assert.equal(taken.reduce((a, b) => a + b, 0), 1500, 'every record taken undecoded');

  const wal = new Wal(join(repo, '.git'));
  const chunk = chunkOfRecords([unknownKindRecord(new Uint8Array(16).fill(1), fromHex(ACTORS[0].id, 16)!, 5)]);
  const bad = forge(repo).walCommit(chunk, toHex(blake2b256(chunk)), (await wal.head())!);
  git(repo, 'update-ref', WAL_REF, bad);
  for (let i = 0; i < 100; i++) await wal.append([comment(`after ${i}`)], ACTOR_HEX);
  wal.objects.close();
  const ctx = RepoContext.open({ cwd: repo });
  try {
    ctx.store.clear();
    await assert.rejects(replayWal(ctx, { readAheadFrom: 1, foldThreadFrom: 1 }), (err: unknown) => {
      assert.ok(err instanceof GritError && err.code === 'wal_error', String(err));
      assert.equal(err.details.commit, bad);
      return true;
    });
    assert.deepEqual([ctx.store.getMeta().wal_head, ctx.store.getMeta().event_count], [null, 0]);
  } finally {
    ctx.wal.objects.close();
    await ctx.close();
  }
});

test('a replay of signed events whose keys are known checks them a segment at a time, and gives what applying it all gives', { timeout: 120_000 }, async () => {
  const repo = tempRepo();
  await runLocal('Init', { no_agents_md: true }, { cwd: repo });
  const signing = { id: 'd4'.repeat(16), secretKey: '6f'.repeat(32) };
  const gen = await generateWal(join(repo, '.git'), { seed: 7, events: 1500, actors: [signing, ACTORS[0]], batchMax: 4 });
  trustKey(join(repo, '.git'), signing);
  const applied = await rebuiltBy(repo, applyAll);
  let admits = 0;
  const replayed = await rebuiltBy(repo, (ctx) => {
    assert.equal(ctx.checksSignatures(), true);
    const admit = ctx.admit.bind(ctx);
    ctx.admit = (events) => (admits++, admit(events));
    return replayWal(ctx, { readAheadFrom: 1 });
  });
  assert.equal(replayed, applied);
  // Admitting loads the keyring: once per segment of 512 commits, not once per commit.
  assert.ok(admits > 0 && admits <= Math.ceil(gen.commits / 512), `${admits} admits for ${gen.commits} commits`);
});

test('snapshot layout: snapshot.json, ~1000-event chunks in the WAL chunk format, never rewritten; gc keeps the newest', { timeout: 120_000 }, async () => {
  const repo = tempRepo();
  const opts = { cwd: repo };
  await runLocal('Init', { no_agents_md: true }, opts);
  const gen = await generateWal(join(repo, '.git'), { seed: 3, events: 2500, actors: ACTORS });
  const s1 = gritOk(repo, ['snapshot']);
  const meta = JSON.parse(git(repo, 'cat-file', '-p', `${s1.snapshot_ref}:snapshot.json`));
  assert.deepEqual(Object.keys(meta), ['schema_version', 'created_ts', 'wal_head', 'event_count', 'chunks']);
  assert.equal(meta.schema_version, 1);
  assert.equal(meta.event_count, 2500);
  assert.deepEqual(meta.chunks.map((c: any) => [c.path, c.event_count]), [
    ['events/0000.bin', 1000],
    ['events/0001.bin', 1000],
    ['events/0002.bin', 500],
  ]);
  assert.equal(git(repo, 'ls-tree', '--name-only', s1.snapshot_ref).trim().split('\n').join(' '), 'events snapshot.json');
  // Each chunk decodes with the WAL's chunk reader, hash checked.
  const ids = new Set<string>();
  for (const c of meta.chunks) {
    const bytes = execBytes(repo, ['cat-file', 'blob', `${s1.snapshot_ref}:${c.path}`]);
    for (const e of decodeChunk(bytes, Buffer.from(c.chunk_hash, 'hex'))) ids.add(Buffer.from(e.event_id).toString('hex'));
  }
  assert.equal(ids.size, 2500);
  assert.deepEqual([...ids].sort(), gen.events.map((e) => Buffer.from(e.event_id).toString('hex')).sort());

  // Nothing new: no new ref. Then new events: a new ref, the old one untouched.
  const again = gritOk(repo, ['snapshot']);
  assert.deepEqual([again.snapshot_ref, again.created], [s1.snapshot_ref, false]);
  const oldOid = git(repo, 'rev-parse', s1.snapshot_ref).trim();
  const refs = [s1.snapshot_ref];
  for (let k = 0; k < 3; k++) {
    await gritSetup(repo, ['issue', 'create', '--title', `more ${k}`]);
    const s = gritOk(repo, ['snapshot']);
    assert.equal(s.event_count, 2501 + k);
    refs.push(s.snapshot_ref);
  }
  assert.equal(git(repo, 'rev-parse', s1.snapshot_ref).trim(), oldOid);
  fsckClean(repo);

  const gc = gritOk(repo, ['snapshot', 'gc', '--keep', '2']);
  assert.deepEqual(gc.kept, refs.slice(2).reverse());
  assert.deepEqual(gc.deleted.sort(), refs.slice(0, 2).sort());
  assert.deepEqual(git(repo, 'for-each-ref', '--format=%(refname)', 'refs/grit/snapshots/').trim().split('\n'), refs.slice(2));
  assert.deepEqual(gritOk(repo, ['snapshot', 'gc']).deleted, []); // default keep 3
  const bad = gritOk(repo, ['snapshot', 'gc', '--keep', '0']);
  assert.equal(bad.kept.length, 0);
});

test('snapshot gc and rebuild --from-snapshot walk the WAL once for all the snapshots, not once for each', { timeout: 120_000 }, async () => {
  const repo = tempRepo();
  const opts = { cwd: repo };
  await runLocal('Init', { no_agents_md: true }, opts);
  const gitDir = join(repo, '.git');
  // 12 snapshots, 150 commits apart, on a WAL of 1,800 commits (one event each).
  let startTs: number | undefined;
  const walHeads: string[] = [];
  for (let k = 0; k < 12; k++) {
    startTs = (await generateWal(gitDir, { seed: 40 + k, events: 150, actors: ACTORS, batchMax: 1, packed: true, startTs })).nextTs;
    walHeads.push(((await runLocal('Snapshot', {}, opts)) as { wal_head: string }).wal_head);
    await new Promise((r) => setTimeout(r, 2)); // refs are named by the millisecond
  }
  const commits = Number(git(repo, 'rev-list', '--count', WAL_REF).trim());
  assert.equal(commits, 1800);
  const readCommit = ObjectStore.prototype.readCommit;
  const send = warnings.send;
  let reads = 0;
  ObjectStore.prototype.readCommit = function (...args) {
    reads++;
    return readCommit.apply(this, args);
  };
  try {
    const gc = (await runLocal('SnapshotGc', { keep: 12 }, opts)) as { deleted: string[]; kept: string[] };
    assert.deepEqual([gc.deleted.length, gc.kept.length], [0, 12]);
    // Each snapshot's wal_head looked for from the head on its own: 150 + 300 + … + 1,800 = 11,700 reads.
    assert.ok(reads <= commits + 12 * 2, `${reads} commit reads for 12 snapshots on ${commits} commits`);

    // The WAL back at the first snapshot's head (as plain git might leave it): the 11 newer ones
    // are off it, and a rebuild passes over each, walking the 150 commits once, not 11 times.
    git(repo, 'update-ref', WAL_REF, walHeads[0]);
    reads = 0;
    const said: string[] = [];
    warnings.send = (message) => said.push(message);
    const rebuilt = (await runLocal('Rebuild', { from_snapshot: true }, opts)) as { event_count: number; from_snapshot: boolean };
    assert.deepEqual([rebuilt.event_count, rebuilt.from_snapshot], [150, true]);
    assert.equal(said.filter((m) => m.includes('is not on refs/grit/wal')).length, 11);
    assert.ok(reads <= 2 * 150 + 24, `${reads} commit reads for 11 snapshots off a WAL of 150 commits`);
  } finally {
    ObjectStore.prototype.readCommit = readCommit;
    warnings.send = send;
  }
});

test('snapshot with nothing new answers from snapshot.json: the snapshot\'s events are not read', { timeout: 60_000 }, async () => {
  const repo = tempRepo();
  await runLocal('Init', { no_agents_md: true }, { cwd: repo });
  await generateWal(join(repo, '.git'), { seed: 5, events: 300, actors: ACTORS });
  const first = gritOk(repo, ['snapshot']);
  // Its only chunk damaged: reading the events would fail, and a new snapshot would be made of the WAL.
  const chunk = git(repo, 'rev-parse', `${first.snapshot_ref}:events/0000.bin`).trim();
  dropObjects(repo, chunk);
  writeFileSync(join(repo, '.git', 'objects', chunk.slice(0, 2), chunk.slice(2)), 'not zlib');
  const again = gritOk(repo, ['snapshot']);
  assert.deepEqual([again.snapshot_ref, again.event_count, again.created], [first.snapshot_ref, 300, false]);
});

function execBytes(cwd: string, args: string[]): Uint8Array {
  const r = spawnSync('git', args, { cwd });
  if (r.status !== 0) throw new Error(String(r.stderr));
  return new Uint8Array(r.stdout);
}

/** A git plumbing command fed on stdin; returns its trimmed stdout. */
function gitIn(cwd: string, args: string[], input: string | Buffer): string {
  const r = spawnSync('git', args, { cwd, input });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.toString().trim();
}

test('rebuild --from-snapshot skips snapshots it cannot use and falls back to a full replay', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  assert.deepEqual(gritOk(repo, ['rebuild', '--from-snapshot']), { wal_head: null, event_count: 0, from_snapshot: false, snapshot_ref: null });
  const a = (await gritSetup(repo, ['issue', 'create', '--title', 'a'])).issue_id;
  const r0 = gritOk(repo, ['rebuild', '--from-snapshot']);
  assert.deepEqual([r0.from_snapshot, r0.event_count], [false, 1]);
  assert.match(grit(repo, ['rebuild', '--from-snapshot']).stdout, /^rebuilt 1 event up to [0-9a-f]{12} \(from the WAL\)\n$/);
  const good = gritOk(repo, ['snapshot']).snapshot_ref;
  await gritSetup(repo, ['issue', 'comment', a, '--body', 'later']);

  // A newer snapshot whose wal_head is not in this WAL (another repository's): skipped.
  const foreign = tempRepo();
  await gritSetup(foreign, ['issue', 'create', '--title', 'elsewhere']);
  const fsnap = gritOk(foreign, ['snapshot']);
  git(repo, 'fetch', '-q', foreign, `${fsnap.snapshot_ref}:refs/grit/snapshots/9999999999999`);
  const r1 = gritOk(repo, ['rebuild', '--from-snapshot']);
  assert.deepEqual([r1.from_snapshot, r1.snapshot_ref, r1.event_count], [true, good, 2]);
  assert.deepEqual(r1.snapshots_skipped.map((x: any) => x.snapshot_ref), ['refs/grit/snapshots/9999999999999']);
  assert.equal(grit(repo, ['rebuild', '--from-snapshot']).stdout, `rebuilt 2 events up to ${r1.wal_head.slice(0, 12)} (from ${good})\n`);

  // A corrupt snapshot (chunk bytes changed, hash no longer matches): skipped too.
  const tree = git(repo, 'cat-file', '-p', `${good}^{tree}`);
  const evTree = /040000 tree ([0-9a-f]{40})\tevents/.exec(tree)![1];
  const bad = gitIn(repo, ['hash-object', '-w', '--stdin'], Buffer.from('GRITCHNK garbage'));
  const newEv = gitIn(repo, ['mktree'], `100644 blob ${bad}\t0000.bin\n`);
  assert.notEqual(newEv, evTree);
  const metaBlob = /100644 blob ([0-9a-f]{40})\tsnapshot.json/.exec(tree)![1];
  const root = gitIn(repo, ['mktree'], `040000 tree ${newEv}\tevents\n100644 blob ${metaBlob}\tsnapshot.json\n`);
  const commit = git(repo, 'commit-tree', root, '-m', 'corrupt snapshot').trim();
  git(repo, 'update-ref', 'refs/grit/snapshots/9999999999998', commit);
  git(repo, 'update-ref', '-d', 'refs/grit/snapshots/9999999999999');
  const r2 = gritOk(repo, ['rebuild', '--from-snapshot']);
  assert.deepEqual([r2.from_snapshot, r2.snapshot_ref, r2.event_count], [true, good, 2]);
  git(repo, 'update-ref', '-d', good);
  const r3 = gritOk(repo, ['rebuild', '--from-snapshot']);
  assert.deepEqual([r3.from_snapshot, r3.event_count], [false, 2]);
  assert.equal((await gritSetup(repo, ['issue', 'show', a])).issue.comment_count, 1);
});

test('a snapshot whose local commits sync rebased: rebuild says why it was not used, doctor warns, gc deletes it first', { timeout: 60_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  const id = (await gritSetup(a, ['issue', 'create', '--title', 'shared'])).issue_id;
  await gritSetup(a, ['sync']);
  // B has fetched nothing yet, so its snapshot covers its local head, which the sync then rebases.
  await gritSetup(b, ['issue', 'create', '--title', 'local, then snapshotted']);
  const stale = gritOk(b, ['snapshot']);
  assert.equal(stale.local_wal_head, undefined);
  await gritSetup(a, ['issue', 'comment', id, '--body', 'pushed meanwhile']);
  await gritSetup(a, ['sync']);
  assert.equal((await gritSetup(b, ['sync'])).events_rebased, 1);

  const r = grit(b, ['rebuild', '--from-snapshot', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const d = r.json.data;
  assert.deepEqual([d.from_snapshot, d.snapshot_ref, d.event_count], [false, null, 3]);
  assert.equal(d.snapshots_skipped.length, 1);
  assert.equal(d.snapshots_skipped[0].snapshot_ref, stale.snapshot_ref);
  assert.match(d.snapshots_skipped[0].reason, new RegExp(`^its wal_head ${stale.wal_head} is not on refs/grit/wal \\(sync rebased`));
  assert.match(r.stderr, new RegExp(`grit: warning: rebuild --from-snapshot did not use ${stale.snapshot_ref}: .*; rebuilt from the whole WAL\n`));
  assert.match(r.stderr, /grit: warning: `grit snapshot gc` deletes snapshots that can never be used/);

  const warned = gritDoctor(b).checks.find((c: any) => c.id === 'snapshots');
  assert.equal(warned.status, 'warn');
  assert.match(warned.message, new RegExp(`^1 of 1 snapshot can never be used: ${stale.snapshot_ref} \\(its wal_head ${stale.wal_head}`));
  assert.match(warned.plan, /`grit snapshot gc` deletes them first/);

  // A usable snapshot next to it: --keep 2 has room for both, yet the unusable one goes.
  const fresh = gritOk(b, ['snapshot']);
  assert.equal(fresh.created, true);
  const gc = gritOk(b, ['snapshot', 'gc', '--keep', '2']);
  assert.deepEqual(gc, { deleted: [stale.snapshot_ref], kept: [fresh.snapshot_ref], unusable: [stale.snapshot_ref] });
  assert.equal(gritDoctor(b).checks.find((c: any) => c.id === 'snapshots').message, '1 snapshot, each taken on this WAL');
  const again = gritOk(b, ['rebuild', '--from-snapshot']);
  assert.deepEqual([again.from_snapshot, again.snapshot_ref, again.snapshots_skipped], [true, fresh.snapshot_ref, undefined]);
});

test('a snapshot taken by hand between syncs covers what origin had when last fetched: a sync that rebases keeps it usable', { timeout: 90_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  const id = (await gritSetup(a, ['issue', 'create', '--title', 'shared'])).issue_id;
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  const shared = git(a, 'rev-parse', 'refs/grit/wal').trim();
  await gritSetup(a, ['issue', 'comment', id, '--body', 'local, not pushed when the snapshot is taken']);
  const local = git(a, 'rev-parse', 'refs/grit/wal').trim();
  const snap = gritOk(a, ['snapshot']);
  assert.deepEqual([snap.created, snap.wal_head, snap.local_wal_head, snap.event_count], [true, shared, local, 1]);
  assert.match(grit(a, ['snapshot']).stdout, new RegExp(`^${snap.snapshot_ref} already covers the WAL up to ${shared.slice(0, 12)} \\(origin's WAL as last fetched: the local commits after it, up to ${local.slice(0, 12)}, are not in it`));
  await gritSetup(b, ['issue', 'create', '--title', 'pushed meanwhile by b']);
  await gritSetup(b, ['sync']);
  assert.equal((await gritSetup(a, ['sync'])).events_rebased, 1);

  const fromSnapshot = grit(a, ['rebuild', '--from-snapshot', '--json']);
  assert.equal(fromSnapshot.code, 0, fromSnapshot.stderr);
  assert.equal(fromSnapshot.stderr, '');
  assert.deepEqual([fromSnapshot.json.data.from_snapshot, fromSnapshot.json.data.snapshot_ref, fromSnapshot.json.data.event_count], [true, snap.snapshot_ref, 3]);
  const viaSnapshot = await observe(a);
  assert.equal(gritOk(a, ['rebuild']).from_snapshot, false);
  assert.equal(await observe(a), viaSnapshot, 'the same projection as a rebuild from the whole WAL');
  assert.equal(gritDoctor(a).checks.find((c: any) => c.id === 'snapshots').status, 'ok');
  // Once pushed, the local head is what origin has: the next snapshot covers all of it.
  const whole = gritOk(a, ['snapshot']);
  assert.deepEqual([whole.created, whole.wal_head, whole.local_wal_head], [true, git(a, 'rev-parse', 'refs/grit/wal').trim(), undefined]);
});

test('rebuild --from-snapshot with no snapshot at all says so, on stderr under --json too; a plain rebuild does not', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const warning = 'grit: warning: rebuild --from-snapshot found no snapshot (refs/grit/snapshots/ is empty): rebuilt from the whole WAL; `grit snapshot` writes one\n';
  // An empty WAL needs no snapshot: nothing to say.
  assert.equal(grit(repo, ['rebuild', '--from-snapshot']).stderr, '');
  await gritSetup(repo, ['issue', 'create', '--title', 'x']);
  const json = grit(repo, ['rebuild', '--from-snapshot', '--json']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual([json.json.data.from_snapshot, json.json.data.snapshot_ref, json.json.data.snapshots_skipped], [false, null, undefined]);
  assert.equal(json.stderr, warning);
  const human = grit(repo, ['rebuild', '--from-snapshot']);
  assert.deepEqual([human.stdout, human.stderr], [`rebuilt 1 event up to ${git(repo, 'rev-parse', 'refs/grit/wal').trim().slice(0, 12)} (from the WAL)\n`, warning]);
  assert.equal(grit(repo, ['rebuild']).stderr, '', 'not asked for a snapshot');
  gritOk(repo, ['snapshot']);
  assert.equal(grit(repo, ['rebuild', '--from-snapshot']).stderr, '', 'one to use');
});

test('a snapshot ref that is no snapshot takes no --keep slot: gc deletes it, never the only valid one; doctor names it', { timeout: 60_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'kept']);
  const good = gritOk(repo, ['snapshot']).snapshot_ref;
  const blob = gitIn(repo, ['hash-object', '-w', '--stdin'], Buffer.from('x'));
  git(repo, 'update-ref', 'refs/grit/snapshots/9999999999997', blob);

  const warned = gritDoctor(repo).checks.find((c: any) => c.id === 'snapshots');
  assert.equal(warned.status, 'warn');
  assert.match(warned.message, /^1 of 2 snapshots can never be used: refs\/grit\/snapshots\/9999999999997 \(/);
  const gc = gritOk(repo, ['snapshot', 'gc', '--keep', '1']);
  assert.deepEqual(gc, { deleted: ['refs/grit/snapshots/9999999999997'], kept: [good], unusable: ['refs/grit/snapshots/9999999999997'] });
  // Unreadable, not off the WAL: the human line does not say why (doctor did, above).
  git(repo, 'update-ref', 'refs/grit/snapshots/9999999999997', blob);
  assert.equal(grit(repo, ['snapshot', 'gc', '--keep', '1']).stdout, 'deleted 1 snapshot, kept 1 (1 of them never usable: see `grit doctor` for why)\n');
  const r = gritOk(repo, ['rebuild', '--from-snapshot']);
  assert.deepEqual([r.from_snapshot, r.snapshot_ref], [true, good]);
});

test('a snapshot whose events tree or a chunk is lost can never be used: doctor names it, grit snapshot passes over it with a warning, gc deletes it first', { timeout: 60_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'one']);
  const good = gritOk(repo, ['snapshot']).snapshot_ref;
  await gritSetup(repo, ['issue', 'create', '--title', 'two']);
  const lost = gritOk(repo, ['snapshot']).snapshot_ref;
  const evTree = git(repo, 'rev-parse', `${lost}:events`).trim();
  dropObjects(repo, evTree);
  const warned = gritDoctor(repo).checks.find((c: any) => c.id === 'snapshots');
  assert.equal(warned.status, 'warn');
  assert.match(warned.message, new RegExp(`^1 of 2 snapshots can never be used: ${lost} \\(snapshot [0-9a-f]{40}: its events tree cannot be read: object ${evTree} not found\\)$`));

  await gritSetup(repo, ['issue', 'create', '--title', 'three']);
  const r = grit(repo, ['snapshot', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`^grit: warning: snapshot did not use ${lost}: .*its events tree cannot be read.*; built on ${good} instead\n$`));
  const fresh = r.json.data.snapshot_ref;
  assert.deepEqual(gritOk(repo, ['snapshot', 'gc', '--keep', '2']), { deleted: [lost], kept: [fresh, good], unusable: [lost] });

  // A chunk blob of the snapshot of the WAL head lost, its tree still there: a new one is written.
  const blob = git(repo, 'rev-parse', `${fresh}:events/0000.bin`).trim();
  dropObjects(repo, blob);
  assert.match(
    gritDoctor(repo).checks.find((c: any) => c.id === 'snapshots').message,
    new RegExp(`^1 of 2 snapshots can never be used: ${fresh} \\(snapshot [0-9a-f]{40}: the blob ${blob} of events/0000.bin is missing\\)$`),
  );
  const again = grit(repo, ['snapshot', '--json']);
  assert.equal(again.json.data.created, true, again.stderr);
  assert.match(again.stderr, new RegExp(`^grit: warning: snapshot did not use ${fresh}: .*the blob ${blob} of events/0000.bin is missing; built on ${good} instead\n$`));
  fsckClean(repo);
});

test('maybeAutoSnapshot follows the [snapshot] policy: max_events and max_age_days (no remote fetched yet: up to the local head)', async () => {
  const { maybeAutoSnapshot } = await import('../../src/commands/snapshot-commands.js');
  const { RepoContext } = await import('../../src/commands/context.js');
  const repo = tempRepo();
  await gritInit(repo);
  const cfgPath = join(repo, '.git/grit/config.toml');
  writeFileSync(cfgPath, readFileSync(cfgPath, 'utf8').replace('max_events = 10000', 'max_events = 3'));
  const auto = async (now?: number) => {
    const ctx = RepoContext.open({ cwd: repo });
    try {
      return await maybeAutoSnapshot(ctx, 'origin', now);
    } finally {
      await ctx.close();
    }
  };
  assert.equal(await auto(), null); // empty WAL
  for (let k = 0; k < 3; k++) await gritSetup(repo, ['issue', 'create', '--title', `t${k}`]);
  assert.equal(await auto(), null, '3 events, not more than 3');
  await gritSetup(repo, ['issue', 'create', '--title', 't3']);
  const s = await auto();
  assert.ok(s && s.created && s.event_count === 4);
  assert.equal(await auto(), null, 'the snapshot covers the head');
  await gritSetup(repo, ['issue', 'create', '--title', 't4']);
  assert.equal(await auto(), null, 'one new event, young snapshot');
  const eightDays = Date.now() + 8 * 86_400_000;
  const old = await auto(eightDays);
  assert.ok(old && old.event_count === 5, 'an old snapshot with new events since');
});

test('a rebuild that finds the WAL unreadable leaves the store as it was (it may be the last readable copy)', async () => {
  const { startDaemon } = await import('../helpers/daemon.js');
  const daemon = await startDaemon();
  try {
    for (const env of [{}, daemon.env]) {
      const repo = tempRepo();
      const actorDir: string = (await gritInit(repo)).actor.data_dir;
      const titles = ['m1', 'm2', 'm3'];
      for (const title of titles) gritOk(repo, ['issue', 'create', '--title', title], { env });
      // The middle WAL commit's gone (a broken gc, a partial copy).
      dropObjects(repo, git(repo, 'rev-parse', 'refs/grit/wal~1').trim());

      const failed = grit(repo, ['rebuild', '--json'], { env });
      assert.equal(failed.json.error.code, 'wal_error', failed.stdout);
      const listed = gritOk(repo, ['issue', 'list'], { env });
      assert.deepEqual(listed.issues.map((i: { title: string }) => i.title).sort(), titles, 'the store still serves every issue');
      assert.deepEqual(readdirSync(actorDir).filter((f) => f.includes('before-rebuild')), [], 'the copy is gone');
    }
  } finally {
    await daemon.stop();
  }
});

test('a store a live daemon serves is rebuilt by that daemon only: rebuild and doctor --fix from another process refuse alike', { timeout: 120_000 }, async () => {
  const daemon = await startDaemon();
  try {
    const repo = tempRepo();
    await gritInit(repo);
    const cfg = join(repo, '.git', 'grit', 'config.toml');
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('max_events = 10000', 'max_events = 5'));
    // Through the daemon: it now holds the actor's store (its lease), and a rebuild is recommended
    // (6 events applied since the first, which built the store).
    for (let i = 0; i < 7; i++) gritOk(repo, ['issue', 'create', '--title', `q${i}`], { env: daemon.env });
    const before = gritOk(repo, ['issue', 'list']);

    // With that daemon's run directory (--no-daemon): it is this CLI's daemon, which rebuilds if asked.
    const local = grit(repo, ['rebuild', '--json', '--no-daemon'], { env: daemon.env });
    assert.equal(local.code, 5, local.stdout + local.stderr);
    assert.equal(local.json.error.code, 'db_busy');
    assert.equal(local.json.error.details.daemon_pid, daemon.child!.pid);
    assert.match(local.json.error.message, /^a daemon \(pid \d+\) serves from this store: rebuilding it here would empty it under the daemon$/);
    assert.match(local.json.error.details.suggestion, /without --no-daemon/);
    const doctored = gritDoctor(repo, ['--fix', '--no-daemon'], { env: daemon.env });
    assert.deepEqual(doctored.applied, []);
    assert.match(doctored.failed.join('\n'), /^rebuild_threshold: a daemon \(pid \d+\) serves from this store: .*: run `grit doctor --fix` without --no-daemon/);
    // With another run directory: `grit daemon stop` would stop another daemon; that one is named.
    const elsewhere = grit(repo, ['rebuild', '--json']);
    assert.equal(elsewhere.code, 5, elsewhere.stdout + elsewhere.stderr);
    assert.equal(
      elsewhere.json.error.message,
      `a daemon of another run directory (pid ${daemon.child!.pid}, ${daemon.runDir}) serves from this store: rebuilding it here would empty it under the daemon`,
    );
    assert.equal(elsewhere.json.error.details.daemon_run_dir, daemon.runDir);
    assert.equal(
      elsewhere.json.error.details.suggestion,
      `give the CLI that daemon's GRIT_RUN_DIR (\`GRIT_RUN_DIR=${daemon.runDir} grit rebuild\`: it then rebuilds the store it serves), or stop it (\`GRIT_RUN_DIR=${daemon.runDir} grit daemon stop\`) first`,
    );
    assert.match(gritDoctor(repo, ['--fix']).failed.join('\n'), new RegExp(`^rebuild_threshold: a daemon of another run directory .*GRIT_RUN_DIR=${daemon.runDir} grit doctor --fix`));
    assert.deepEqual(gritOk(repo, ['issue', 'list']), before, 'nothing was emptied');

    // Through the daemon, both run: it rebuilds the store it serves.
    const fixed = gritDoctor(repo, ['--fix'], { env: daemon.env });
    assert.ok(fixed.applied.some((a: string) => /rebuilt the store .*7 events/.test(a)), fixed.applied.join('\n'));
    assert.deepEqual(fixed.failed, []);
    assert.equal(gritOk(repo, ['rebuild'], { env: daemon.env }).event_count, 7);
    assert.deepEqual(gritOk(repo, ['issue', 'list']), before);
  } finally {
    await daemon.stop();
  }
});

test('while a lease renew has daemon.lock moved aside, the live daemon is still found serving the store: rebuild --no-daemon refuses, another daemon declines the actor', { timeout: 120_000 }, async () => {
  const paused = join(tempDir(), 'paused');
  const [daemon, other] = [await startDaemon({ env: { GRIT_FAULT: `lease:moved-aside:pause:${paused}` } }), await startDaemon()];
  try {
    const repo = tempRepo();
    const actorDir: string = (await gritInit(repo)).actor.data_dir;
    gritOk(repo, ['issue', 'create', '--title', 'served'], { env: daemon.env });
    // Its first heartbeat (5 s on) holds the moment open until the test removes `paused`.
    await until('the lease renew moved daemon.lock aside', () => existsSync(paused));
    assert.equal(existsSync(join(actorDir, 'daemon.lock')), false);

    const local = grit(repo, ['rebuild', '--json', '--no-daemon'], { env: daemon.env });
    assert.equal(local.json.error?.code, 'db_busy', local.stdout + local.stderr);
    assert.equal(local.json.error.details.daemon_pid, daemon.child!.pid);
    const elsewhere = grit(repo, ['rebuild', '--json']);
    assert.equal(elsewhere.json.error?.details.daemon_run_dir, daemon.runDir, elsewhere.stdout);
    const declined = grit(repo, ['issue', 'list', '--json'], { env: other.env });
    assert.equal(declined.json.data.total, 1, declined.stdout);
    assert.match(declined.stderr, new RegExp(`does not serve actor .*: daemon pid ${daemon.child!.pid} .* holds its lease`));
    assert.deepEqual(gritOk(repo, ['daemon', 'status'], { env: other.env }).workers, [], 'the lease was not taken over');
  } finally {
    // Each heartbeat after, and the release, stop there again: let them go until the daemon exits.
    const letGo = setInterval(() => rmSync(paused, { force: true }), 10);
    await Promise.all([daemon.stop(), other.stop()]);
    clearInterval(letGo);
  }
});

test('a store another user\'s daemon serves: rebuild and doctor --fix name its run directory and owner, and say what that user can do', { skip: process.getuid?.() !== 0 && 'needs root to hand the lease to another user' }, async () => {
  const repo = tempRepo();
  const dataDir: string = (await gritInit(repo)).actor.data_dir;
  const cfg = join(repo, '.git', 'grit', 'config.toml');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('max_events = 10000', 'max_events = 1'));
  // Two events applied since the first, which built the store: doctor --fix would rebuild it.
  for (const title of ['x', 'y', 'z']) await gritSetup(repo, ['issue', 'create', '--title', title]);
  // The lease as that daemon writes it (its holder here: this live process), owned by `nobody`.
  const lease = join(dataDir, 'daemon.lock');
  const other = '/tmp/someone-else-run';
  writeFileSync(lease, JSON.stringify({ pid: process.pid, host_id: hostname(), expires_ts: Date.now() + 600_000, ipc_endpoint: `ipc://${other}/daemon.sock` }));
  chownSync(lease, 65534, 65534);
  const owner = (readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === '65534') ?? '').split(':')[0] || 'uid 65534';
  const r = grit(repo, ['rebuild', '--json']);
  assert.equal(r.code, 5, r.stdout + r.stderr);
  assert.equal(r.json.error.message, `a daemon of another run directory (pid ${process.pid}, ${other}, user ${owner}) serves from this store: rebuilding it here would empty it under the daemon`);
  assert.deepEqual([r.json.error.details.daemon_run_dir, r.json.error.details.daemon_owner], [other, owner]);
  assert.equal(
    r.json.error.details.suggestion,
    `that daemon is user ${owner}'s: ask them to stop it (\`GRIT_RUN_DIR=${other} grit daemon stop\`), or wait until it lets the actor go (after 120 s without a request for it, by default), then run \`grit rebuild\` again`,
  );
  assert.match(gritDoctor(repo, ['--fix']).failed.join('\n'), new RegExp(`^rebuild_threshold: a daemon of another run directory .*user ${owner}'s: .*then run \`grit doctor --fix\` again`));
  rmSync(lease);
});

test('a daemon.lock whose pid now names a process started after the lease (reused after a crash) holds nothing: rebuild and doctor --fix go ahead', { skip: process.platform !== 'linux' && 'reads process start times from /proc' }, async () => {
  const repo = tempRepo();
  const dataDir: string = (await gritInit(repo)).actor.data_dir;
  await gritSetup(repo, ['issue', 'create', '--title', 'kept']);
  const lease = join(dataDir, 'daemon.lock');
  // The unrelated process that got the dead daemon's pid.
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const day = 86_400_000;
    const leaseOf = (startedTs: number, expiresTs: number) =>
      JSON.stringify({ pid: other.pid, started_ts: startedTs, host_id: hostname(), lease_ms: 15_000, last_heartbeat_ts: expiresTs - 15_000, expires_ts: expiresTs, ipc_endpoint: 'ipc:///nowhere/daemon.sock' });
    // Taken after that process started (as its own would be): it holds the store, expired or not.
    writeFileSync(lease, leaseOf(Date.now() + 5_000, Date.now() - day));
    const held = grit(repo, ['rebuild', '--json', '--no-daemon']);
    assert.equal(held.code, 5, held.stdout + held.stderr);
    assert.match(held.json.error.message, new RegExp(`^a daemon .*\\(pid ${other.pid}\\b.*\\) serves from this store`));
    // Taken a day before that process started: another process's lease.
    writeFileSync(lease, leaseOf(Date.now() - day - 60_000, Date.now() - day));
    const doctor = gritDoctor(repo, []);
    assert.match(JSON.stringify(doctor.checks), new RegExp(`process ${other.pid} started after the lease was taken`));
    const rebuilt = grit(repo, ['rebuild', '--json', '--no-daemon']);
    assert.equal(rebuilt.code, 0, rebuilt.stdout + rebuilt.stderr);
    assert.equal(rebuilt.json.data.event_count, 1);
    assert.equal(gritDoctor(repo, ['--fix']).failed.length, 0);
  } finally {
    other.kill();
  }
});

test('a live daemon\'s lease taken before the wall clock was stepped holds: its process is told by its start since boot, and a pid reused by another start, not by the clock', { skip: process.platform !== 'linux' && 'reads process start times from /proc' }, async () => {
  const repo = tempRepo();
  const actorDir: string = (await gritInit(repo)).actor.data_dir;
  const lease = join(actorDir, 'daemon.lock');
  // Its holder: this live process, heartbeating (not expired).
  const mine = procStart(process.pid)!;
  const leaseOf = (startedTs: number, start: ProcStart) =>
    JSON.stringify({ pid: process.pid, started_ts: startedTs, ...start, host_id: hostname(), lease_ms: 15_000, last_heartbeat_ts: Date.now(), expires_ts: Date.now() + 15_000, ipc_endpoint: 'ipc:///nowhere/daemon.sock' });
  const day = 86_400_000;
  try {
    // Taken while the clock was a day behind, which NTP has stepped forward since (or a day ahead, stepped back).
    for (const startedTs of [Date.now() + day, Date.now() - day]) {
      writeFileSync(lease, leaseOf(startedTs, mine));
      assert.equal(leaseIsLive(readLease(actorDir)!), true);
      assert.deepEqual(judgeLock(lease), { stale: false, why: `held by process ${process.pid}` });
    }
    const held = grit(repo, ['rebuild', '--json', '--no-daemon']);
    assert.equal(held.code, 5, held.stdout + held.stderr);
    assert.match(held.json.error.message, new RegExp(`^a daemon .*\\(pid ${process.pid}\\b.*\\) serves from this store`));
    // The pid of another start, or of another boot: another process's lease, whatever its started_ts says.
    for (const start of [{ ...mine, proc_start_ticks: mine.proc_start_ticks - 1 }, { ...mine, boot_id: '00000000-0000-0000-0000-000000000000' }]) {
      writeFileSync(lease, leaseOf(Date.now(), start));
      assert.equal(leaseIsLive(readLease(actorDir)!), false);
      assert.deepEqual(judgeLock(lease), { stale: true, why: `process ${process.pid} started after the lease was taken, so it is another process` });
    }
  } finally {
    rmSync(lease, { force: true });
  }
});

test('a rebuild empties the store only once it has read the WAL, also after plain git deleted the ref, and replaces it when the WAL is gone', async () => {
  const { rebuildStore } = await import('../../src/commands/rebuild.js');
  const repo = tempRepo();
  const dataDir: string = (await gritInit(repo)).actor.data_dir;
  for (const title of ['e1', 'e2', 'e3']) await gritSetup(repo, ['issue', 'create', '--title', title]);
  const steps: string[] = [];
  const rebuild = async () => {
    const ctx = RepoContext.open({ cwd: repo });
    try {
      // Spied on the instances: what the replay reads, and when the store is emptied.
      const readChunk = ctx.wal.readChunk.bind(ctx.wal);
      ctx.wal.readChunk = (link) => (steps.push('read'), readChunk(link));
      const clear = ctx.store.clear.bind(ctx.store);
      ctx.store.clear = () => (steps.push('clear'), clear());
      return await rebuildStore(ctx, false);
    } finally {
      await ctx.close();
    }
  };
  assert.equal((await rebuild()).event_count, 3);
  assert.deepEqual(steps, ['read', 'read', 'read', 'clear'], 'every commit read before the store is emptied');
  assert.deepEqual(readdirSync(dataDir).filter((f) => f.includes('before-rebuild')), [], 'the copy is gone');
  // The ref deleted by plain git: the rebuild first points it at the commits git still has (sync.md,
  // "Plain git and refs/grit/*"), then replays them; still nothing emptied before they are read.
  git(repo, 'update-ref', '-d', WAL_REF);
  steps.length = 0;
  assert.equal((await rebuild()).event_count, 3);
  assert.deepEqual([steps.at(-1), steps.filter((s) => s === 'read').length >= 3], ['clear', true], steps.join(' '));
  // Started over as docs/sync.md says (refs and repository id deleted): no WAL at all, and the
  // store holds nothing after the rebuild (nothing read, nothing written).
  git(repo, 'update-ref', '-d', WAL_REF);
  rmSync(join(repo, '.git', 'grit', 'repository-id'));
  steps.length = 0;
  assert.deepEqual([(await rebuild()).event_count, steps.includes('read')], [0, false]);
  assert.equal((await gritSetup(repo, ['issue', 'list'])).total, 0);
});

test('a rebuild through the daemon whose worker thread ends mid-way leaves no copy of the store, though the daemon (whose pid names it) lives on', async () => {
  const daemon = await startDaemon({ env: { GRIT_FAULT: 'rebuild:copied:exit' } });
  try {
    const env = daemonEnv(daemon.runDir);
    const repo = tempRepo();
    const actorDir: string = (await gritInit(repo)).actor.data_dir;
    for (const title of ['c1', 'c2']) gritOk(repo, ['issue', 'create', '--title', title], { env });
    const failed = grit(repo, ['rebuild', '--json'], { env });
    assert.equal(failed.json?.error.code, 'internal_error', failed.stdout + failed.stderr);
    assert.match(failed.json.error.message, /^the worker for actor [0-9a-f]{32} stopped unexpectedly$/);
    assert.deepEqual(readdirSync(actorDir).filter((f) => f.includes('before-rebuild')), [], 'the copy went with its thread');
    assert.equal(gritDoctor(repo, [], { env }).checks.find((c: { id: string }) => c.id === 'temp_files').status, 'ok');
    assert.deepEqual(gritOk(repo, ['issue', 'list'], { env }).issues.map((i: { title: string }) => i.title).sort(), ['c1', 'c2'], 'the store was not emptied');
  } finally {
    await daemon.stop();
  }
});

test('a rebuild killed while it holds its copy of the store: the copy is named after it, the next rebuild deletes it; a Ctrl-C leaves none', { timeout: 300_000 }, async () => {
  const repo = tempRepo();
  const actorDir: string = (await gritInit(repo)).actor.data_dir;
  // A store worth copying, and a replay long enough to be caught in.
  await generateWal(join(repo, '.git'), { seed: 8, events: 20_000, actors: ACTORS, packed: true });
  await gritSetup(repo, ['issue', 'list']);
  const copies = () => readdirSync(actorDir).filter((f) => f.includes('before-rebuild'));
  /** Starts a rebuild and sends it `signal` once its copy is there; the name of the copy it had. */
  const interrupt = async (signal: NodeJS.Signals): Promise<string> => {
    const child = spawn(process.execPath, [GRIT_BIN, 'rebuild'], { cwd: repo, env: { ...process.env, GRIT_NO_DAEMON: '1' }, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const name = `store.mdb.before-rebuild-${child.pid}`;
    await until(`the copy ${name}`, () => copies().includes(name));
    child.kill(signal);
    await exited;
    return name;
  };

  const killed = await interrupt('SIGKILL');
  assert.deepEqual(copies(), [killed], 'kill -9 skips the rebuild\'s cleanup');
  // A copy of a process that is gone, left alone a while, is one of doctor's temporary files.
  const old = new Date(Date.now() - 120_000);
  utimesSync(join(actorDir, killed), old, old);
  const legacy = join(actorDir, 'store.mdb.before-rebuild'); // an older grit's name: judged by its age only
  writeFileSync(legacy, 'copy');
  utimesSync(legacy, old, old);
  const found = gritDoctor(repo).checks.find((c: { id: string }) => c.id === 'temp_files');
  assert.equal(found.status, 'warn');
  assert.ok(found.message.includes(killed) && found.message.includes(legacy), found.message);

  const rebuilt = gritOk(repo, ['rebuild']);
  assert.equal(rebuilt.event_count, 20_000);
  assert.deepEqual(copies(), [], 'the next rebuild deleted both');

  await interrupt('SIGINT');
  assert.deepEqual(copies(), [], 'a Ctrl-C removes the copy');
  assert.equal((await gritSetup(repo, ['db', 'check'])).errors.length, 0);
});
