/**
 * A snapshot from elsewhere is a claim about the WAL, checked once before it is used
 * (src/git/snapshot-trust.ts): sync refuses to import one that is not exactly the WAL's events up
 * to its wal_head, and rebuild, doctor and the snapshot policy never use one that arrived by plain
 * git and does not match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeChunk } from '../../src/core/chunk.js';
import type { Event } from '../../src/core/event.js';
import { toHex } from '../../src/core/hex.js';
import { writeSnapshotObjects } from '../../src/git/snapshot.js';
import { Wal } from '../../src/git/wal.js';
import { git, grit, gritOk, gritDoctor, importKey, setSignaturePolicy, gritInit, gritSetup } from '../helpers/repo.js';
import { chunkCommit } from '../reliability/_remote.js';
import { gitBytes, network, walEvents } from './_helpers.js';
import { writeObjects } from '../helpers/objects.js';

/**
 * Writes a snapshot of `events` claiming to be the WAL up to `walHead` into a clone, under `ref`;
 * with `eventCount`, its snapshot.json claims that many events instead of those it holds.
 */
function craft(clone: string, events: readonly Event[], walHead: string, ref: string, eventCount?: number): string {
  const wal = new Wal(join(clone, '.git'));
  let { commit } = writeObjects(wal.gitDir, (sink) => writeSnapshotObjects(sink, [], events, walHead, Date.now(), 'ee'.repeat(16)));
  wal.objects.close();
  if (eventCount !== undefined) {
    const meta = JSON.parse(git(clone, 'cat-file', 'blob', `${commit}:snapshot.json`));
    const blob = gitBytes(clone, ['hash-object', '-w', '--stdin'], `${JSON.stringify({ ...meta, event_count: eventCount })}\n`).toString().trim();
    const tree = git(clone, 'cat-file', '-p', `${commit}^{tree}`).replace(/blob [0-9a-f]{40}\tsnapshot\.json/, `blob ${blob}\tsnapshot.json`);
    commit = git(clone, 'commit-tree', gitBytes(clone, ['mktree'], tree).toString().trim(), '-m', 'recounted').trim();
  }
  git(clone, 'update-ref', ref, commit);
  return commit;
}

const verdicts = (clone: string) => readFileSync(join(clone, '.git', 'grit', 'snapshot-verdicts'), 'utf8');
/** The titles of a clone's issues, a read only compared (gritSetup). */
const titles = async (clone: string): Promise<string[]> => (await gritSetup(clone, ['issue', 'list'])).issues.map((i: { title: string }) => i.title).sort();

/** Three clones: a has three issues synced, c one issue of its own not synced; b has pulled a's. */
async function scene() {
  const { remote, clones } = await network(3);
  const [a, b, c] = clones;
  for (const t of ['one', 'two', 'three']) await gritSetup(a, ['issue', 'create', '--title', t]);
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  await gritSetup(c, ['issue', 'create', '--title', 'only in c']);
  const head = git(a, 'rev-parse', 'refs/grit/wal').trim();
  const events = await walEvents(join(a, '.git'));
  const foreign = (await walEvents(join(c, '.git')))[0];
  return { remote, a, b, c, head, events, foreign };
}

