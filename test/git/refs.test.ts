import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { casRef, deleteRef, deleteRefs, listRefNames, listRefs, readRef, readRefs, STALE_LOCK_MS } from '../../src/git/refs.js';
import { git, gitRun, isGritError, tempRepo } from './_util.js';
import { gitCalls } from '../helpers/git-calls.js';

/** Three commits made by git, to point refs at. */
function commits(dir: string): [string, string, string] {
  const tree = git(dir, ['mktree'], '').trim();
  const a = git(dir, ['commit-tree', tree, '-m', 'a']).trim();
  const b = git(dir, ['commit-tree', tree, '-p', a, '-m', 'b']).trim();
  const c = git(dir, ['commit-tree', tree, '-p', b, '-m', 'c']).trim();
  return [a, b, c];
}

test('readRef and listRefs: loose, packed, loose winning, symbolic, absent', async () => {
  const { dir, gitDir } = tempRepo();
  const [a, b, c] = commits(dir);
  git(dir, ['symbolic-ref', 'HEAD', 'refs/heads/main']);
  assert.equal(await readRef(gitDir, 'refs/grit/wal'), null);
  assert.equal(await readRef(gitDir, 'HEAD'), null, 'HEAD of a fresh repository is unborn');
  git(dir, ['update-ref', 'refs/grit/wal', a]);
  git(dir, ['update-ref', 'refs/grit/locks/11', a]);
  git(dir, ['update-ref', 'refs/grit/locks/22', b]);
  git(dir, ['update-ref', 'refs/heads/main', c]);
  assert.equal(await readRef(gitDir, 'refs/grit/wal'), a);
  assert.equal(await readRef(gitDir, 'HEAD'), c, 'HEAD -> refs/heads/main');
  git(dir, ['pack-refs', '--all', '--prune']);
  assert.equal(existsSync(join(gitDir, 'refs/grit/wal')), false, 'now only in packed-refs');
  assert.equal(await readRef(gitDir, 'refs/grit/wal'), a);
  assert.equal(await readRef(gitDir, 'HEAD'), c, 'symbolic ref to a packed ref');
  git(dir, ['update-ref', 'refs/grit/locks/22', c]); // loose again, shadowing the packed value
  git(dir, ['update-ref', 'refs/grit/locks/33', a]);
  writeFileSync(join(gitDir, 'refs/grit/locks/44.lock'), `${a}\n`); // someone's lock: not a ref
  assert.deepEqual(await listRefs(gitDir, 'refs/grit/locks/'), [
    { ref: 'refs/grit/locks/11', oid: a },
    { ref: 'refs/grit/locks/22', oid: c },
    { ref: 'refs/grit/locks/33', oid: a },
  ]);
  // The names alone, from the directory and packed-refs: 11 only packed, 22 in both, 33 only loose.
  assert.deepEqual([...listRefNames(gitDir, 'refs/grit/locks/')].sort(), ['refs/grit/locks/11', 'refs/grit/locks/22', 'refs/grit/locks/33']);
  writeFileSync(join(gitDir, 'refs/grit/locks/55'), 'not an object id\n');
  const many = readRefs(gitDir, ['refs/grit/locks/11', 'refs/grit/locks/22', 'refs/grit/locks/33', 'refs/grit/locks/55', 'refs/grit/locks/66', 'refs/grit/wal']);
  assert.deepEqual(Object.fromEntries(many), { 'refs/grit/locks/11': a, 'refs/grit/locks/22': c, 'refs/grit/locks/33': a, 'refs/grit/wal': a }, 'a broken and an absent ref left out');
  rmSync(join(gitDir, 'refs/grit/locks/55'));
  assert.deepEqual(await listRefs(gitDir, 'refs/grit/snapshots/'), []);
  assert.deepEqual((await listRefs(gitDir, 'refs/grit/')).map((r) => r.ref), [
    'refs/grit/locks/11',
    'refs/grit/locks/22',
    'refs/grit/locks/33',
    'refs/grit/wal',
  ]);
  // git agrees about every value.
  for (const r of await listRefs(gitDir, 'refs/')) assert.equal(git(dir, ['rev-parse', r.ref]).trim(), r.oid);
  await assert.rejects(readRef(gitDir, '../config'), isGritError('internal_error'));
  await assert.rejects(readRef(gitDir, 'refs/grit/wal.lock'), isGritError('internal_error'));
});

test('readRef: a loose ref file longer than its read buffer is read whole; one that holds no object id is a git_error', async () => {
  const { dir, gitDir } = tempRepo();
  const [a] = commits(dir);
  const long = `refs/heads/${Array.from({ length: 4 }, (_, i) => String(i).repeat(80)).join('/')}`; // 300+ bytes
  git(dir, ['update-ref', long, a]);
  git(dir, ['symbolic-ref', 'refs/grit/pointer', long]);
  assert.equal(await readRef(gitDir, 'refs/grit/pointer'), a);
  writeFileSync(join(gitDir, 'refs/grit/wal'), `${a}\n${'#'.repeat(400)}\n`);
  await assert.rejects(readRef(gitDir, 'refs/grit/wal'), isGritError('git_error'));
});

