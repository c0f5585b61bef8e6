/**
 * grit after plain git commands changed `refs/grit/*` behind its back: a WAL fetched with
 * `--depth`, a local WAL overwritten by a forced fetch or deleted (docs/sync.md), a commit copied
 * onto another parent (docs/wal.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fsckClean, git, grit, gritOk, gritDoctor, tempDir, gritInit, gritSetup } from '../helpers/repo.js';
import { eventIds, network, walEvents } from './_helpers.js';
import { startDaemon } from '../helpers/daemon.js';

test('a shallow WAL (fetched with --depth) is a wal_error that says so and names the fix; --unshallow mends it', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, s] = clones;
  for (let i = 0; i < 3; i++) await gritSetup(a, ['issue', 'create', '--title', `i${i}`]);
  await gritSetup(a, ['sync']);
  // A shallow fetch needs a transport that does not hard-link objects: file:// does.
  git(s, 'fetch', '-q', '--depth', '1', `file://${remote}`, 'refs/grit/wal:refs/grit/wal');
  const boundary = git(s, 'rev-parse', 'refs/grit/wal').trim();
  for (const args of [['issue', 'list'], ['sync']]) {
    const r = grit(s, [...args, '--json']);
    assert.equal(r.json.error.code, 'wal_error', r.stdout);
    assert.match(r.json.error.message, new RegExp(`refs/grit/wal is shallow .*${boundary} is a shallow boundary`));
    assert.equal(r.json.error.details.shallow_boundary, boundary);
    assert.match(r.json.error.details.suggestion, /git fetch --unshallow <remote> refs\/grit\/wal/);
  }
  assert.match(grit(s, ['issue', 'list']).stderr, /--unshallow/);
  const walRef = gritDoctor(s).checks.find((c: { id: string }) => c.id === 'wal_ref');
  assert.equal(walRef.status, 'error');
  assert.match(walRef.message, /shallow/);
  assert.match(walRef.plan, /git fetch --unshallow <remote> refs\/grit\/wal/);
  git(s, 'fetch', '-q', '--unshallow', `file://${remote}`, 'refs/grit/wal');
  assert.equal((await gritSetup(s, ['issue', 'list'])).issues.length, 3);
});

const titles = (clone: string, extra: string[] = []) => gritOk(clone, ['issue', 'list', ...extra]).issues.map((i: { title: string }) => i.title).sort();

/** Blobs that `ref` reaches and the repository lacks (`?<oid>` lines of `git rev-list --missing=print`). */
const missingObjects = (clone: string, ref: string) => git(clone, 'rev-list', '--objects', '--missing=print', ref).split('\n').filter((l) => l.startsWith('?'));

/** A remote serving filtered fetches, holding one synced issue, and a `--filter=blob:none` clone of it with grit set up. */
async function partialClone(): Promise<{ a: string; pc: string }> {
  const { remote, clones } = await network(1);
  const [a] = clones;
  git(remote, 'config', 'uploadpack.allowFilter', 'true');
  git(a, 'commit', '-q', '--allow-empty', '-m', 'code');
  git(a, 'push', '-q', 'origin', 'HEAD');
  await gritSetup(a, ['issue', 'create', '--title', 'from a']);
  await gritSetup(a, ['sync']);
  const pc = join(tempDir(), 'pc');
  // file://: a local path would be copied whole, filter or not.
  git(tempDir(), 'clone', '-q', '--filter=blob:none', `file://${remote}`, pc);
  await gritInit(pc);
  return { a, pc };
}

test('a partial clone (--filter=blob:none) syncs: grit fetches refs/grit/* without the clone\'s filter', { timeout: 60_000 }, async () => {
  const { a, pc } = await partialClone();
  // Protocol v0 serves no object by id: what the sync needs must come with the fetch itself.
  git(pc, 'config', 'protocol.version', '0');
  assert.equal((await gritSetup(pc, ['sync'])).pulled, 1);
  assert.deepEqual(missingObjects(pc, 'refs/grit/wal'), []);
  await gritSetup(pc, ['issue', 'create', '--title', 'from pc']);
  assert.equal((await gritSetup(pc, ['sync'])).pushed, 1);
  await gritSetup(a, ['sync']);
  assert.deepEqual(titles(a), ['from a', 'from pc']);
});

