/**
 * The snapshot policy applied by `sync --push` (issue 3): with `[snapshot] max_events = 3`, a push
 * that leaves more than three events since the newest snapshot writes one and offers it to the
 * remote; a pull-only sync never does; a snapshot already covering the WAL head is not repeated.
 * The newest snapshot is the one covering the most of the WAL, whatever clock named and dated it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSnapshotObjects } from '../../src/git/snapshot.js';
import { GRIT_BIN } from '../helpers/paths.js';
import { writeObjects } from '../helpers/objects.js';
import { git, grit, gritOk, gritSetup, tempDir } from '../helpers/repo.js';
import { network, refs, walEvents } from '../sync/_helpers.js';

function lowThreshold(clone: string): void {
  const path = join(clone, '.git/grit/config.toml');
  writeFileSync(path, readFileSync(path, 'utf8').replace(/max_events = \d+/, 'max_events = 3'));
}

test('sync --push writes and pushes a snapshot once the policy threshold is crossed', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  lowThreshold(a);
  for (let i = 0; i < 3; i++) await gritSetup(a, ['issue', 'create', '--title', `i${i}`]);
  assert.equal(gritOk(a, ['sync']).snapshot, null, '3 events: not more than max_events');
  await gritSetup(a, ['issue', 'create', '--title', 'i3']);
  // Pull-only never snapshots.
  assert.equal(gritOk(a, ['sync', '--pull']).snapshot, null);
  assert.deepEqual(refs(a, 'refs/grit/snapshots/'), {});

  const pushed = grit(a, ['sync', '--push', '--json']);
  assert.equal(pushed.code, 0, pushed.stdout + pushed.stderr);
  const snap = pushed.json.data.snapshot;
  assert.match(snap.snapshot_ref, /^refs\/grit\/snapshots\/\d+$/);
  assert.equal(snap.event_count, 4);
  assert.equal(snap.pushed, true);
  assert.equal(refs(remote, 'refs/grit/snapshots/')[snap.snapshot_ref], refs(a, 'refs/grit/snapshots/')[snap.snapshot_ref]);
  assert.match(grit(a, ['snapshot', '--json']).stdout, /"created":false/, 'the new snapshot covers the WAL head');

  // Nothing new: no second snapshot. Two more events: still within the policy.
  assert.equal(gritOk(a, ['sync']).snapshot, null);
  await gritSetup(a, ['issue', 'create', '--title', 'i4']);
  await gritSetup(a, ['issue', 'create', '--title', 'i5']);
  assert.equal(gritOk(a, ['sync']).snapshot, null);
  assert.equal(Object.keys(refs(a, 'refs/grit/snapshots/')).length, 1);

  // The other clone imports it and can rebuild from it to the same state.
  assert.equal(gritOk(b, ['sync']).snapshots_fetched, 1);
  const rebuilt = gritOk(b, ['rebuild', '--from-snapshot']);
  assert.equal(rebuilt.from_snapshot, true);
  assert.equal(rebuilt.snapshot_ref, snap.snapshot_ref);
  assert.deepEqual(await gritSetup(b, ['issue', 'list']), await gritSetup(a, ['issue', 'list']));

  // Human output names it.
  await gritSetup(a, ['issue', 'create', '--title', 'i6']);
  await gritSetup(a, ['issue', 'create', '--title', 'i7']);
  assert.match(grit(a, ['sync']).stdout, /snapshot refs\/grit\/snapshots\/\d+ \(pushed\)/);
});

test('a write landing between the push and the automatic snapshot stays out of it: the snapshot ends at the pushed head, which the remote has', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(1);
  const [a] = clones;
  lowThreshold(a);
  for (let i = 0; i < 4; i++) await gritSetup(a, ['issue', 'create', '--title', `i${i}`]);
  // git as grit runs it, but a push is followed by one more write to the WAL (another process's).
  const bin = tempDir();
  const mark = join(bin, 'write-after-push');
  writeFileSync(mark, '');
  const realGit = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(
    join(bin, 'git'),
    `#!/bin/sh\n"${realGit}" "$@"; rc=$?\ncase " $* " in *" push "*) if [ -f "${mark}" ]; then rm -f "${mark}"; "${process.execPath}" "${GRIT_BIN}" issue create --title late --no-daemon >/dev/null; fi;; esac\nexit $rc\n`,
    { mode: 0o755 },
  );
  const r = grit(a, ['sync', '--json', '--no-daemon'], { env: { PATH: `${bin}:${process.env.PATH}` } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(!existsSync(mark), 'the late write ran');
  const { snapshot, remote_wal_head } = r.json.data;
  assert.equal(snapshot.pushed, true);
  assert.equal(snapshot.event_count, 4, 'the late event is not in it');
  const meta = JSON.parse(git(remote, 'show', `${snapshot.snapshot_ref}:snapshot.json`));
  assert.equal(meta.wal_head, remote_wal_head);
  assert.equal(git(remote, 'rev-parse', 'refs/grit/wal').trim(), meta.wal_head);
  assert.notEqual(git(a, 'rev-parse', 'refs/grit/wal').trim(), meta.wal_head, 'the late write moved the local WAL');
});

test('a snapshot named and dated by a clock a year ahead is not the newest for good: the policy counts from the one covering the most, gc keeps that one, rebuild starts from it', { timeout: 60_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  for (let i = 0; i < 5; i++) await gritSetup(a, ['issue', 'create', '--title', `f${i}`]);
  await gritSetup(a, ['sync']);
  // What a's `grit sync` writes and pushes under a clock a year ahead (faketime +365d).
  const ahead = Date.now() + 365 * 86_400_000;
  const head = git(a, 'rev-parse', 'refs/grit/wal').trim();
  const events = await walEvents(join(a, '.git'));
  const { commit } = writeObjects(join(a, '.git'), (sink) => writeSnapshotObjects(sink, [], events, head, ahead, 'ee'.repeat(16)));
  const future = `refs/grit/snapshots/${ahead}`;
  git(a, 'update-ref', future, commit);
  git(a, 'push', '-q', 'origin', future);
  lowThreshold(b);
  assert.deepEqual([(await gritSetup(b, ['sync'])).snapshots_fetched, Object.keys(refs(b, 'refs/grit/snapshots/'))], [1, [future]]);
  const written: (number | null)[] = [];
  for (let i = 0; i < 6; i++) {
    await gritSetup(b, ['issue', 'create', '--title', `x${i}`]);
    written.push((await gritSetup(b, ['sync'])).snapshot?.event_count ?? null);
  }
  // The first: its date is more than max_age_days ahead of this clock, so its age rule does not
  // wait a year. Then one when more than max_events (3) came since the one covering the most.
  assert.deepEqual(written, [6, null, null, null, 10, null]);
  const newest = Object.keys(refs(b, 'refs/grit/snapshots/')).find((ref) => ref !== future && JSON.parse(git(b, 'show', `${ref}:snapshot.json`)).event_count === 10);
  const gc = gritOk(b, ['snapshot', 'gc', '--keep', '1']);
  assert.deepEqual([gc.kept, gc.deleted.length, gc.deleted.includes(future)], [[newest], 2, true]);
  const rebuilt = gritOk(b, ['rebuild', '--from-snapshot']);
  assert.deepEqual([rebuilt.snapshot_ref, rebuilt.event_count], [newest, 11]);
});