test('casRef: create, move, refuse a stale expectation, work on a packed ref; git agrees', async () => {
  const { dir, gitDir } = tempRepo();
  const [a, b, c] = commits(dir);
  const ref = 'refs/grit/wal';
  assert.equal(await casRef(gitDir, ref, null, a), true);
  assert.equal(readFileSync(join(gitDir, ref), 'utf8'), `${a}\n`, 'git ref file format');
  assert.equal(await casRef(gitDir, ref, null, b), false, 'must not exist');
  assert.equal(await casRef(gitDir, ref, b, c), false, 'holds a, not b');
  assert.equal(await casRef(gitDir, ref, a, b), true);
  assert.equal(existsSync(join(gitDir, `${ref}.lock`)), false, 'no lock left behind');
  git(dir, ['pack-refs', '--all', '--prune']);
  assert.equal(await casRef(gitDir, ref, a, c), false);
  assert.equal(await casRef(gitDir, ref, b, c), true, 'expected value read from packed-refs');
  assert.equal(git(dir, ['rev-parse', ref]).trim(), c);
  // git's own CAS sees grit's value.
  assert.notEqual(gitRun(dir, ['update-ref', ref, a, b]).status, 0);
  git(dir, ['update-ref', ref, a, c]);
  assert.equal(await readRef(gitDir, ref), a);
});

test('casRef and native git honour each other\'s lock; a stale lock is recovered, a young one is not', async () => {
  const { dir, gitDir } = tempRepo();
  const [a, b, c] = commits(dir);
  const ref = 'refs/grit/wal';
  const lock = join(gitDir, `${ref}.lock`);
  git(dir, ['update-ref', ref, a]);

  // A lock held (here: created the way casRef creates it) makes native git fail, not overwrite.
  writeFileSync(lock, '', { flag: 'wx' });
  const r = gitRun(dir, ['update-ref', ref, b, a]);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /lock/i);
  assert.equal(await readRef(gitDir, ref), a);

  // A lock git (or anyone) holds makes casRef wait, then give up with db_busy, leaving it alone.
  const t0 = Date.now();
  await assert.rejects(casRef(gitDir, ref, a, b, { timeoutMs: 200 }), (e: unknown) => {
    assert.ok(isGritError('db_busy')(e));
    assert.match((e as { suggestion?: string }).suggestion ?? '', /remove .*wal\.lock/);
    return true;
  });
  assert.ok(Date.now() - t0 >= 200);
  assert.equal(existsSync(lock), true, 'someone else\'s lock is not removed');
  assert.equal(await readRef(gitDir, ref), a);

  // Released while casRef waits: casRef goes ahead.
  setTimeout(() => rmSync(lock), 150);
  assert.equal(await casRef(gitDir, ref, a, b, { timeoutMs: 2000 }), true);
  assert.equal(git(dir, ['rev-parse', ref]).trim(), b);

  // A young lock is respected; one older than STALE_LOCK_MS is taken as abandoned.
  writeFileSync(lock, '', { flag: 'wx' });
  const age = (ms: number) => utimesSync(lock, (Date.now() - ms) / 1000, (Date.now() - ms) / 1000);
  age(STALE_LOCK_MS / 2);
  await assert.rejects(casRef(gitDir, ref, b, c, { timeoutMs: 100 }), isGritError('db_busy'));
  age(STALE_LOCK_MS + 1_000);
  assert.equal(await casRef(gitDir, ref, b, c, { timeoutMs: 100 }), true);
  assert.equal(git(dir, ['rev-parse', ref]).trim(), c);
  assert.equal(existsSync(lock), false);
  assert.deepEqual(
    git(dir, ['for-each-ref', '--format=%(refname)']).trim().split('\n').filter(Boolean),
    [ref],
    'no stray files that git would take for refs',
  );
});

/** refs/grit/wal at commit `a`, its lock held (as casRef or git takes it); `b`, another commit. */
function lockedWal() {
  const { dir, gitDir } = tempRepo();
  const [a, b] = commits(dir);
  const ref = 'refs/grit/wal';
  const lock = join(gitDir, `${ref}.lock`);
  git(dir, ['update-ref', ref, a]);
  writeFileSync(lock, '', { flag: 'wx' });
  return { dir, gitDir, ref, lock, a, b };
}

test('a lock abandoned late in a writer\'s wait is waited out, once: the writer does not give up before it is stale', async () => {
  // Another writer holds the lock as the wait begins; a second one, killed while holding it, takes
  // it over a second later (in one turn of this event loop: casRef cannot come in between).
  const { dir, gitDir, ref, lock, a, b } = lockedWal();
  const t0 = Date.now();
  setTimeout(() => {
    rmSync(lock);
    writeFileSync(lock, '', { flag: 'wx' });
  }, 1_000);
  // A wait meant to outlast an abandoned lock (longer than STALE_LOCK_MS, as the default is) ends
  // before the second lock is stale: it goes on until it is, then breaks it.
  assert.equal(await casRef(gitDir, ref, a, b, { timeoutMs: STALE_LOCK_MS + 100 }), true);
  assert.ok(Date.now() - t0 >= STALE_LOCK_MS + 900, `${Date.now() - t0} ms`);
  assert.equal(git(dir, ['rev-parse', ref]).trim(), b);
  assert.equal(existsSync(lock), false);
});