test('sync refuses a remote snapshot that is not the WAL up to its wal_head, and imports an honest one', { timeout: 60_000 }, async () => {
  const { a, b, c, head, events } = await scene();
  // Published on the remote: an empty snapshot claiming the whole WAL, and an honest one.
  craft(a, [], head, 'refs/grit/snapshots/1000');
  const honest = craft(a, [...events].reverse(), head, 'refs/grit/snapshots/2000'); // order is not part of the claim
  // And one ending at a head only its writer had (never pushed): not a hole in anyone's WAL.
  const unpushed = 'e'.repeat(40);
  craft(a, events, unpushed, 'refs/grit/snapshots/3000');
  git(a, 'push', '-q', 'origin', 'refs/grit/snapshots/1000', 'refs/grit/snapshots/2000', 'refs/grit/snapshots/3000');
  const r = grit(b, ['sync', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const d = r.json.data;
  assert.equal(d.snapshots_fetched, 1);
  assert.deepEqual(d.snapshots_refused.map((s: { ref: string }) => s.ref), ['refs/grit/snapshots/1000', 'refs/grit/snapshots/3000']);
  assert.match(d.snapshots_refused[0].reason, new RegExp(`lacks 3 events of the WAL up to its wal_head ${head}`));
  assert.equal(d.snapshots_refused[1].reason, `its wal_head ${unpushed} is in no WAL this repository has: a commit its writer had not pushed, or rebased away since`);
  assert.match(r.stderr, /snapshot refs\/grit\/snapshots\/1000 from origin was not imported: it lacks 3 events/);
  assert.deepEqual(git(b, 'for-each-ref', '--format=%(refname)', 'refs/grit/snapshots/').trim(), 'refs/grit/snapshots/2000');
  assert.match(verdicts(b), new RegExp(`^${honest} verified events=3$`, 'm'));
  const rebuilt = gritOk(b, ['rebuild', '--from-snapshot']);
  assert.deepEqual([rebuilt.from_snapshot, rebuilt.snapshot_ref, rebuilt.event_count], [true, 'refs/grit/snapshots/2000', 3]);
  assert.deepEqual(await titles(b), ['one', 'three', 'two']);
  assert.match(grit(b, ['sync']).stdout, /^pulled 0 events, rebased 0, pushed 0 · /);
  // The human line counts the refusal; why is in the warning (it may also be "cannot be checked").
  const human = grit(c, ['sync']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^pulled 3 events, rebased 1, pushed 1, 1 snapshot, 2 snapshots refused · origin wal [0-9a-f]{8}\n$/);
  assert.match(human.stderr, /snapshot refs\/grit\/snapshots\/1000 from origin was not imported: it lacks 3 events/);
});

/** A dishonest snapshot: a label, the events it holds, the reason it must be refused, and the count its snapshot.json claims if not theirs. */
type RefusalCase = [string, Event[], RegExp, number?];

let crafted = 9_000_000_000_000;

/**
 * Crafts each case into `clone` by plain git as the newest snapshot of the WAL up to `head`: a
 * rebuild passes over it (a full replay of `count` events, the same issues) and its verdict is
 * `refused` with the case's reason.
 */
async function refusedForGood(clone: string, head: string, cases: readonly RefusalCase[], count: number): Promise<void> {
  const full = await titles(clone);
  for (const [label, evs, why, claimed] of cases) {
    const oid = craft(clone, evs, head, `refs/grit/snapshots/${crafted++}`, claimed);
    const r = gritOk(clone, ['rebuild', '--from-snapshot']);
    assert.deepEqual([r.from_snapshot, r.event_count], [false, count], label);
    assert.deepEqual(await titles(clone), full, label);
    const line = verdicts(clone).split('\n').find((l) => l.startsWith(oid));
    assert.match(line ?? '', new RegExp(`^${oid} refused `), label);
    assert.match(line!, why, label);
  }
}

test('a snapshot fetched by plain git is checked before its first use: missing, extra, doubled or re-signed events, or a wrong count, are refused for good', { timeout: 60_000 }, async () => {
  const { b, head, events, foreign } = await scene();
  const stripped = { ...events[1], sig: new Uint8Array(64).fill(7) };
  const cases: RefusalCase[] = [
    ['none', [], /lacks 3 events/],
    ['missing', events.slice(0, 2), /lacks 1 event of the WAL/],
    ['extra', [...events, foreign], /holds 1 event that the WAL up to its wal_head \S+ lacks/],
    ['doubled', [...events, events[0]], /holds event \S+ more than once/],
    ['re-signed', [events[0], stripped, events[2]], /holds 1 event that the WAL .* another signature/],
    ['miscounted', events, /holds 3 events, not 4/, 4],
  ];
  await refusedForGood(b, head, cases, 3);
  // The verdicts stand: the next rebuild does not check them again (a changed file would be believed).
  writeFileSync(join(b, '.git', 'grit', 'snapshot-verdicts'), verdicts(b).replace(/ refused .*$/gm, ' refused (recorded)'));
  const again = gritOk(b, ['rebuild', '--from-snapshot']);
  assert.equal(again.from_snapshot, false);
  assert.doesNotMatch(verdicts(b), / refused it /);
  // Refused, they can never be used: doctor says so, and `snapshot gc` deletes them first, keeping
  // the trusted snapshot though the refused refs are newer by name.
  const good = gritOk(b, ['snapshot']).snapshot_ref;
  const check = gritDoctor(b).checks.find((c: any) => c.id === 'snapshots');
  assert.equal(check.status, 'warn');
  assert.match(check.message, /^6 of 7 snapshots can never be used: .*refused when checked against the WAL/);
  const gc = gritOk(b, ['snapshot', 'gc', '--keep', '1']);
  assert.deepEqual([gc.kept, gc.deleted.length, gc.unusable.length], [[good], 6, 6]);
  assert.equal(gritOk(b, ['rebuild', '--from-snapshot']).from_snapshot, true);
});

test('the newest snapshot is the one covering the most of the WAL, not the latest name: an unchecked one named a year ahead is not even checked while a trusted one covers more', { timeout: 60_000 }, async () => {
  const { b, head, events } = await scene();
  const made = gritOk(b, ['snapshot']).snapshot_ref;
  // Fetched by plain git, named and dated by a clock a year ahead, and short of an event.
  const ahead = Date.now() + 365 * 86_400_000;
  const future = `refs/grit/snapshots/${ahead}`;
  const oid = craft(b, events.slice(0, 2), head, future);
  const rebuilt = gritOk(b, ['rebuild', '--from-snapshot']);
  assert.deepEqual([rebuilt.snapshot_ref, rebuilt.snapshots_skipped, rebuilt.event_count], [made, undefined, 3]);
  assert.deepEqual(gritOk(b, ['snapshot']), { snapshot_ref: made, wal_head: head, event_count: 3, created: false });
  assert.ok(!verdicts(b).includes(oid), 'never checked: a snapshot covering more was there');
  const gc = gritOk(b, ['snapshot', 'gc', '--keep', '1']);
  assert.deepEqual([gc.kept, gc.deleted], [[made], [future]]);
});

test('a bad snapshot is not spread: the policy snapshot and doctor --fix are built from the WAL, not from it', { timeout: 60_000 }, async () => {
  const { remote, b, head, foreign } = await scene();
  // The empty snapshot QA published, fetched with plain git (as `+refs/grit/*:refs/grit/*` would).
  craft(b, [foreign], head, 'refs/grit/snapshots/1');
  const cfg = join(b, '.git', 'grit', 'config.toml');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/max_events = \d+/, 'max_events = 1'));
  await gritSetup(b, ['issue', 'create', '--title', 'b-new']);
  const s = await gritSetup(b, ['sync']);
  assert.deepEqual([s.snapshot?.event_count, s.snapshot?.pushed], [4, true]);
  assert.match(verdicts(b), new RegExp(`^${git(b, 'rev-parse', s.snapshot.snapshot_ref).trim()} made copies=0 events=4$`, 'm'));
  // A fourth clone takes the pushed snapshot, checks it, and gets every issue from it.
  const [d] = (await network(1)).clones;
  git(d, 'remote', 'set-url', 'origin', remote);
  await gritSetup(d, ['sync']);
  const fromSnap = gritOk(d, ['rebuild', '--from-snapshot']);
  assert.deepEqual([fromSnap.from_snapshot, fromSnap.event_count], [true, 4]);
  assert.deepEqual(await titles(d), ['b-new', 'one', 'three', 'two']);
  // doctor --fix on a damaged store skips the refused snapshot (the policy one is newer: drop it).
  git(b, 'update-ref', '-d', s.snapshot.snapshot_ref);
  const store = join((await gritSetup(b, ['actor', 'current'])).actor.data_dir, 'store.mdb');
  const bytes = readFileSync(store);
  for (let i = 0; i < bytes.length; i += 97) bytes[i] ^= 0xa5;
  writeFileSync(store, bytes);
  const fixed = gritDoctor(b, ['--fix']);
  assert.ok(fixed.applied.some((x: string) => /\(4 events from the WAL\)/.test(x)), fixed.applied.join('\n'));
  assert.deepEqual(await titles(b), ['b-new', 'one', 'three', 'two']);
});