test('a partial clone whose earlier filtered fetch left the WAL without its blobs: sync fetches just those, and a remote that will not serve them by id is a git_error that says so', { timeout: 60_000 }, async () => {
  const { pc } = await partialClone();
  // What an older grit's fetch left behind: the WAL's commits and trees, as promisor objects.
  git(pc, 'fetch', '-q', 'origin', 'refs/grit/wal');
  const tip = git(pc, 'rev-parse', 'FETCH_HEAD').trim();
  assert.notDeepEqual(missingObjects(pc, tip), []);
  git(pc, 'config', 'protocol.version', '0');
  const refused = grit(pc, ['sync', '--json']);
  assert.equal(refused.code, 1, refused.stdout);
  assert.equal(refused.json.error.code, 'git_error');
  assert.match(refused.json.error.message, /^git fetch of the objects this partial clone lacks from origin failed: .*unadvertised object/);
  assert.match(refused.json.error.details.suggestion, /left them out; fetch them by hand \(`git fetch --no-filter origin <id>…`/);
  git(pc, 'config', '--unset', 'protocol.version');
  assert.equal((await gritSetup(pc, ['sync'])).pulled, 1);
  assert.deepEqual(missingObjects(pc, tip), []);
  assert.deepEqual(titles(pc), ['from a']);
});

test('a partial clone whose local refs/grit/wal plain git fetched under the filter: a wal_error naming `grit sync`, which fetches the local WAL\'s blobs', { timeout: 60_000 }, async () => {
  const { pc } = await partialClone();
  git(pc, 'fetch', '-q', 'origin', 'refs/grit/*:refs/grit/*');
  assert.notDeepEqual(missingObjects(pc, 'refs/grit/wal'), []);
  const r = grit(pc, ['issue', 'list', '--json']);
  assert.equal(r.json.error.code, 'wal_error', r.stdout);
  assert.match(r.json.error.message, /is missing from this partial clone \(fetched under the clone's filter, it is still on origin\)$/);
  assert.equal(r.json.error.details.promisor_remote, 'origin');
  assert.match(r.json.error.details.suggestion, /^run `grit sync`: it fetches the objects of the local WAL/);
  const walRef = gritDoctor(pc).checks.find((c: { id: string }) => c.id === 'wal_ref');
  assert.equal(walRef.status, 'error');
  assert.equal(walRef.plan, r.json.error.details.suggestion);
  await gritSetup(pc, ['sync']);
  assert.deepEqual(missingObjects(pc, 'refs/grit/wal'), []);
  assert.deepEqual(titles(pc), ['from a']);
});

test('a local reference-transaction hook that refuses everything: grit\'s ref writes and deletions pass it alike (snapshot gc, sync, remote locks, lock gc)', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  await gritSetup(b, ['issue', 'create', '--title', 'from b']);
  await gritSetup(b, ['sync']);
  mkdirSync(join(a, '.git', 'hooks'), { recursive: true });
  writeFileSync(join(a, '.git', 'hooks', 'reference-transaction'), '#!/bin/sh\necho rt says no >&2\nexit 1\n', { mode: 0o755 });
  await gritSetup(a, ['issue', 'create', '--title', 'from a']);
  assert.throws(() => git(a, 'update-ref', 'refs/heads/probe', 'refs/grit/wal'), /rt says no/);
  gritOk(a, ['snapshot']);
  assert.equal(gritOk(a, ['snapshot', 'gc', '--keep', '0']).deleted.length, 1);
  const synced = await gritSetup(a, ['sync']);
  assert.deepEqual([synced.pulled, synced.pushed], [1, 1]);
  gritOk(a, ['lock', 'acquire', '--resource', 'path:src', '--ttl', '1s']);
  assert.equal(git(remote, 'for-each-ref', 'refs/grit/locks/').trim().split('\n').length, 1);
  spawnSync('sleep', ['1.2']);
  assert.equal(gritOk(a, ['lock', 'gc']).deleted.length, 1);
  assert.equal(git(remote, 'for-each-ref', 'refs/grit/locks/').trim(), '');
  assert.deepEqual(titles(a), ['from a', 'from b']);
});

/**
 * QA's scene: a has one event synced/**
 * QA's scene: a has one event synced and one local only; b syncs one of its own; then a's WAL is
 * overwritten by a forced fetch of the remote's (local-only commit gone from refs/grit/wal).
 */
async function overwrittenWal() {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  await gritSetup(a, ['issue', 'create', '--title', 'a-synced']);
  await gritSetup(a, ['sync']);
  const local = await gritSetup(a, ['issue', 'create', '--title', 'a-local-only']);
  await gritSetup(b, ['issue', 'create', '--title', 'b1']);
  await gritSetup(b, ['sync']);
  const oldHead = git(a, 'rev-parse', 'refs/grit/wal').trim();
  git(a, 'fetch', '-q', 'origin', '+refs/grit/*:refs/grit/*');
  assert.equal(git(a, 'rev-list', '--count', 'refs/grit/wal').trim(), '2');
  return { remote, a, b, oldHead, localEvent: local.event_id as string };
}

const walEventIds = async (clone: string) => eventIds(await walEvents(join(clone, '.git')));

test('a WAL overwritten by plain git under the store: doctor warns with the lost events, --fix appends them again, sync publishes them', { timeout: 60_000 }, async () => {
  const { a, b, oldHead, localEvent } = await overwrittenWal();
  const before = gritDoctor(a);
  const integrity = before.checks.find((c: { id: string }) => c.id === 'store_integrity');
  assert.equal(integrity.status, 'warn', integrity.message);
  assert.match(integrity.message, new RegExp(`built from WAL commit ${oldHead}, which refs/grit/wal no longer holds .*: 1 event \\(in old WAL commits\\) is not in the WAL: ${localEvent}`));
  assert.match(integrity.plan, /the next grit command does it too, `grit rebuild` included/);
  const fixed = gritDoctor(a, ['--fix']);
  assert.deepEqual(fixed.applied, ['appended 1 event that only the store still had to the WAL again (`grit sync` publishes them)']);
  assert.equal(fixed.checks.find((c: { id: string }) => c.id === 'store_integrity').status, 'ok');
  const ids = await walEventIds(a);
  assert.equal(ids.length, 3);
  assert.ok(ids.includes(localEvent));
  assert.equal((await gritSetup(a, ['sync'])).pushed, 1);
  await gritSetup(b, ['sync']);
  assert.deepEqual(titles(b), ['a-local-only', 'a-synced', 'b1']);
  gritOk(a, ['rebuild']);
  assert.deepEqual(titles(a), ['a-local-only', 'a-synced', 'b1']);
});

test('the next command appends the lost events again, from the old commits or, once git pruned them, from the store', { timeout: 60_000 }, async () => {
  for (const pruned of [false, true]) {
    const { a, localEvent } = await overwrittenWal();
    if (pruned) git(a, 'gc', '-q', '--prune=now');
    const r = grit(a, ['issue', 'list', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.data.issues.map((i: { title: string }) => i.title).sort(), ['a-local-only', 'a-synced', 'b1']);
    const source = pruned ? "the store's copies" : 'old WAL commits';
    assert.match(r.stderr, new RegExp(`no longer held WAL commit .*1 event that only it had \\(found in ${source}\\) went back into the WAL`));
    const ids = await walEventIds(a);
    assert.deepEqual([ids.length, new Set(ids).size, ids[2]], [3, 3, localEvent]);
    // Once is enough: the store is at the new head, nothing more is appended.
    assert.equal(grit(a, ['issue', 'list']).stderr, '');
    assert.equal((await walEventIds(a)).length, 3);
    gritOk(a, ['rebuild']);
    assert.deepEqual(titles(a), ['a-local-only', 'a-synced', 'b1']);
    fsckClean(a);
  }
});

test('a second actor\'s store built from commits sync rebased loses nothing and appends nothing, whether git still has them or not', { timeout: 60_000 }, async () => {
  for (const pruned of [false, true]) {
    const { clones } = await network(2);
    const [a, b] = clones;
    const reader = gritOk(a, ['actor', 'init', '--label', 'reader']).actor.actor_id;
    await gritSetup(a, ['issue', 'create', '--title', 'a1']);
    assert.deepEqual(titles(a, ['--actor', reader]), ['a1']); // the reader's store is at a1's commit
    await gritSetup(b, ['issue', 'create', '--title', 'b1']);
    await gritSetup(b, ['sync']);
    assert.equal((await gritSetup(a, ['sync'])).events_rebased, 1);
    if (pruned) git(a, 'gc', '-q', '--prune=now');
    const r = grit(a, ['issue', 'list', '--json', '--actor', reader]);
    assert.equal(r.stderr, '');
    assert.deepEqual(r.json.data.issues.map((i: { title: string }) => i.title).sort(), ['a1', 'b1']);
    assert.equal((await walEventIds(a)).length, 2);
  }
});

test('`grit rebuild` as the first command after the overwrite keeps the lost events (a rebuild reads only the WAL)', { timeout: 60_000 }, async () => {
  const { a, localEvent } = await overwrittenWal();
  const r = grit(a, ['rebuild', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /1 event that only it had \(found in old WAL commits\) went back into the WAL/);
  assert.equal(r.json.data.event_count, 3);
  assert.deepEqual(titles(a), ['a-local-only', 'a-synced', 'b1']);
  assert.ok((await walEventIds(a)).includes(localEvent));
});

/**
 * QA's scene for a deleted WAL: three local events, never pushed, then `git fetch --prune` with a
 * refs/grit/* refspec deletes refs/grit/wal (the remote has none), or `git update-ref -d` does.
 */
async function deletedWal(how: 'prune' | 'update-ref') {
  const { clones } = await network(1);
  const [a] = clones;
  git(a, 'commit', '-q', '--allow-empty', '-m', 'code');
  git(a, 'push', '-q', 'origin', 'HEAD');
  const events: string[] = [];
  for (const i of [1, 2, 3]) events.push((await gritSetup(a, ['issue', 'create', '--title', `local${i}`])).event_id);
  const oldHead = git(a, 'rev-parse', 'refs/grit/wal').trim();
  if (how === 'prune') {
    git(a, 'config', '--add', 'remote.origin.fetch', '+refs/grit/*:refs/grit/*');
    git(a, 'fetch', '-q', '--prune', 'origin');
  } else {
    git(a, 'update-ref', '-d', 'refs/grit/wal');
  }
  assert.equal(git(a, 'for-each-ref', 'refs/grit/wal'), '');
  return { a, oldHead, events };
}

const integrityOf = (clone: string, flags: string[] = []) => {
  const report = gritDoctor(clone, flags);
  return { report, check: report.checks.find((c: { id: string }) => c.id === 'store_integrity') };
};

test('a deleted refs/grit/wal whose commits git still has: doctor says so, the next command points the ref at them again, doctor agrees after', { timeout: 60_000 }, async () => {
  for (const how of ['prune', 'update-ref'] as const) {
    const { a, oldHead, events } = await deletedWal(how);
    const before = integrityOf(a).check;
    assert.equal(before.status, 'warn', before.message);
    assert.match(before.message, new RegExp(`refs/grit/wal was deleted .* while this store was built from WAL commit ${oldHead}, which git still has \\(commit ${oldHead}, 3 events\\)`));
    assert.match(before.plan, /the next grit command does it too/);
    const r = grit(a, ['issue', 'list', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.data.total, 3);
    assert.match(r.stderr, new RegExp(`refs/grit/wal was deleted .*WAL commit ${oldHead}: it points at that commit again \\(git still had it, 3 events\\)`));
    // The very commits: nothing rewritten, nothing appended.
    assert.equal(git(a, 'rev-parse', 'refs/grit/wal').trim(), oldHead);
    assert.equal(integrityOf(a).check.status, 'ok');
    assert.equal(grit(a, ['issue', 'list']).stderr, '');
    assert.deepEqual((await gritSetup(a, ['sync'])).pushed, 3);
    assert.deepEqual(await walEventIds(a), events);
  }
});

test('a deleted refs/grit/wal whose commits git pruned: the store\'s events start a new WAL, through doctor --fix or the next command', { timeout: 60_000 }, async () => {
  for (const via of ['doctor', 'command'] as const) {
    const { a, oldHead, events } = await deletedWal('update-ref');
    git(a, 'gc', '-q', '--prune=now');
    assert.throws(() => git(a, 'cat-file', '-e', oldHead));
    const { check } = integrityOf(a);
    assert.equal(check.status, 'warn', check.message);
    assert.match(check.message, /git no longer has all of that WAL \(`git gc` pruned it\): 3 events \(in the store's copies\) are not in the WAL/);
    if (via === 'doctor') {
      const fixed = integrityOf(a, ['--fix']);
      assert.deepEqual(fixed.report.applied, ['appended 3 events that only the store still had to the WAL again (`grit sync` publishes them)']);
      assert.equal(fixed.check.status, 'ok');
    } else {
      const r = grit(a, ['issue', 'list', '--json']);
      assert.equal(r.json.data.total, 3, r.stderr);
      assert.match(r.stderr, /refs\/grit\/wal was deleted .*git no longer has all of that WAL .*: 3 events \(found in the store's copies\) started a new WAL/);
      assert.equal(integrityOf(a).check.status, 'ok');
    }
    assert.deepEqual((await walEventIds(a)).sort(), [...events].sort());
    gritOk(a, ['rebuild']);
    assert.deepEqual(titles(a), ['local1', 'local2', 'local3']);
    fsckClean(a);
  }
});

test('a deleted refs/grit/wal: `grit rebuild` as the first command, and a daemon\'s worker, set it back too', { timeout: 60_000 }, async () => {
  const first = await deletedWal('update-ref');
  const r = grit(first.a, ['rebuild', '--json']);
  assert.equal(r.json.data.event_count, 3, r.stderr);
  assert.match(r.stderr, /it points at that commit again/);
  assert.equal(git(first.a, 'rev-parse', 'refs/grit/wal').trim(), first.oldHead);
  const daemon = await startDaemon();
  try {
    const { a, oldHead } = await deletedWal('update-ref');
    // The worker's first command sets the ref back as it opens the store; then it goes again under the open store.
    const created = grit(a, ['issue', 'create', '--title', 'local4'], { env: daemon.env });
    assert.match(created.stderr, /it points at that commit again \(git still had it, 3 events\)/);
    const head = git(a, 'rev-parse', 'refs/grit/wal').trim();
    assert.notEqual(head, oldHead);
    git(a, 'update-ref', '-d', 'refs/grit/wal');
    const listed = grit(a, ['issue', 'list', '--json'], { env: daemon.env });
    assert.equal(listed.json.data.total, 4, listed.stderr);
    assert.match(listed.stderr, /it points at that commit again \(git still had it, 4 events\)/);
    assert.equal(git(a, 'rev-parse', 'refs/grit/wal').trim(), head);
    assert.ok(gritOk(a, ['daemon', 'status'], { env: daemon.env }).workers.length > 0, 'served by the daemon');
  } finally {
    await daemon.stop();
  }
});

test('starting over as docs/sync.md says (the refs and the repository id deleted): every store is rebuilt from nothing, the WAL stays gone', { timeout: 60_000 }, async () => {
  const { a } = await deletedWal('update-ref');
  const reader = gritOk(a, ['actor', 'init', '--label', 'reader']).actor.actor_id;
  assert.equal(gritOk(a, ['issue', 'list']).total, 3); // sets the ref back
  assert.equal((await gritSetup(a, ['issue', 'list', '--actor', reader])).total, 3);
  gritOk(a, ['snapshot']);
  execFileSync('sh', ['-c', "git for-each-ref --format='delete %(refname)' refs/grit/ | git update-ref --stdin"], { cwd: a });
  rmSync(join(a, '.git', 'grit', 'repository-id'));
  for (const actor of [[], ['--actor', reader]]) {
    const r = grit(a, ['issue', 'list', '--json', ...actor]);
    assert.equal(r.json.data.total, 0, r.stderr);
    assert.match(r.stderr, /was built in an earlier repository at this path .*: the repository was made anew, or that file deleted; it is a cache, so it is rebuilt/);
  }
  assert.equal(git(a, 'for-each-ref', 'refs/grit/'), '');
  assert.equal(integrityOf(a).check.status, 'ok');
});

test('a remote WAL holding a commit copied onto another parent: pulled counts each event once, doctor warns of the copy', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  const { issue_id: id } = await gritSetup(a, ['issue', 'create', '--title', 'one']);
  await gritSetup(a, ['issue', 'comment', id, '--body', 'c1']);
  await gritSetup(a, ['sync']);
  const head = git(remote, 'rev-parse', 'refs/grit/wal').trim();
  const copy = git(remote, 'commit-tree', `${head}^{tree}`, '-p', head, '-m', 'grit: 1 event').trim();
  git(remote, 'update-ref', 'refs/grit/wal', copy);
  assert.equal((await gritSetup(b, ['sync'])).pulled, 2);
  assert.equal((await gritSetup(b, ['issue', 'show', id])).issue.comment_count, 1);
  const walRef = gritDoctor(b).checks.find((c: { id: string }) => c.id === 'wal_ref');
  assert.equal(walRef.status, 'warn');
  assert.match(walRef.message, /3 events, linear and valid, but 1 of them is a further copy of an event before .*a commit copied or re-parented by a tool other than grit/);
});

test('a local WAL holding a commit copied onto another parent: sync says how many of the records it pushed are copies, JSON and human', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  // Each clone: an issue and a comment, then the comment's commit copied onto the head by plain git.
  const copyHead = async (clone: string, title: string) => {
    const { issue_id } = await gritSetup(clone, ['issue', 'create', '--title', title]);
    await gritSetup(clone, ['issue', 'comment', issue_id, '--body', 'c']);
    const head = git(clone, 'rev-parse', 'refs/grit/wal').trim();
    git(clone, 'update-ref', 'refs/grit/wal', git(clone, 'commit-tree', `${head}^{tree}`, '-p', head, '-m', 'grit: 1 event').trim());
  };
  await copyHead(a, 'a');
  // Pushed as they are (a fast-forward): commits this sync did not read.
  const sa = await gritSetup(a, ['sync']);
  assert.deepEqual([sa.pushed, sa.copies], [3, 1]);
  await copyHead(b, 'b');
  // Re-appended on top of a's (a rebase): commits this sync wrote; the copy goes with them.
  const human = grit(b, ['sync']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^pulled 2 events, rebased 3, pushed 3 events \(2 distinct, 1 a further copy\) · origin wal [0-9a-f]{8}\n$/);
  assert.equal((await walEvents(remote)).length, 6);
  // No copies: the bare count, and no `copies` field.
  await gritSetup(a, ['issue', 'create', '--title', 'plain']);
  const plain = await gritSetup(a, ['sync']);
  assert.deepEqual([plain.pushed, 'copies' in plain], [1, false]);
});