test('a lock whose mtime is ahead of the clock (skew, a touched file) stretches the wait by 6 s at most, never to its mtime', { timeout: 30_000 }, async () => {
  const { gitDir, ref, lock, a, b } = lockedWal();
  const dayAhead = (Date.now() + 86_400_000) / 1000;
  utimesSync(lock, dayAhead, dayAhead);
  const t0 = Date.now();
  await assert.rejects(casRef(gitDir, ref, a, b, { timeoutMs: STALE_LOCK_MS + 100 }), isGritError('db_busy'));
  const waited = Date.now() - t0;
  assert.ok(waited >= STALE_LOCK_MS + 100 && waited < 2 * STALE_LOCK_MS + 3_000, `${waited} ms`);
  assert.equal(existsSync(lock), true, 'a lock that is not stale is never broken');
});

test('a directory where the ref\'s lock file goes: io_error naming it, nothing renamed or left behind', async () => {
  const { dir, gitDir } = tempRepo();
  const [a, b] = commits(dir);
  const ref = 'refs/grit/wal';
  git(dir, ['update-ref', ref, a]);
  const lock = join(gitDir, `${ref}.lock`);
  mkdirSync(lock);
  const old = (Date.now() - STALE_LOCK_MS - 60_000) / 1000;
  utimesSync(lock, old, old); // as old as any stale lock: still not taken for one
  await assert.rejects(casRef(gitDir, ref, a, b, { timeoutMs: 100 }), (e: unknown) => {
    assert.ok(isGritError('io_error')(e), String(e));
    assert.match((e as Error).message, /wal\.lock is not a lock file \(a directory\)/);
    assert.match((e as { suggestion?: string }).suggestion ?? '', /remove .*wal\.lock/);
    return true;
  });
  assert.deepEqual(readdirSync(join(gitDir, 'refs/grit')).sort(), ['wal', 'wal.lock']);
  assert.equal(await readRef(gitDir, ref), a);
  rmdirSync(lock);
  assert.equal(await casRef(gitDir, ref, a, b), true);
});

test('deleteRef removes loose and packed refs, and refuses a stale expectation', async () => {
  const { dir, gitDir } = tempRepo();
  const [a, b] = commits(dir);
  git(dir, ['update-ref', 'refs/grit/snapshots/1', a]);
  git(dir, ['update-ref', 'refs/grit/snapshots/2', b]);
  git(dir, ['pack-refs', '--all', '--prune']);
  git(dir, ['update-ref', 'refs/grit/snapshots/3', b]);
  assert.equal(await deleteRef(gitDir, 'refs/grit/snapshots/1', b), false, 'holds a');
  assert.equal(await readRef(gitDir, 'refs/grit/snapshots/1'), a);
  assert.equal(await deleteRef(gitDir, 'refs/grit/snapshots/1', a), true);
  assert.equal(await deleteRef(gitDir, 'refs/grit/snapshots/2'), true);
  assert.equal(await deleteRef(gitDir, 'refs/grit/snapshots/3'), true);
  assert.deepEqual(await listRefs(gitDir, 'refs/grit/'), []);
  assert.equal(git(dir, ['for-each-ref', 'refs/grit/']).trim(), '');
});

test('deleteRefs: one git for the lot, loose and packed; a ref that moved is kept and the rest deleted one by one', async () => {
  const { dir, gitDir } = tempRepo();
  const [a, b] = commits(dir);
  const refs = Array.from({ length: 30 }, (_, i) => ({ ref: `refs/grit/locks/${String(i).padStart(2, '0')}`, oid: i % 2 ? a : b }));
  for (const { ref, oid } of refs.slice(0, 20)) git(dir, ['update-ref', ref, oid]);
  git(dir, ['pack-refs', '--all', '--prune']);
  for (const { ref, oid } of refs.slice(20)) git(dir, ['update-ref', ref, oid]);

  const calls = await gitCalls(() => deleteRefs(gitDir, refs.slice(0, 25)));
  assert.deepEqual([...calls.result].sort(), refs.slice(0, 25).map((r) => r.ref));
  assert.deepEqual(calls.commands, ['update-ref --stdin'], 'one git, not one a ref');
  assert.deepEqual((await listRefs(gitDir, 'refs/grit/')).map((r) => r.ref), refs.slice(25).map((r) => r.ref));

  // refs/grit/locks/26 holds b, not a: kept; the others deleted one by one.
  const stale = [refs[25], { ...refs[26], oid: a }, refs[27]];
  const again = await gitCalls(() => deleteRefs(gitDir, stale));
  assert.deepEqual([...again.result], [refs[25].ref, refs[27].ref]);
  assert.equal(again.commands.filter((c) => c.startsWith('update-ref')).length, 4, 'the transaction, then one a ref');
  assert.deepEqual((await listRefs(gitDir, 'refs/grit/')).map((r) => r.ref), [refs[26].ref, refs[28].ref, refs[29].ref]);
});
