import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runLocal } from '../../src/commands/run.js';
import { decodeChunk, encodeChunk } from '../../src/core/chunk.js';
import { extraCopies, makeEvent, type Event } from '../../src/core/event.js';
import { stamped } from '../../src/core/timestamp.js';
import { ObjectStore } from '../../src/git/objects.js';
import { PackBuilder } from '../../src/git/pack-write.js';
import { openBase, planSnapshot } from '../../src/git/snapshot-reuse.js';
import { isTrusted, readVerdicts, recordVerdict } from '../../src/git/snapshot-trust.js';
import { HeldRecords, SnapshotCopies, writeSnapshotObjects, type SnapshotMeta } from '../../src/git/snapshot.js';
import { writeObjects } from '../helpers/objects.js';
import { generateWal } from '../helpers/gen-events.js';
import { fsckClean, git, grit, gritOk, tempRepo as cliRepo, gritInit, gritSetup } from '../helpers/repo.js';
import { ACTOR, comment, DAY, tempRepo } from './_util.js';

const HEAD = 'ab'.repeat(20);
const copyOf = (e: Event, fill: number): Event => ({ ...e, sig: new Uint8Array(64).fill(fill) });

/** The events tree and chunk list of a snapshot of `records` written from scratch. */
function fromScratch(records: readonly Event[]): { tree: string; meta: SnapshotMeta } {
  const pack = new PackBuilder();
  const { commit, meta } = writeSnapshotObjects(pack.sink(), [], records, HEAD, 1, 'ee'.repeat(16));
  return { tree: eventsTree(pack, commit), meta };
}

/** The oid of the `events` tree of a commit in `pack` (objects that were never written anywhere). */
function eventsTree(pack: PackBuilder, commit: string): string {
  const dir = join(tempRepo().gitDir);
  pack.write(dir, { fsync: false });
  const objects = new ObjectStore(dir);
  return objects.readTree(objects.readCommit(commit).tree).find((e) => e.name === 'events')!.oid;
}

test('a snapshot on a base reuses the chunks that end before every new record, reads only the chunks after them, and is byte for byte a snapshot written from scratch', () => {
  const { gitDir } = tempRepo();
  const events = Array.from({ length: 2700 }, (_, i) => comment(`c${i}`, DAY + i));
  // Copies of one event (another signature) across the end of chunk 0: 2,601 base records.
  const base = [...events.slice(0, 2600), copyOf(events[999], 1)];
  const { commit, meta } = writeObjects(gitDir, (sink) => writeSnapshotObjects(sink, [], base, HEAD, 1, 'ee'.repeat(16)));
  assert.deepEqual(meta.chunks.map((c) => c.event_count), [1000, 1000, 601]);
  const scenarios: { name: string; fresh: Event[]; reused: number; copies?: number | null }[] = [
    { name: 'later events', fresh: events.slice(2600), reused: 2 },
    { name: 'a copy of the last record of a full chunk', fresh: [copyOf(events[1998], 2)], reused: 2 },
    { name: 'an event that lands in chunk 1', fresh: [comment('late', DAY + 1500)], reused: 1 },
    { name: 'an event before them all', fresh: [comment('early', DAY - 1)], reused: 0 },
    { name: 'a base whose copies are unknown', fresh: events.slice(2600), reused: 0, copies: null },
  ];
  for (const s of scenarios) {
    const objects = new ObjectStore(gitDir);
    const read: string[] = [];
    const readBlob = objects.readBlob.bind(objects);
    objects.readBlob = (oid, opts) => (read.push(oid), readBlob(oid, opts));
    const fresh = new SnapshotCopies();
    fresh.take(s.fresh);
    const opened = openBase(objects, commit, meta, s.copies === undefined ? extraCopies(base) : s.copies);
    const plan = planSnapshot(objects, opened, fresh);
    assert.equal(plan.reused.length, s.reused, s.name);
    assert.deepEqual(plan.reused, opened.files.slice(0, s.reused), s.name);
    // The reused chunks were not read, but the last of them, which tells where the new records land.
    for (const f of opened.files.slice(0, Math.max(0, s.reused - 1))) assert.ok(!read.includes(f.oid), `${s.name}: ${f.oid} read`);
    const all = [...base, ...s.fresh];
    assert.equal(plan.copies, extraCopies(all), s.name);
    const pack = new PackBuilder();
    const made = writeSnapshotObjects(pack.sink(), plan.reused, plan.events, HEAD, 1, 'ee'.repeat(16));
    const scratch = fromScratch(all);
    assert.deepEqual(made.meta, scratch.meta, s.name);
    assert.equal(eventsTree(pack, made.commit), scratch.tree, s.name);
  }
});

