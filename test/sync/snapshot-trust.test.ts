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
import type { Event } from '../../src/core/event.js';
import { writeSnapshotObjects } from '../../src/git/snapshot.js';
import { Wal } from '../../src/git/wal.js';
import { git, grit, gritOk, gritDoctor } from '../helpers/repo.js';
import { network, walEvents } from './_helpers.js';

/** Writes a snapshot of `events` claiming to be the WAL up to `walHead` into a clone, under `ref`. */
function craft(clone: string, events: readonly Event[], walHead: string, ref: string): string {
  const wal = new Wal(join(clone, '.git'));
  const { commit } = writeSnapshotObjects(wal.objects, events, walHead, Date.now(), 'ee'.repeat(16));
  wal.objects.close();
  git(clone, 'update-ref', ref, commit);
  return commit;
}

const verdicts = (clone: string) => readFileSync(join(clone, '.git', 'grit', 'snapshot-verdicts'), 'utf8');
const titles = (clone: string) => gritOk(clone, ['issue', 'list']).issues.map((i: { title: string }) => i.title).sort();

/** Three clones: a has three issues synced, c one issue of its own not synced; b has pulled a's. */
async function scene() {
  const { remote, clones } = network(3);
  const [a, b, c] = clones;
  for (const t of ['one', 'two', 'three']) gritOk(a, ['issue', 'create', '--title', t]);
  gritOk(a, ['sync']);
  gritOk(b, ['sync']);
  gritOk(c, ['issue', 'create', '--title', 'only in c']);
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
  git(a, 'push', '-q', 'origin', 'refs/grit/snapshots/1000', 'refs/grit/snapshots/2000');
  const r = grit(b, ['sync', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const d = r.json.data;
  assert.equal(d.snapshots_fetched, 1);
  assert.deepEqual(d.snapshots_refused.map((s: { ref: string }) => s.ref), ['refs/grit/snapshots/1000']);
  assert.match(d.snapshots_refused[0].reason, new RegExp(`lacks 3 events of the WAL up to its wal_head ${head}`));
  assert.match(r.stderr, /snapshot refs\/grit\/snapshots\/1000 from origin was not imported: it lacks 3 events/);
  assert.deepEqual(git(b, 'for-each-ref', '--format=%(refname)', 'refs/grit/snapshots/').trim(), 'refs/grit/snapshots/2000');
  assert.match(verdicts(b), new RegExp(`^${honest} verified$`, 'm'));
  const rebuilt = gritOk(b, ['rebuild', '--from-snapshot']);
  assert.deepEqual([rebuilt.from_snapshot, rebuilt.snapshot_ref, rebuilt.event_count], [true, 'refs/grit/snapshots/2000', 3]);
  assert.deepEqual(titles(b), ['one', 'three', 'two']);
  assert.match(grit(b, ['sync']).stdout, /^pulled 0 events, rebased 0, pushed 0 · /);
  // The human line counts the refusal; why is in the warning (it may also be "cannot be checked").
  const human = grit(c, ['sync']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^pulled 3 events, rebased 1, pushed 1, 1 snapshot, 1 snapshot refused · origin wal [0-9a-f]{8}\n$/);
  assert.match(human.stderr, /snapshot refs\/grit\/snapshots\/1000 from origin was not imported: it lacks 3 events/);
});

test('a snapshot fetched by plain git is checked before its first use: missing, extra, doubled or re-signed events are refused for good', { timeout: 60_000 }, async () => {
  const { b, head, events, foreign } = await scene();
  const full = titles(b);
  const stripped = { ...events[1], sig: new Uint8Array(64).fill(7) };
  const cases: [string, Event[], RegExp][] = [
    ['none', [], /lacks 3 events/],
    ['missing', events.slice(0, 2), /lacks 1 event of the WAL/],
    ['extra', [...events, foreign], /holds 1 event that the WAL up to its wal_head \S+ lacks/],
    ['doubled', [...events, events[0]], /holds event \S+ more than once/],
    ['re-signed', [events[0], stripped, events[2]], /holds 1 event that the WAL .* another signature/],
  ];
  let ts = 9_000_000_000_000;
  for (const [label, evs, why] of cases) {
    const ref = `refs/grit/snapshots/${ts++}`;
    const oid = craft(b, evs, head, ref);
    const r = gritOk(b, ['rebuild', '--from-snapshot']);
    assert.deepEqual([r.from_snapshot, r.event_count], [false, 3], label);
    assert.deepEqual(titles(b), full, label);
    const line = verdicts(b).split('\n').find((l) => l.startsWith(oid));
    assert.match(line ?? '', new RegExp(`^${oid} refused it `), label);
    assert.match(line!, why, label);
  }
  // The verdicts stand: the next rebuild does not check them again (a changed file would be believed).
  writeFileSync(join(b, '.git', 'grit', 'snapshot-verdicts'), verdicts(b).replace(/ refused .*$/gm, ' refused (recorded)'));
  const again = gritOk(b, ['rebuild', '--from-snapshot']);
  assert.equal(again.from_snapshot, false);
  assert.doesNotMatch(verdicts(b), / refused it /);
});

test('a bad snapshot is not spread: the policy snapshot and doctor --fix are built from the WAL, not from it', { timeout: 60_000 }, async () => {
  const { remote, b, head, foreign } = await scene();
  // The empty snapshot QA published, fetched with plain git (as `+refs/grit/*:refs/grit/*` would).
  craft(b, [foreign], head, 'refs/grit/snapshots/1');
  const cfg = join(b, '.git', 'grit', 'config.toml');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/max_events = \d+/, 'max_events = 1'));
  gritOk(b, ['issue', 'create', '--title', 'b-new']);
  const s = gritOk(b, ['sync']);
  assert.deepEqual([s.snapshot?.event_count, s.snapshot?.pushed], [4, true]);
  assert.match(verdicts(b), new RegExp(`^${git(b, 'rev-parse', s.snapshot.snapshot_ref).trim()} made$`, 'm'));
  // A fourth clone takes the pushed snapshot, checks it, and gets every issue from it.
  const [d] = network(1).clones;
  git(d, 'remote', 'set-url', 'origin', remote);
  gritOk(d, ['sync']);
  const fromSnap = gritOk(d, ['rebuild', '--from-snapshot']);
  assert.deepEqual([fromSnap.from_snapshot, fromSnap.event_count], [true, 4]);
  assert.deepEqual(titles(d), ['b-new', 'one', 'three', 'two']);
  // doctor --fix on a damaged store skips the refused snapshot (the policy one is newer: drop it).
  git(b, 'update-ref', '-d', s.snapshot.snapshot_ref);
  const actor = gritOk(b, ['actor', 'current']);
  const store = join(actor.data_dir ?? actor.actor.data_dir, 'store.mdb');
  const bytes = readFileSync(store);
  for (let i = 0; i < bytes.length; i += 97) bytes[i] ^= 0xa5;
  writeFileSync(store, bytes);
  const fixed = gritDoctor(b, ['--fix']);
  assert.ok(fixed.applied.some((x: string) => /\(4 events from the WAL\)/.test(x)), fixed.applied.join('\n'));
  assert.deepEqual(titles(b), ['b-new', 'one', 'three', 'two']);
});