/** What a clone shows: every issue (listed and shown, reads only compared) and every event with the signature it kept. */
async function state(clone: string) {
  const exported = JSON.parse(grit(clone, ['export', '-o', '-']).stdout);
  const issues = await gritSetup(clone, ['issue', 'list']);
  const shown = [];
  for (const i of issues.issues as { issue_id: string }[]) shown.push(await gritSetup(clone, ['issue', 'show', i.issue_id]));
  return { issues, shown, exported: { issues: exported.issues, events: exported.events } };
}

/**
 * A rebuild from the snapshot `ref` gives exactly what a rebuild from the WAL gives (SPEC §3), the
 * copy of each event kept included, and a store `db check` finds clean. Returns the rebuild's event count.
 */
async function rebuildsAgree(clone: string, ref: string): Promise<number> {
  const full = gritOk(clone, ['rebuild']);
  const want = await state(clone);
  const snap = gritOk(clone, ['rebuild', '--from-snapshot']);
  assert.deepEqual([snap.from_snapshot, snap.snapshot_ref, snap.wal_head, snap.event_count], [true, ref, full.wal_head, full.event_count]);
  assert.deepEqual(await state(clone), want);
  const check = await gritSetup(clone, ['db', 'check']);
  assert.deepEqual([check.corrupt_count, check.errors, check.events_checked], [0, [], full.event_count]);
  return full.event_count;
}