/** The number of objects in each pack of `repo`, by pack name. */
function packObjects(repo: string): Map<string, number> {
  const dir = join(repo, '.git', 'objects', 'pack');
  const out = new Map<string, number>();
  for (const idx of readdirSync(dir).filter((n) => n.endsWith('.idx'))) out.set(idx, readFileSync(join(dir, idx)).readUInt32BE(8 + 255 * 4));
  return out;
}

test('grit snapshot after new events writes only their chunks; a rebuild from it is a WAL replay', { timeout: 120_000 }, async () => {
  const repo = cliRepo();
  await runLocal('Init', { no_agents_md: true }, { cwd: repo });
  const gen = await generateWal(join(repo, '.git'), { seed: 9, events: 2500, actors: [{ id: 'a1'.repeat(16) }, { id: 'b2'.repeat(16) }], packed: true });
  const s1 = gritOk(repo, ['snapshot']);
  const gen2 = await generateWal(join(repo, '.git'), { seed: 10, events: 600, actors: [{ id: 'a1'.repeat(16) }], startTs: gen.nextTs, packed: true });
  const before = packObjects(repo);
  const s2 = gritOk(repo, ['snapshot']);
  assert.equal(s2.event_count, 3100);
  const added = [...packObjects(repo)].filter(([name]) => !before.has(name));
  // Chunks 2 (full now) and 3, snapshot.json, the events tree, the root tree, the commit.
  assert.deepEqual(added.map(([, n]) => n), [6]);
  for (const chunk of ['0000', '0001']) {
    assert.equal(git(repo, 'rev-parse', `${s2.snapshot_ref}:events/${chunk}.bin`), git(repo, 'rev-parse', `${s1.snapshot_ref}:events/${chunk}.bin`));
  }
  assert.match(readFileSync(join(repo, '.git', 'grit', 'snapshot-verdicts'), 'utf8'), /^[0-9a-f]{40} made copies=0 events=3100$/m);
  // A base whose copies count is unknown (checked, not made here) is read whole, and the chunks
  // written again with its bytes name its blobs: chunk 3 (700 events now) and the four others.
  recordVerdict(join(repo, '.git'), git(repo, 'rev-parse', s2.snapshot_ref).trim(), { verdict: 'verified' });
  await generateWal(join(repo, '.git'), { seed: 11, events: 600, actors: [{ id: 'a1'.repeat(16) }], startTs: gen2.nextTs, packed: true });
  const before3 = packObjects(repo);
  const s3 = gritOk(repo, ['snapshot']);
  assert.equal(s3.event_count, 3700);
  // Chunk 3 (700 events now) changes, and chunk 2 too when one of the generator's events from the
  // "past" (up to 5 s back) lands in it; chunks 0 and 1 cannot change. Only the chunks that changed
  // are new objects, with snapshot.json, the two trees and the commit.
  const blobAt = (ref: string, chunk: string) => git(repo, 'rev-parse', `${ref}:events/${chunk}.bin`);
  const changed = ['0000', '0001', '0002', '0003'].filter((c) => blobAt(s3.snapshot_ref, c) !== blobAt(s2.snapshot_ref, c));
  assert.ok(changed.includes('0003') && !changed.includes('0000') && !changed.includes('0001'), changed.join(' '));
  assert.deepEqual([...packObjects(repo)].filter(([name]) => !before3.has(name)).map(([, n]) => n), [changed.length + 4]);
  const rebuilt = gritOk(repo, ['rebuild', '--from-snapshot']);
  assert.deepEqual([rebuilt.from_snapshot, rebuilt.snapshot_ref], [true, s3.snapshot_ref]);
  const exported = (): unknown => {
    const out = join(repo, 'export.json');
    gritOk(repo, ['export', '--format', 'json', '-o', out]);
    const data = JSON.parse(readFileSync(out, 'utf8'));
    return { ...data, meta: { ...data.meta, generated_ts: 0 } };
  };
  const fromSnapshot = exported();
  gritOk(repo, ['rebuild']);
  assert.deepEqual(exported(), fromSnapshot);
});