test('a WAL holding two copies of one event: its snapshot holds both, is trusted elsewhere, and gives each clone the copy the WAL gives it', { timeout: 180_000 }, async () => {
  const { remote, clones } = await network(3, { init: false });
  const [writer, keyed, plain] = clones;
  const actor = (await gritInit(writer, { generate_key: true })).actor.actor_id as string;
  const id = (await gritSetup(writer, ['issue', 'create', '--title', 'one'])).issue_id as string;
  await gritSetup(writer, ['issue', 'comment', id, '--body', 'c1']);
  await gritSetup(writer, ['sync']);
  // A second copy of the IssueCreated, published by a tool: its signature is bad, and its bytes
  // sort first, so a clone that does not know the writer's key keeps it (docs/signing.md).
  const [good, comment] = await walEvents(join(writer, '.git'));
  const bad: Event = { ...good, sig: new Uint8Array(64) };
  chunkCommit(remote, actor, encodeChunk([bad]).bytes);
  await gritInit(keyed);
  importKey(keyed, writer, actor);
  setSignaturePolicy(keyed, 'reject');
  await gritInit(plain);
  for (const c of clones) assert.equal((await gritSetup(c, ['sync'])).pulled, c === writer ? 0 : 2);
  // Commands that count records say how many are copies (docs/wal.md, "Two copies of one event").
  assert.match(grit(writer, ['db', 'verify']).stdout, /^3 events \(2 distinct, 1 a further copy\) in the WAL: 3 signatures checked, 2 valid/);
  assert.equal(gritOk(writer, ['db', 'verify']).copies, 1);
  const walRef = gritDoctor(writer).checks.find((c: { id: string }) => c.id === 'wal_ref');
  assert.match(walRef.message, /3 events, .*but 1 of them is a further copy of an event before \(an event written twice, each copy with its own signature, or a commit copied/);
  // The writer knows its key: its store keeps the valid copy, so a rebuild applied no bad signature and says none.
  const rebuilt = grit(writer, ['rebuild', '--json']);
  assert.equal(rebuilt.json.data.event_count, 2);
  assert.doesNotMatch(rebuilt.stderr, /bad or missing signature/);
  assert.equal(grit(keyed, ['db', 'verify', '--json']).json.data.copies, 1);
  const head = git(remote, 'rev-parse', 'refs/grit/wal').trim();
  const sigKept = async (clone: string) => (await state(clone)).exported.events.find((e: { event_id: string }) => e.event_id === toHex(good.event_id)).sig;
  const fetched = (clone: string) => {
    const r = grit(clone, ['sync', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([r.json.data.snapshots_fetched, r.json.data.snapshots_refused], [1, []], clone);
  };

  // Written where the bad copy is kept, used where the good one is (under reject: a snapshot with
  // only the bad copy would lose the issue there).
  const fromPlain = gritOk(plain, ['snapshot']);
  assert.deepEqual([fromPlain.created, fromPlain.wal_head, fromPlain.event_count, fromPlain.copies], [true, head, 3, 1], 'each copy is an event of the snapshot');
  git(plain, 'push', '-q', 'origin', fromPlain.snapshot_ref);
  for (const c of [keyed, writer]) {
    fetched(c);
    assert.match(verdicts(c), new RegExp(`^${git(c, 'rev-parse', fromPlain.snapshot_ref).trim()} verified events=3$`, 'm'));
    assert.equal(await rebuildsAgree(c, fromPlain.snapshot_ref), 2);
    assert.equal(await sigKept(c), toHex(good.sig!));
  }
  assert.equal(await rebuildsAgree(plain, fromPlain.snapshot_ref), 2);
  assert.equal(await sigKept(plain), toHex(bad.sig!));

  // And the other way: written where the good copy is kept, used where the bad one is.
  await gritSetup(writer, ['issue', 'create', '--title', 'two']);
  await gritSetup(writer, ['sync']);
  const fromWriter = grit(writer, ['snapshot']).stdout;
  assert.match(fromWriter, /^wrote (refs\/grit\/snapshots\/\S+): 4 events \(3 distinct, 1 a further copy\) up to /);
  const fromWriterRef = /^wrote (\S+):/.exec(fromWriter)![1];
  git(writer, 'push', '-q', 'origin', fromWriterRef);
  for (const c of [plain, keyed]) {
    fetched(c);
    assert.equal(await rebuildsAgree(c, fromWriterRef), 3);
  }
  assert.equal(await sigKept(plain), toHex(bad.sig!));
  assert.equal(await sigKept(keyed), toHex(good.sig!));

  // Dishonest snapshots of this WAL are still refused: the copies count as events of their own.
  gritOk(keyed, ['snapshot', 'gc', '--keep', '0']);
  const events = [good, comment, bad];
  await refusedForGood(keyed, head, [
    ['one copy', [good, comment], /lacks 1 event of the WAL .*; 1 of them is a copy of an event it holds, with another signature$/],
    ['the other copy re-signed', [good, comment, { ...bad, sig: new Uint8Array(64).fill(1) }], /holds 1 event that the WAL .* another signature/],
    ['a copy twice', [...events, bad], /holds event \S+ more than once/],
    ['counting events, not copies', events, /holds 3 events, not 2/, 2],
  ], 3);
  // Copies are ordered by signature: the snapshot's bytes do not depend on the order they were read in.
  const wal = new Wal(join(keyed, '.git'));
  const written = (evs: Event[]) => writeObjects(wal.gitDir, (sink) => writeSnapshotObjects(sink, [], evs, head, 1, actor)).commit;
  assert.equal(written([good, comment, bad]), written([bad, comment, good]));
  wal.objects.close();
});