test('a snapshot writes again what only a killed snapshot\'s pack holds: that pack can go and the snapshot stays whole', { timeout: 60_000 }, async () => {
  const repo = cliRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'one']);
  gritOk(repo, ['snapshot']);
  await gritSetup(repo, ['issue', 'create', '--title', 'two']);
  // Killed once its pack (and .keep) is written, before its ref: nothing reaches that pack.
  grit(repo, ['snapshot'], { env: { GRIT_FAULT: 'ref:locked' } });
  const packDir = join(repo, '.git', 'objects', 'pack');
  const orphan = readdirSync(packDir).filter((n) => n.endsWith('.keep'));
  assert.equal(orphan.length, 1);
  // The same WAL head: the same chunk, events tree and snapshot.json as the orphan pack's.
  const s = gritOk(repo, ['snapshot']);
  assert.equal(s.created, true);
  for (const ext of ['.keep', '.pack', '.idx', '.rev']) rmSync(join(packDir, orphan[0].replace(/\.keep$/, ext)), { force: true });
  fsckClean(repo);
  const rebuilt = gritOk(repo, ['rebuild', '--from-snapshot']);
  assert.deepEqual([rebuilt.snapshot_ref, rebuilt.snapshots_skipped], [s.snapshot_ref, undefined]);
});

test('a made verdict records the copies count a reuse needs; older lines and other verdicts read as before', () => {
  const { gitDir } = tempRepo();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => x.repeat(40));
  recordVerdict(gitDir, a, { verdict: 'made', copies: 3 });
  recordVerdict(gitDir, b, { verdict: 'made' });
  recordVerdict(gitDir, c, { verdict: 'refused', reason: 'it holds 1 event the WAL lacks' });
  recordVerdict(gitDir, d, { verdict: 'verified' });
  const v = readVerdicts(gitDir);
  assert.deepEqual(v.get(a), { verdict: 'made', copies: 3 });
  assert.deepEqual([v.get(b)?.verdict, v.get(b)?.copies], ['made', undefined]);
  assert.deepEqual(v.get(c), { verdict: 'refused', reason: 'it holds 1 event the WAL lacks' });
  assert.equal(v.get(d)?.verdict, 'verified');
  assert.ok([a, b, d].every((x) => isTrusted(v.get(x))));
  // The count a trusted snapshot covers, which orders snapshots without reading them (newestFirst).
  const e = 'e'.repeat(40);
  recordVerdict(gitDir, e, { verdict: 'verified', events: 7 });
  recordVerdict(gitDir, a, { verdict: 'made', copies: 3, events: 12 });
  const w = readVerdicts(gitDir);
  assert.deepEqual([w.get(e), w.get(a)], [{ verdict: 'verified', events: 7 }, { verdict: 'made', copies: 3, events: 12 }]);
});

test('a snapshot from the whole WAL holds its records undecoded and writes the bytes it wrote from the decoded events', () => {
  // As the WAL gives them: decoded from chunks (their records' bytes kept), in WAL order, with
  // copies under other signatures, a copy read twice, one timestamp above 2^53 - 1 and ties on it.
  const made = Array.from({ length: 2300 }, (_, i) => comment(`c${i}`, DAY + ((i * 7919) % 2300)));
  const huge = makeEvent({ issue_id: new Uint8Array(16).fill(1), actor: ACTOR, ...stamped(2n ** 60n + 1n), parent: null, kind: { type: 'CommentAdded', body: 'far' } });
  const tie = makeEvent({ issue_id: new Uint8Array(16).fill(2), actor: new Uint8Array(16).fill(9), ...stamped(2n ** 60n + 1n), parent: null, kind: { type: 'CommentAdded', body: 'tie' } });
  const all = [...made, huge, tie, copyOf(made[5], 3), copyOf(made[5], 1), copyOf(huge, 2), made[17]];
  const chunks = [];
  for (let i = 0; i < all.length; i += 400) chunks.push(decodeChunk(encodeChunk(all.slice(i, i + 400)).bytes));
  const copies = new SnapshotCopies();
  const held = new HeldRecords();
  for (const c of chunks) {
    copies.take(c);
    held.take(c);
  }
  const decoded = [...copies.byKey.values()];
  assert.equal(held.size, decoded.length);
  assert.equal(held.copies(), extraCopies(decoded));
  assert.equal(held.copies(), 3);
  const before = fromScratch(decoded);
  const pack = new PackBuilder();
  const { commit, meta } = writeSnapshotObjects(pack.sink(), [], held, HEAD, 1, 'ee'.repeat(16));
  assert.deepEqual(meta, before.meta);
  assert.equal(eventsTree(pack, commit), before.tree);
});
