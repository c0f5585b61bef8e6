import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLocal } from '../../src/commands/run.js';
import { fromHex } from '../../src/core/hex.js';
import { LockResources } from '../../src/git/lock-resources.js';
import { leftTempFiles, removeLeftTempFiles } from '../../src/commands/temp-files.js';
import { findRepo } from '../../src/git/repo.js';
import {
  checkLocks,
  encodeLock,
  findConflicts,
  lockRefName,
  locksOverlapping,
  MAX_TTL_MS,
  normalizeResource,
  overlaps,
  parseTtl,
  readLocks,
  writeLockCommit,
  type Lock,
} from '../../src/git/locks.js';
import { encodeCommit, encodeTree } from '../../src/git/object-encoding.js';
import { ObjectStore, type ReadOptions } from '../../src/git/objects.js';
import { casRef, deleteRef, readRef } from '../../src/git/refs.js';
import { startDaemon } from '../helpers/daemon.js';
import { git, grit, gritAsync, gritDoctor, gritOk, tempRepo, gritInit, gritSetup } from '../helpers/repo.js';
import { network, refs, setLockPolicy } from './_helpers.js';
import { untilPast } from '../helpers/wait.js';
import { writeObjects } from '../helpers/objects.js';
import { pick, rng } from '../helpers/random.js';
import { gitCalls } from '../helpers/git-calls.js';

test('resources, TTLs and overlap rules', () => {
  assert.equal(parseTtl('30s'), 30_000);
  assert.equal(parseTtl('15m'), 900_000);
  assert.equal(parseTtl('2h'), 7_200_000);
  assert.equal(parseTtl(undefined), 300_000);
  assert.equal(parseTtl('90'), 90_000);
  // A JSON number is seconds too (MCP, the API): 3600 is an hour, never 3.6 s.
  assert.equal(parseTtl(3600), 3_600_000);
  assert.throws(() => parseTtl(0.5), /between 1s and 30d/);
  for (const bad of ['', 'abc', '15x', '0s', '-5m', '400d']) assert.throws(() => parseTtl(bad), /TTL|ttl/);
  assert.equal(normalizeResource('path:./src//git/'), 'path:src/git');
  assert.equal(normalizeResource('repo'), 'repo:');
  assert.equal(normalizeResource('issue:ABCDEF0123456789abcdef0123456789'), 'issue:abcdef0123456789abcdef0123456789');
  for (const bad of ['path:', 'path:../x', 'issue:12', 'thing:x', 'path:a\nb', 'repo:main', 'repo:src/a']) assert.throws(() => normalizeResource(bad));
  // What was given is named; a forge's issue number is said not to be an id; the form expected is given.
  assert.throws(() => normalizeResource('issue:#12'), { message: '"issue:#12" does not name an issue: grit issue ids are hex, not numbers like #12 (give issue:<id>, the id 32 hex characters or a unique prefix of 4 or more)' });
  assert.throws(() => normalizeResource('issue:zz'), { message: '"issue:zz" does not name an issue (give issue:<id>, the id 32 hex characters or a unique prefix of 4 or more)' });
  assert.throws(() => normalizeResource('issue:'), { message: 'issue: needs an issue id (give issue:<id>, the id 32 hex characters or a unique prefix of 4 or more)' });
  assert.ok(overlaps('path:src', 'path:src/git/wal.ts'));
  assert.ok(overlaps('path:src/git', 'path:src'));
  assert.ok(!overlaps('path:src', 'path:srcx'));
  assert.ok(!overlaps('path:src/a', 'path:src/b'));
  assert.ok(overlaps('repo:', 'issue:00000000000000000000000000000000'));
  assert.ok(overlaps('path:x', 'repo:'));
  assert.ok(!overlaps('issue:00000000000000000000000000000000', 'path:x'));
  // The ref name: first 8 bytes of SHA-256 of the (normalized) resource.
  assert.equal(lockRefName('path:src'), `refs/grit/locks/${createHash('sha256').update('path:src').digest('hex').slice(0, 16)}`);
});

test('a path: lock longer than any path (4095 bytes) is refused before it is written: its lock.json would be too big for lock reads, an acknowledged lock then "unreadable"', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  assert.equal(normalizeResource(`path:${'a'.repeat(4095)}`), `path:${'a'.repeat(4095)}`);
  assert.throws(() => normalizeResource(`path:${'é'.repeat(2048)}`), /path: lock's path is 4096 bytes, longer than any path the system opens \(4095\)/);
  await assert.rejects(runLocal('LockAcquire', { resource: `path:${'a/'.repeat(40_000)}x` }, { cwd: repo }), (e: any) => e.code === 'invalid_args' && e.details.field === 'resource');
  assert.deepEqual(gritOk(repo, ['lock', 'status']), { locks: [], conflicts: [], expired: 0, unreadable: [] });
});

test('lock status conflicts: every overlapping pair of owners, in order, without testing every pair of locks', () => {
  // The pairs as every pair tested would find them, in the same order.
  const pairwise = (locks: Lock[], now: number) => {
    const live = locks.filter((l) => l.expires_unix_ms > now);
    const out: { resources: [string, string]; owners: [string, string] }[] = [];
    for (let i = 0; i < live.length; i++) {
      for (let j = i + 1; j < live.length; j++) {
        const [a, b] = [live[i], live[j]];
        if (a.owner !== b.owner && overlaps(a.resource, b.resource)) out.push({ resources: [a.resource, b.resource], owners: [a.owner, b.owner] });
      }
    }
    return out;
  };
  const rand = rng(14);
  const now = 1_000_000;
  const names = ['repo:', 'issue:00', 'issue:01', 'path:src', 'path:src/a', 'path:src/a/b.ts', 'path:src/ab', 'path:srcx', 'path:lib/a', 'path:', 'path:/x'];
  for (let round = 0; round < 200; round++) {
    const locks: Lock[] = Array.from({ length: Math.floor(rand() * 12) }, () => ({
      resource: pick(names, rand),
      owner: pick(['a', 'b', 'c'], rand),
      nonce: 'n',
      expires_unix_ms: rand() < 0.8 ? now + 1 : now - 1,
    }));
    assert.deepEqual(findConflicts(locks, now), pairwise(locks, now), JSON.stringify(locks));
  }
  // 3,000 locks of two owners on distinct files (one conflict: a directory's lock): the owners
  // were compared for each of the 4.5 million pairs; now a few looks a lock.
  let reads = 0;
  const many: Lock[] = Array.from({ length: 3000 }, (_, i) => {
    const lock = { resource: `path:src/d${i % 50}/f${i}.ts`, owner: i % 2 ? 'a' : 'b', nonce: 'n', expires_unix_ms: now + 1 };
    return new Proxy(lock, { get: (t, k) => (reads++, Reflect.get(t, k)) });
  });
  many.push({ resource: 'path:src/d7', owner: 'c', nonce: 'n', expires_unix_ms: now + 1 });
  const found = findConflicts(many, now);
  assert.equal(found.length, 60);
  assert.deepEqual(found[0], { resources: ['path:src/d7/f7.ts', 'path:src/d7'], owners: ['a', 'c'] });
  assert.ok(reads < 20 * many.length, `${reads} reads of 3,001 locks`);
});

test('local locks: acquire, conflict, renew by the owner only, release, expiry, gc', { timeout: 60_000 }, async () => {
  const repo = tempRepo();
  const me = (await gritInit(repo)).actor.actor_id;
  const other = gritOk(repo, ['actor', 'init']).actor.actor_id;
  const asOther = (args: string[]) => grit(repo, [...args, '--actor', other, '--json']);

  const got = gritOk(repo, ['lock', 'acquire', '--resource', 'path:src/git', '--ttl', '15m']);
  assert.deepEqual(Object.keys(got.lock), ['resource', 'owner', 'nonce', 'expires_unix_ms']);
  assert.equal(got.lock.resource, 'path:src/git');
  assert.equal(got.lock.owner, me);
  assert.ok(Math.abs(got.lock.expires_unix_ms - (Date.now() + 900_000)) < 10_000);
  assert.equal(got.remote, null);
  // The ref and its lock.json, readable with plain git.
  const ref = lockRefName('path:src/git');
  assert.deepEqual(JSON.parse(git(repo, 'cat-file', 'blob', `${ref}:lock.json`)), got.lock);

  // Someone else: refused for the same resource and for an overlapping one, with exit 4.
  for (const res of ['path:src/git', 'path:src', 'path:src/git/wal.ts', 'repo:']) {
    const r = asOther(['lock', 'acquire', '--resource', res]);
    assert.equal(r.code, 4, res);
    assert.equal(r.json.error.code, 'conflict');
    assert.equal(r.json.error.details.lock.owner, me);
  }
  assert.equal(asOther(['lock', 'acquire', '--resource', 'path:srcx']).code, 0);
  // Only the owner renews or releases.
  assert.equal(asOther(['lock', 'renew', '--resource', 'path:src/git']).json.error.code, 'conflict');
  assert.equal(asOther(['lock', 'release', '--resource', 'path:src/git']).json.error.code, 'conflict');
  const renewed = gritOk(repo, ['lock', 'renew', '--resource', 'path:src/git', '--ttl', '2h']);
  assert.equal(renewed.lock.nonce, got.lock.nonce);
  assert.ok(renewed.lock.expires_unix_ms > got.lock.expires_unix_ms);
  // Renew sets the expiry to now + TTL, also when that is sooner; its help says so.
  const shortened = gritOk(repo, ['lock', 'renew', '--resource', 'path:src/git', '--ttl', '1m']);
  assert.ok(Math.abs(shortened.lock.expires_unix_ms - (Date.now() + 60_000)) < 10_000);
  assert.match(grit(repo, ['lock', 'renew', '--help']).stdout, /now \+ TTL \(a shorter TTL than it has left shortens it\)/);
  // Acquiring again as the owner extends it too (same nonce).
  assert.equal(gritOk(repo, ['lock', 'acquire', '--resource', 'path:src/git']).lock.nonce, got.lock.nonce);
  assert.equal(grit(repo, ['lock', 'renew', '--resource', 'path:nothing', '--json']).json.error.code, 'not_found');

  const status = gritOk(repo, ['lock', 'status']);
  assert.deepEqual(status.locks.map((l: any) => [l.resource, l.owner, l.mine]), [
    ['path:src/git', me, true],
    ['path:srcx', other, false],
  ]);
  assert.deepEqual(status.conflicts, []);

  const released = gritOk(repo, ['lock', 'release', '--resource', 'path:src/git']);
  assert.equal(released.lock.expires_unix_ms, 0);
  assert.equal(asOther(['lock', 'acquire', '--resource', 'path:src']).code, 0);

  // Expiry: a lock that has run out can be taken by someone else. Its being refused while live is
  // asked of a lock held for a minute: on a loaded machine a 1 s one may run out before the next
  // command starts. The owner's 1 s acquire (it sets now + TTL, also when that is sooner) runs
  // out 1 s after it was taken, to the ms; the test waits for the clock to pass that.
  const issueLock = 'issue:0123456789abcdef0123456789abcdef';
  gritOk(repo, ['lock', 'acquire', '--resource', issueLock, '--ttl', '1m']);
  assert.equal(asOther(['lock', 'acquire', '--resource', issueLock]).code, 4);
  const before = Date.now();
  const short = gritOk(repo, ['lock', 'acquire', '--resource', issueLock, '--ttl', '1s']).lock;
  assert.ok(short.expires_unix_ms >= before + 1_000 && short.expires_unix_ms <= Date.now() + 1_000, `expires ${short.expires_unix_ms - before} ms after the acquire began`);
  await untilPast(short.expires_unix_ms);
  const taken = asOther(['lock', 'acquire', '--resource', issueLock, '--ttl', '1s']);
  assert.equal(taken.code, 0);
  assert.equal(taken.json.data.lock.owner, other);
  await untilPast(taken.json.data.lock.expires_unix_ms);

  // gc: deletes the expired and released refs, keeps the live ones.
  const gc = gritOk(repo, ['lock', 'gc']);
  assert.deepEqual(gc.deleted, ['issue:0123456789abcdef0123456789abcdef', 'path:src/git']);
  assert.equal(gc.kept, 2);
  assert.deepEqual(Object.keys(refs(repo, 'refs/grit/locks/')).sort(), [lockRefName('path:src'), lockRefName('path:srcx')].sort());
  assert.equal(gritOk(repo, ['lock', 'status']).expired, 0);
});

test("another owner's renew or release of a lock nobody holds (expired, released) is not_found saying when it ended, as after gc; daemon and --no-daemon", { timeout: 90_000 }, async () => {
  const repo = tempRepo();
  const me = (await gritInit(repo)).actor.actor_id;
  const other = gritOk(repo, ['actor', 'init']).actor.actor_id;
  const daemon = await startDaemon();
  try {
    for (const [mode, env] of [['no-daemon', {}], ['daemon', daemon.env]] as const) {
      const expiredRes = `path:${mode}/expired`;
      const releasedRes = `path:${mode}/released`;
      const short = gritOk(repo, ['lock', 'acquire', '--resource', expiredRes, '--ttl', '1s'], { env }).lock;
      gritOk(repo, ['lock', 'acquire', '--resource', releasedRes, '--ttl', '10m'], { env });
      const releasedAt = Date.now();
      gritOk(repo, ['lock', 'release', '--resource', releasedRes], { env });
      await untilPast(short.expires_unix_ms);
      assert.deepEqual(gritOk(repo, ['lock', 'status'], { env }).locks, [], 'lock status: nobody holds either');
      for (const op of ['renew', 'release']) {
        const expired = grit(repo, ['lock', op, '--resource', expiredRes, '--actor', other, '--json'], { env });
        assert.equal(expired.code, 3, `${mode} ${op}: ${expired.stdout}`);
        assert.equal(expired.json.error.code, 'not_found');
        assert.equal(expired.json.error.message, `no live lock on ${expiredRes}: ${me}'s lock expired at ${new Date(short.expires_unix_ms).toISOString()}`);
        assert.equal(expired.json.error.details.ended_unix_ms, short.expires_unix_ms);
        assert.equal(expired.json.error.details.suggestion, `nobody holds it: take it with \`grit lock acquire --resource ${expiredRes}\``);
        const released = grit(repo, ['lock', op, '--resource', releasedRes, '--actor', other], { env });
        assert.equal(released.code, 3, `${mode} ${op}: ${released.stderr}`);
        assert.match(released.stderr, new RegExp(`^error: no live lock on ${releasedRes}: ${me} released it at \\S+\nhint: nobody holds it: take it with \`grit lock acquire --resource ${releasedRes}\`\n$`));
        const at = Date.parse(/released it at (\S+)/.exec(released.stderr)![1]);
        assert.ok(Math.abs(at - releasedAt) < 5_000, `released at ${at}, asked at ${releasedAt}`);
      }
      // Nothing was written: the owner still renews its expired lock, and a live lock still says who holds it.
      assert.equal(gritOk(repo, ['lock', 'renew', '--resource', expiredRes, '--ttl', '10m'], { env }).lock.owner, me);
      const held = grit(repo, ['lock', 'release', '--resource', expiredRes, '--actor', other, '--json'], { env });
      assert.equal(held.code, 4);
      assert.match(held.json.error.message, new RegExp(`^${expiredRes} is held by ${me} until `));
      gritOk(repo, ['lock', 'release', '--resource', expiredRes], { env });
    }
  } finally {
    await daemon.stop();
  }
});

test('lock gc human output names the deleted locks by their count, not after "kept"', { timeout: 30_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  for (const r of ['path:a', 'path:b']) gritOk(repo, ['lock', 'acquire', '--resource', r]);
  await untilPast(gritOk(repo, ['lock', 'acquire', '--resource', 'path:short', '--ttl', '1s']).lock.expires_unix_ms);
  const gc = (expect: string) => {
    const r = grit(repo, ['lock', 'gc']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${expect}\n`);
  };
  gc('deleted 1 expired lock (path:short), 2 kept (local only)');
  gc('deleted 0 expired locks, 2 kept (local only)');
  // Many are not all named on the one line: ten, then how many more (--json lists them all).
  let last = 0;
  for (let n = 0; n < 12; n++) last = gritOk(repo, ['lock', 'acquire', '--resource', `path:s${String(n).padStart(2, '0')}`, '--ttl', '1s']).lock.expires_unix_ms;
  await untilPast(last);
  gc(`deleted 12 expired locks (${Array.from({ length: 10 }, (_, n) => `path:s0${n}`).join(', ')} and 2 more), 2 kept (local only)`);
});

test('path: resources are taken from the caller\'s directory (CLI, daemon, API) and must lie inside the worktree', { timeout: 90_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const src = join(repo, 'src');
  mkdirSync(join(src, 'parser'), { recursive: true });
  const daemon = await startDaemon();
  try {
    for (const env of [{}, daemon.env]) {
      // From src/, `path:parser` is src/parser, for acquire, renew and release alike.
      assert.equal(gritOk(src, ['lock', 'acquire', '--resource', 'path:parser'], { env }).lock.resource, 'path:src/parser');
      assert.equal(gritOk(src, ['lock', 'renew', '--resource', 'path:./parser/'], { env }).lock.resource, 'path:src/parser');
      assert.equal(gritOk(repo, ['lock', 'release', '--resource', 'path:src/parser'], { env }).lock.resource, 'path:src/parser');
      // An absolute path inside the worktree and a `..` that stays inside it are made repo-relative.
      assert.equal(gritOk(src, ['lock', 'acquire', '--resource', `path:${join(repo, 'docs')}`], { env }).lock.resource, 'path:docs');
      assert.equal(gritOk(src, ['lock', 'release', '--resource', 'path:../docs'], { env }).lock.resource, 'path:docs');
      // Outside the worktree: refused, never silently made relative.
      for (const outside of ['path:/etc/passwd', 'path:../..', 'path:..']) {
        const r = grit(src, ['lock', 'acquire', '--resource', outside, '--json'], { env });
        assert.equal(r.code, 2, `${outside}: ${r.stdout}`);
        assert.equal(r.json.error.code, 'invalid_args');
      }
    }
  } finally {
    await daemon.stop();
  }
  // The API and MCP take the directory they were opened in.
  assert.equal(((await runLocal('LockAcquire', { resource: 'path:parser', local: true }, { cwd: src })) as any).lock.resource, 'path:src/parser');
  await assert.rejects(runLocal('LockRelease', { resource: 'path:/etc/passwd' }, { cwd: src }), (e: any) => e.code === 'invalid_args');
  assert.deepEqual(gritOk(repo, ['lock', 'status']).locks.map((l: any) => l.resource), ['path:src/parser']);
});

test('renewing an expired lock takes it anew: refused once another owner holds an overlapping resource', { timeout: 60_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  // Against the remote (a and b are two clones) and local-only (two actors of clone a).
  const other = gritOk(a, ['actor', 'init']).actor.actor_id;
  const cases = [
    { renew: (args: string[]) => grit(a, [...args, '--json']), take: (args: string[]) => gritOk(b, args), resource: 'path:src' },
    { renew: (args: string[]) => grit(a, [...args, '--local', '--json']), take: (args: string[]) => gritOk(a, [...args, '--local', '--actor', other]), resource: 'path:lib' },
  ];
  const expiries: number[] = [];
  for (const c of cases) {
    assert.equal(c.renew(['lock', 'acquire', '--resource', c.resource, '--ttl', '1s']).code, 0);
    const renewed = c.renew(['lock', 'renew', '--resource', c.resource, '--ttl', '1s']);
    assert.equal(renewed.code, 0, 'a live lock renews');
    expiries.push(renewed.json.data.lock.expires_unix_ms);
  }
  await untilPast(Math.max(...expiries));
  for (const c of cases) {
    c.take(['lock', 'acquire', '--resource', `${c.resource}/x`, '--ttl', '10m']);
    const r = c.renew(['lock', 'renew', '--resource', c.resource, '--ttl', '10m']);
    assert.equal(r.code, 4, r.stdout);
    assert.equal(r.json.error.code, 'conflict');
    assert.equal(r.json.error.details.lock.resource, `${c.resource}/x`);
  }
  await gritSetup(a, ['sync']);
  assert.deepEqual(gritOk(a, ['lock', 'status']).conflicts, []);
});

test('remote locks: exactly one of two clones racing for the same resource wins', { timeout: 90_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  for (let round = 0; round < 4; round++) {
    const resource = round === 3 ? 'repo:' : `path:race/${round}`;
    const [ra, rb] = await Promise.all([
      gritAsync(a, ['lock', 'acquire', '--resource', resource, '--json']),
      gritAsync(b, ['lock', 'acquire', '--resource', resource, '--json']),
    ]);
    const codes = [ra.code, rb.code].sort();
    assert.deepEqual(codes, [0, 4], `${resource}: ${ra.stdout} ${rb.stdout}`);
    const winner = ra.code === 0 ? ra.json.data.lock : rb.json.data.lock;
    const loser = ra.code === 0 ? rb : ra;
    assert.equal(loser.json.error.code, 'conflict');
    const onRemote = JSON.parse(git(remote, 'cat-file', 'blob', `${lockRefName(resource)}:lock.json`));
    assert.deepEqual(onRemote, winner);
    if (round === 3) break;
    // Released by the winner, it can be taken by the other clone.
    const [w, l] = ra.code === 0 ? [a, b] : [b, a];
    gritOk(w, ['lock', 'release', '--resource', resource]);
    assert.equal(gritOk(l, ['lock', 'acquire', '--resource', resource]).lock.resource, resource);
    gritOk(l, ['lock', 'release', '--resource', resource]);
  }
});

test('remote locks: overlap across clones, owner-only release, gc on the remote, sync brings locks along', { timeout: 90_000 }, async () => {
  const { remote, clones } = await network(3);
  const [a, b, c] = clones;
  const got = gritOk(a, ['lock', 'acquire', '--resource', 'path:src', '--ttl', '1h']);
  assert.equal(got.remote, 'origin');
  assert.equal(grit(b, ['lock', 'acquire', '--resource', 'path:src/deep/file.ts']).code, 4);
  assert.equal(grit(b, ['lock', 'release', '--resource', 'path:src', '--json']).json.error.code, 'conflict');
  // C has not talked to the remote yet: its view is empty until a sync.
  assert.deepEqual(gritOk(c, ['lock', 'status']).locks, []);
  const s = await gritSetup(c, ['sync']);
  assert.equal(s.locks_updated, 1);
  assert.deepEqual(gritOk(c, ['lock', 'status']).locks.map((l: any) => l.resource), ['path:src']);
  // A --local lock in C never reaches the remote; it shows up as a conflict in C's own view.
  gritOk(c, ['lock', 'acquire', '--resource', 'path:docs', '--local']);
  gritOk(b, ['lock', 'acquire', '--resource', 'path:docs/x.md', '--ttl', '1h']);
  await gritSetup(c, ['sync']);
  const status = gritOk(c, ['lock', 'status']);
  assert.equal(status.conflicts.length, 1);
  assert.deepEqual([...status.conflicts[0].resources].sort(), ['path:docs', 'path:docs/x.md']);
  assert.equal(refs(remote, 'refs/grit/locks/')[lockRefName('path:docs')], undefined);

  // Release + gc against the remote deletes the ref there; the other clones follow on sync.
  gritOk(a, ['lock', 'release', '--resource', 'path:src']);
  // Released on the remote, nobody holds it: another clone's release is not_found, as after gc.
  const late = grit(b, ['lock', 'release', '--resource', 'path:src', '--json']);
  assert.deepEqual([late.code, late.json.error.code], [3, 'not_found']);
  assert.match(late.json.error.message, /^no live lock on path:src: [0-9a-f]{32} released it at /);
  const gc = gritOk(a, ['lock', 'gc']);
  assert.deepEqual(gc.deleted, ['path:src']);
  assert.equal(refs(remote, 'refs/grit/locks/')[lockRefName('path:src')], undefined);
  await gritSetup(c, ['sync']);
  assert.equal(refs(c, 'refs/grit/locks/')[lockRefName('path:src')], undefined);
  assert.equal(gritOk(b, ['lock', 'acquire', '--resource', 'path:src/deep/file.ts']).lock.owner.length, 32);
  // Several gc'd on the remote at once: the sync deletes them all here (one git for the lot).
  for (const r of ['path:lib', 'path:bin']) gritOk(a, ['lock', 'acquire', '--resource', r, '--ttl', '1h']);
  await gritSetup(c, ['sync']);
  for (const r of ['path:lib', 'path:bin']) gritOk(a, ['lock', 'release', '--resource', r]);
  await gritSetup(c, ['sync']);
  assert.deepEqual(gritOk(a, ['lock', 'gc']).deleted, ['path:bin', 'path:lib']);
  await gritSetup(c, ['sync']);
  assert.deepEqual([lockRefName('path:lib'), lockRefName('path:bin')].map((ref) => refs(c, 'refs/grit/locks/')[ref]), [undefined, undefined]);
});

test('--local: refused with --remote; a --local change of a lock origin holds live says so', { timeout: 90_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  const both = grit(a, ['lock', 'acquire', '--resource', 'path:zz', '--local', '--remote', 'origin', '--json']);
  assert.equal(both.code, 2, both.stdout);
  assert.equal(both.json.error.code, 'invalid_args');
  await assert.rejects(runLocal('LockAcquire', { resource: 'path:zz', local: true, remote: 'origin' }, { cwd: a }), (e: any) => e.code === 'invalid_args');
  assert.deepEqual(refs(a, 'refs/grit/locks/'), {});

  gritOk(a, ['lock', 'acquire', '--resource', 'path:rl', '--ttl', '30m']);
  // Released here only: the reply (and stderr) say that origin still has it, and how to release it there.
  const r = grit(a, ['lock', 'release', '--resource', 'path:rl', '--local', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.data.lock_warnings.length, 1);
  assert.match(r.json.data.lock_warnings[0], /path:rl is locked on origin by you until .*grit lock release --resource path:rl/);
  assert.match(r.stderr, /warning: path:rl is locked on origin by you/);
  assert.equal(grit(b, ['lock', 'acquire', '--resource', 'path:rl']).code, 4);
  // Taken again here only: still not origin's lock.
  assert.match(gritOk(a, ['lock', 'acquire', '--resource', 'path:rl', '--local']).lock_warnings[0], /this --local lock is not pushed/);
  // A lock origin does not hold, and a release against origin: no warning.
  assert.equal(gritOk(a, ['lock', 'acquire', '--resource', 'path:other', '--local']).lock_warnings, undefined);
  assert.equal(gritOk(a, ['lock', 'release', '--resource', 'path:rl', '--remote', 'origin']).lock_warnings, undefined);
  assert.equal(JSON.parse(git(remote, 'cat-file', 'blob', `${lockRefName('path:rl')}:lock.json`)).expires_unix_ms, 0);
});

test('lock policy: warn prints and writes, require refuses with conflict, the owner is never blocked', { timeout: 90_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  const id = (await gritSetup(a, ['issue', 'create', '--title', 'guarded'])).issue_id;
  const other = (await gritSetup(b, ['issue', 'create', '--title', 'free'])).issue_id;
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  await gritSetup(a, ['sync']);
  // A prefix is resolved to the full issue id.
  const got = gritOk(a, ['lock', 'acquire', '--resource', `issue:${id.slice(0, 8)}`, '--ttl', '1h']);
  assert.equal(got.lock.resource, `issue:${id}`);
  await gritSetup(b, ['sync']);

  // warn (the default): the write happens, with a warning on stderr.
  const warned = grit(b, ['issue', 'comment', id, '--body', 'despite the lock']);
  assert.equal(warned.code, 0, warned.stderr);
  assert.match(warned.stderr, new RegExp(`warning: issue:${id} is locked by ${got.lock.owner}.*lock_policy = warn`));
  const quiet = grit(b, ['issue', 'comment', other, '--body', 'not locked']);
  assert.equal(quiet.stderr, '');

  setLockPolicy(b, 'require');
  const refused = grit(b, ['issue', 'close', id, '--json']);
  assert.equal(refused.code, 4);
  assert.equal(refused.json.error.code, 'conflict');
  assert.equal(refused.json.error.details.lock.owner, got.lock.owner);
  assert.equal((await gritSetup(b, ['issue', 'show', id])).issue.state, 'open');
  assert.equal(grit(b, ['issue', 'comment', other, '--body', 'still free']).code, 0);
  // The owner writes freely under require.
  setLockPolicy(a, 'require');
  assert.equal(grit(a, ['issue', 'close', id]).code, 0);
  // repo: blocks every write of everyone else.
  gritOk(a, ['lock', 'acquire', '--resource', 'repo:']);
  await gritSetup(b, ['sync']);
  assert.equal(grit(b, ['issue', 'create', '--title', 'blocked', '--json']).code, 4);
  setLockPolicy(b, 'off');
  const off = grit(b, ['issue', 'create', '--title', 'policy off']);
  assert.equal(off.code, 0);
  assert.equal(off.stderr, '');
  // Released: no more warnings after the next sync.
  gritOk(a, ['lock', 'release', '--resource', 'repo:']);
  gritOk(a, ['lock', 'release', '--resource', `issue:${id}`]);
  setLockPolicy(b, 'require');
  await gritSetup(b, ['sync']);
  assert.equal(grit(b, ['issue', 'reopen', id]).code, 0);
});

test('remote locks: two clones racing for overlapping resources never both win', { timeout: 90_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  for (let round = 0; round < 4; round++) {
    const [ra, rb] = await Promise.all([
      gritAsync(a, ['lock', 'acquire', '--resource', `path:o${round}`, '--json']),
      gritAsync(b, ['lock', 'acquire', '--resource', `path:o${round}/inner.ts`, '--json']),
    ]);
    for (const r of [ra, rb]) assert.ok(r.code === 0 || r.json?.error?.code === 'conflict', r.stdout + r.stderr);
    assert.ok(ra.code !== 0 || rb.code !== 0, `round ${round}: both won`);
    // The views agree after the race: at most one live lock on the overlapping pair.
    await gritSetup(a, ['sync']);
    const live = gritOk(a, ['lock', 'status']).locks.filter((l: any) => l.resource.startsWith(`path:o${round}`));
    assert.ok(live.length <= 1, JSON.stringify(live));
    assert.deepEqual(gritOk(a, ['lock', 'status']).conflicts, []);
  }
});

test('local locks: two actors racing for overlapping resources never both win', { timeout: 90_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const one = gritOk(repo, ['actor', 'init', '--label', 'one']).actor.actor_id;
  const two = gritOk(repo, ['actor', 'init', '--label', 'two']).actor.actor_id;
  let contested = 0;
  for (let round = 0; round < 12; round++) {
    const [r1, r2] = await Promise.all([
      gritAsync(repo, ['lock', 'acquire', '--local', '--resource', `path:s${round}`, '--actor', one, '--json']),
      gritAsync(repo, ['lock', 'acquire', '--local', '--resource', `path:s${round}/a.ts`, '--actor', two, '--json']),
    ]);
    for (const r of [r1, r2]) assert.ok(r.code === 0 || r.json?.error?.code === 'conflict', r.stdout + r.stderr);
    assert.ok(r1.code !== 0 || r2.code !== 0, `round ${round}: both won`);
    if (r1.code !== 0 && r2.code !== 0) contested++;
    assert.deepEqual(gritOk(repo, ['lock', 'status']).conflicts, [], `round ${round}`);
  }
  assert.ok(contested < 12, 'someone wins most rounds');
});

/** An object store that counts the objects it reads (a real one: only the count is added). */
class CountingStore extends ObjectStore {
  reads = 0;
  override read(oid: string, opts?: ReadOptions) {
    this.reads++;
    return super.read(oid, opts);
  }
}

/**
 * Writes a live lock of `owner` on `resource` as another process or clone would (its ref moved
 * directly, as a sync or a plain git fetch moves it), on top of the lock there if any.
 */
async function putLock(gitDir: string, resource: string, owner: string, expires = Date.now() + 3_600_000): Promise<void> {
  const ref = lockRefName(resource);
  const current = await readRef(gitDir, ref);
  const lock: Lock = { resource, owner, nonce: 'n'.repeat(32), expires_unix_ms: expires };
  assert.ok(await casRef(gitDir, ref, current, writeObjects(gitDir, (sink) => writeLockCommit(sink, lock, current))));
}

/**
 * A repository with grit set up (`me` its actor), another owner and an issue id to lock, and a
 * second object store to write locks with: written as lock commands write them, but not read by
 * the store under test yet.
 */
async function lockScene() {
  const repo = tempRepo();
  const me: string = (await gritInit(repo)).actor.actor_id;
  const gitDir = join(repo, '.git');
  return { repo, me, gitDir, other: 'b'.repeat(32), issue: 'c'.repeat(32) };
}

test('lock reads: a lock commit is parsed once a process; an issue write reads only the refs that can overlap it', { timeout: 60_000 }, async () => {
  const { me, gitDir, other, issue } = await lockScene();
  for (let i = 0; i < 100; i++) await putLock(gitDir, `path:src/f${i}`, other);
  await putLock(gitDir, `issue:${issue}`, other);

  const objects = new CountingStore(gitDir);
  const ctx = { repo: { commonDir: gitDir }, actorId: me, config: { lock_policy: 'warn' as const }, wal: { objects } };
  const warnings = await checkLocks(ctx, [{ issue_id: fromHex(issue)!, kind: { type: 'CommentAdded' } }]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], new RegExp(`issue:${issue} is locked by ${other}`));
  assert.equal(objects.reads, 3, 'the issue lock (commit, tree, lock.json) and nothing of the 100 path locks');

  assert.equal((await readLocks(gitDir, objects)).locks.length, 101);
  assert.equal(objects.reads, 3 + 300, 'each path lock read once, the issue lock not again');
  assert.equal((await readLocks(gitDir, objects)).locks.length, 101);
  assert.equal(objects.reads, 303, 'the second look parses nothing');
});

test('a path: lock among hundreds: every ancestor and descendant is found, packed or loose, also those that come after the index', { timeout: 90_000 }, async () => {
  const { repo, me, gitDir, other, issue } = await lockScene();
  for (let i = 0; i < 150; i++) await putLock(gitDir, `path:src/d${i % 10}/f${i}.ts`, other);
  git(repo, 'pack-refs', '--all', '--prune'); // half of them only in packed-refs, as after a git gc
  for (let i = 150; i < 300; i++) await putLock(gitDir, `path:src/d${i % 10}/f${i}.ts`, other);
  for (const r of ['path:src', 'path:src/d3', 'path:lib/deep/er/x', 'path:srcx', `issue:${issue}`]) await putLock(gitDir, r, other);

  const objects = new ObjectStore(gitDir);
  const queries = [
    ['path:src/d3/f3.ts'],
    ['path:src/d3'],
    ['path:src/d3/f3.ts/below'],
    ['path:lib'],
    ['path:lib/deep/er/x/y'],
    ['path:srcx/y'],
    ['path:nothing/here'],
    ['path:lib/deep', `issue:${issue}`],
    ['repo:'],
  ];
  const check = async (when: string) => {
    // What the search finds is what reading every lock finds (readLocks, run after it so as not to teach it).
    const found: string[][] = [];
    for (const q of queries) found.push((await locksOverlapping(gitDir, objects, q)).map((l) => l.resource).sort());
    const all = (await readLocks(gitDir, objects)).locks;
    queries.forEach((q, i) => {
      const expected = all.filter((l) => q.some((r) => overlaps(l.resource, r))).map((l) => l.resource).sort();
      assert.deepEqual(found[i], expected, `${when}: ${q.join(', ')}`);
    });
    return found;
  };
  const first = await check('first look');
  assert.equal(first[1].length, 32, 'path:src/d3: itself, path:src and its 30 files');
  assert.deepEqual(first[3], ['path:lib/deep/er/x']);
  assert.deepEqual(first[6], []);
  assert.equal(first[8].length, 305);

  // After this process has learnt every resource: locks come, move and go behind its back.
  await putLock(gitDir, 'path:src/d3/new/deep.ts', other);
  await putLock(gitDir, 'path:lib/deep/er/x', me);
  await putLock(gitDir, 'path:nothing/here/at/all', other);
  assert.ok(await deleteRef(gitDir, lockRefName('path:src/d3/f13.ts')));
  const later = await check('after locks arrived');
  assert.ok(later[1].includes('path:src/d3/new/deep.ts') && !later[1].includes('path:src/d3/f13.ts'));
  assert.deepEqual(later[6], ['path:nothing/here/at/all']);

  // Another process, with the file of resources torn and added to, and locks it never heard of.
  const file = join(gitDir, 'grit', 'lock-resources');
  assert.match(readFileSync(file, 'utf8'), /^"path:src\/d3\/f3\.ts"$/m, 'the resources learnt are kept for other processes');
  appendFileSync(file, '"path:src/d3\nnot json\n42\n"path:late"\n');
  await putLock(gitDir, 'path:late/a/b.ts', other);
  const acquire = (resource: string) => grit(repo, ['lock', 'acquire', '--local', '--resource', resource, '--json']);
  for (const [resource, holder] of [
    ['path:late', 'path:late/a/b.ts'],
    ['path:lib/deep/er/x/y/z', null],
    ['path:nothing', 'path:nothing/here/at/all'],
    ['path:srcx/q', 'path:srcx'],
  ] as const) {
    const r = acquire(resource);
    if (holder === null) assert.equal(r.code, 0, r.stdout + r.stderr);
    else {
      assert.equal(r.code, 4, `${resource}: ${r.stdout}${r.stderr}`);
      assert.equal(r.json.error.details.lock.resource, holder);
    }
  }
});

test('lock gc deletes the expired locks with one git, packed or loose, not one a lock', { timeout: 60_000 }, async () => {
  const { repo, gitDir, other } = await lockScene();
  for (let i = 0; i < 60; i++) await putLock(gitDir, `path:src/f${i}`, other, i < 50 ? 1 : Date.now() + 3_600_000);
  git(repo, 'pack-refs', '--all');
  for (let i = 60; i < 80; i++) await putLock(gitDir, `path:src/f${i}`, other, 1);
  const gc = await gitCalls(() => runLocal('LockGc', {}, { cwd: repo }) as Promise<{ deleted: string[]; kept: number }>);
  assert.equal(gc.result.deleted.length, 70);
  assert.equal(gc.result.kept, 10);
  assert.deepEqual(gc.commands.filter((c) => c.startsWith('update-ref')), ['update-ref --stdin']);
  assert.equal((await readLocks(gitDir, new ObjectStore(gitDir))).locks.length, 10);
});

test('a path: lock reads only the lock refs that can overlap it, however many others there are and change', { timeout: 60_000 }, async () => {
  const { gitDir, other } = await lockScene();
  for (let i = 0; i < 100; i++) await putLock(gitDir, `path:src/f${i}`, other);

  const objects = new CountingStore(gitDir);
  assert.deepEqual(await locksOverlapping(gitDir, objects, ['path:lib/a']), []);
  assert.equal(objects.reads, 300, 'the first look learns what each lock ref is for');
  // Every lock renewed elsewhere: new commits this process has not parsed, under the same refs.
  for (let i = 0; i < 100; i++) await putLock(gitDir, `path:src/f${i}`, other);
  objects.reads = 0;
  assert.deepEqual(await locksOverlapping(gitDir, objects, ['path:lib/a']), []);
  assert.equal(objects.reads, 0, 'no lock ref overlaps path:lib/a, and none is read');
  assert.deepEqual((await locksOverlapping(gitDir, objects, ['path:src/f7/x.ts'])).map((l) => l.resource), ['path:src/f7']);
  assert.equal(objects.reads, 3, 'path:src/f7 alone (commit, tree, lock.json)');
  // Another process learns them from the file, without reading a ref.
  assert.equal(new LockResources(gitDir).resourceOf(lockRefName('path:src/f42')), 'path:src/f42');
});

test('the file of lock resources is rewritten with the existing locks alone once it mostly holds gone ones', () => {
  const gitDir = join(tempRepo(), '.git');
  mkdirSync(join(gitDir, 'grit'));
  const file = join(gitDir, 'grit', 'lock-resources');
  writeFileSync(file, Array.from({ length: 1000 }, (_, i) => `${JSON.stringify(`path:gone/${i}`)}\n`).join(''));
  const live = new Set([lockRefName('path:gone/1'), lockRefName('path:gone/2'), lockRefName('path:never/learnt')]);
  new LockResources(gitDir).compact(live);
  assert.equal(readFileSync(file, 'utf8').split('\n').length, 1000 + 1, 'not yet: 1000 lines are within 2 x 3 + 1024');
  appendFileSync(file, '"path:gone/1"\n'.repeat(100));
  const known = new LockResources(gitDir);
  known.compact(live);
  assert.equal(readFileSync(file, 'utf8'), '"path:gone/1"\n"path:gone/2"\n');
  assert.equal(known.resourceOf(lockRefName('path:gone/7')), 'path:gone/7', 'what this process knows stays true');
});

test('a compaction of the file of lock resources killed before its rename leaves a temporary file doctor finds and --fix deletes (`lock-resources.tmp-<pid>-<hex>` was a name it never matched)', () => {
  const repo = tempRepo();
  const gitDir = join(repo, '.git');
  const gritDir = join(gitDir, 'grit');
  mkdirSync(gritDir);
  writeFileSync(join(gritDir, 'lock-resources'), Array.from({ length: 1100 }, (_, i) => `${JSON.stringify(`path:gone/${i}`)}\n`).join(''));
  const module = new URL('../../src/git/lock-resources.js', import.meta.url).href;
  const script = `import { LockResources } from ${JSON.stringify(module)}; new LockResources(${JSON.stringify(gitDir)}).compact(new Set());`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, GRIT_FAULT: 'file:before-rename' }, encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const left = readdirSync(gritDir).filter((n) => n !== 'lock-resources').map((n) => join(gritDir, n));
  assert.equal(left.length, 1, String(left));
  assert.equal(readFileSync(join(gritDir, 'lock-resources'), 'utf8').split('\n').length, 1100 + 1, 'the file as it was');
  // Left alone a while (as doctor requires of a file whose writer may live in another pid namespace).
  const old = new Date(Date.now() - 120_000);
  utimesSync(left[0], old, old);
  assert.deepEqual(leftTempFiles(findRepo(repo)).map((f) => f.path), left);
  removeLeftTempFiles(findRepo(repo));
  assert.deepEqual(readdirSync(gritDir), ['lock-resources']);
});

/** A lock ref as someone else's tool may have written it: `content` as lock.json, committed at `writtenMs`. */
function forgeLockRef(gitDir: string, ref: string, content: string, writtenMs = Date.now(), file = 'lock.json'): Promise<boolean> {
  const who = { name: 'x', email: 'x@x', timestamp: Math.floor(writtenMs / 1000), tzOffsetMinutes: 0 };
  const commit = writeObjects(gitDir, (sink) => {
    const tree = sink.write('tree', encodeTree([{ mode: '100644', name: file, oid: sink.write('blob', Buffer.from(content)) }]));
    return sink.write('commit', encodeCommit({ tree, parents: [], author: who, committer: who, message: 'forged\n' }));
  });
  return casRef(gitDir, ref, null, commit);
}

test('forged lock refs: a lock claims 30 days at most; unreadable ones are listed by lock status and doctor, and gc deletes them', { timeout: 90_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const gitDir = join(repo, '.git');
  const other = 'f'.repeat(32);
  const forever = (resource: string) => Buffer.from(encodeLock({ resource, owner: other, nonce: 'x', expires_unix_ms: 99999999999999 })).toString();

  // A far-future expiry pulled from a remote: it blocks for 30 days at most, not until 5138.
  assert.ok(await forgeLockRef(gitDir, lockRefName('repo:'), forever('repo:')));
  const blocked = grit(repo, ['lock', 'acquire', '--resource', 'path:a', '--json']);
  assert.equal(blocked.code, 4);
  assert.ok(blocked.json.error.details.lock.expires_unix_ms <= Date.now() + MAX_TTL_MS, blocked.stdout);
  assert.doesNotMatch(blocked.json.error.message, /5138/);
  // Written more than 30 days ago, it has expired whatever it claims.
  git(repo, 'update-ref', '-d', lockRefName('repo:'));
  assert.ok(await forgeLockRef(gitDir, lockRefName('repo:'), forever('repo:'), Date.now() - MAX_TTL_MS - 60_000));
  assert.equal(gritOk(repo, ['lock', 'acquire', '--resource', 'path:a']).lock.resource, 'path:a');
  assert.equal(gritOk(repo, ['lock', 'status']).expired, 1);

  // Lock refs that hold no lock: ignored by every lock check, but listed.
  const bad: Record<string, string> = {};
  const forge = async (name: string, content: string, writtenMs?: number) => {
    bad[lockRefName(name)] = name;
    assert.ok(await forgeLockRef(gitDir, lockRefName(name), content, writtenMs));
  };
  await forge('path:garbage', '{not json');
  await forge('path:types', JSON.stringify({ resource: 'path:types', owner: other, nonce: 'x', expires_unix_ms: '1' }));
  await forge('path:ahead', forever('path:ahead'), Date.now() + 2 * MAX_TTL_MS);
  await forge('path:misfiled', forever('path:elsewhere'));
  bad[lockRefName('path:blob')] = 'path:blob';
  assert.ok(await casRef(gitDir, lockRefName('path:blob'), null, writeObjects(gitDir, (sink) => sink.write('blob', Buffer.from(forever('path:blob'))))));

  const status = gritOk(repo, ['lock', 'status']);
  assert.deepEqual(status.unreadable.map((u: any) => u.ref).sort(), Object.keys(bad).sort());
  const problem = (name: string) => status.unreadable.find((u: any) => u.ref === lockRefName(name)).problem;
  assert.match(problem('path:garbage'), /not JSON/);
  assert.match(problem('path:types'), /wrong type/);
  assert.match(problem('path:ahead'), /dated more than 30 days ahead/);
  assert.match(problem('path:misfiled'), /belongs under/);
  assert.match(problem('path:blob'), /is a blob, not a commit/);
  assert.deepEqual(status.locks.map((l: any) => l.resource), ['path:a']);
  const human = grit(repo, ['lock', 'status']).stdout;
  for (const ref of Object.keys(bad)) assert.match(human, new RegExp(`unreadable ${ref}: .*lock gc`));
  const doctor = gritDoctor(repo).checks.find((c: any) => c.id === 'lock_refs');
  assert.equal(doctor.status, 'warn');
  assert.match(doctor.message, /^5 lock refs holding no lock grit can read/);
  assert.match(doctor.plan, /grit lock gc/);

  // They block no other resource, but no lock is written over one (it may be another tool's live lock).
  assert.equal(gritOk(repo, ['lock', 'acquire', '--resource', 'path:ahead/below']).lock.resource, 'path:ahead/below');
  assert.equal(grit(repo, ['lock', 'acquire', '--resource', 'path:ahead', '--json']).json.error.details.unreadable, true);
  // gc: the five unreadable and the expired repo: lock.
  const gc = gritOk(repo, ['lock', 'gc']);
  assert.equal(gc.deleted.length, 6, JSON.stringify(gc));
  assert.deepEqual(gritOk(repo, ['lock', 'status']).unreadable, []);
  assert.equal(gritDoctor(repo).checks.find((c: any) => c.id === 'lock_refs').status, 'ok');
});

test("a lock ref holding another resource's live lock is never written over: acquire, renew and release say why, locally and on a remote", { timeout: 90_000 }, async () => {
  // A true clash (two resources sharing the first 8 bytes of their hash) cannot be made here:
  // a lock filed under another resource's ref is what one looks like from the ref it shares.
  const { remote, clones } = await network(1);
  const [repo] = clones;
  const gitDir = join(repo, '.git');
  const me = gritOk(repo, ['actor', 'current']).actor.actor_id;
  const other = 'f'.repeat(32);
  const live = (resource: string, owner: string, expires = Date.now() + 3_600_000) => Buffer.from(encodeLock({ resource, owner, nonce: 'n'.repeat(32), expires_unix_ms: expires })).toString();
  const refused = (args: string[], resource: string, holder: string) => {
    const r = grit(repo, [...args, '--resource', resource, '--json']);
    assert.deepEqual([r.code, r.json?.error?.code], [4, 'conflict'], r.stdout + r.stderr);
    assert.match(r.json.error.message, new RegExp(`^${resource}'s lock ref ${lockRefName(resource)} holds a lock on ${holder} by [0-9a-f]{32} until \\S+, filed there by another tool: grit does not write over it$`));
    assert.equal(r.json.error.details.clash, false);
    assert.match(r.json.error.details.suggestion, /^`grit lock gc` deletes it/);
  };
  // Another owner's, and this actor's own (which an acquire would otherwise take as its lock to keep).
  assert.ok(await forgeLockRef(gitDir, lockRefName('path:mine'), live('path:theirs', other)));
  assert.ok(await forgeLockRef(gitDir, lockRefName('path:own'), live('path:own-other', me)));
  const before = refs(repo, 'refs/grit/locks/');
  for (const args of [['lock', 'acquire', '--local'], ['lock', 'renew', '--local'], ['lock', 'release', '--local']]) {
    refused(args, 'path:mine', 'path:theirs');
    refused(args, 'path:own', 'path:own-other');
  }
  assert.deepEqual(refs(repo, 'refs/grit/locks/'), before, 'nothing written over');
  // The resource it names is not locked by it (its own ref is empty), and an expired one is no lock.
  assert.equal(gritOk(repo, ['lock', 'acquire', '--local', '--resource', 'path:theirs']).lock.resource, 'path:theirs');
  assert.ok(await forgeLockRef(gitDir, lockRefName('path:stale'), live('path:theirs', other, Date.now() - 1_000)));
  assert.equal(gritOk(repo, ['lock', 'acquire', '--local', '--resource', 'path:stale']).lock.resource, 'path:stale');
  // On a remote: the one there is fetched and refused alike, and the remote keeps it.
  assert.ok(await forgeLockRef(remote, lockRefName('path:far'), live('path:near', other)));
  const onRemote = refs(remote, 'refs/grit/locks/');
  refused(['lock', 'acquire'], 'path:far', 'path:near');
  assert.deepEqual(refs(remote, 'refs/grit/locks/'), onRemote);
  // Deleted by gc (it holds no lock grit honours), the resource is locked as usual.
  gritOk(repo, ['lock', 'gc', '--local']);
  assert.equal(gritOk(repo, ['lock', 'acquire', '--local', '--resource', 'path:mine']).lock.resource, 'path:mine');
});

test('a lock ref grit cannot read (another tool\'s lock under another file name) is never written over: acquire, renew and release refused, locally and on a remote', { timeout: 90_000 }, async () => {
  const { remote, clones } = await network(1);
  const [repo] = clones;
  const theirs = (resource: string) => Buffer.from(encodeLock({ resource, owner: 'f'.repeat(32), nonce: 'n'.repeat(32), expires_unix_ms: Date.now() + 3_600_000 })).toString();
  const refused = (args: string[], resource: string) => {
    const r = grit(repo, [...args, '--resource', resource, '--json']);
    assert.deepEqual([r.code, r.json?.error?.code], [4, 'conflict'], r.stdout + r.stderr);
    assert.match(r.json.error.message, new RegExp(`^${resource}'s lock ref ${lockRefName(resource)} holds nothing grit can read as a lock \\(its tree has no lock.json\\)`));
    assert.equal(r.json.error.details.unreadable, true);
    assert.match(r.json.error.details.suggestion, /`grit lock gc` deletes it/);
  };
  assert.ok(await forgeLockRef(join(repo, '.git'), lockRefName('path:near'), theirs('path:near'), Date.now(), 'data.json'));
  const before = refs(repo, 'refs/grit/locks/');
  for (const args of [['lock', 'acquire', '--local'], ['lock', 'renew', '--local'], ['lock', 'release', '--local']]) refused(args, 'path:near');
  assert.deepEqual(refs(repo, 'refs/grit/locks/'), before, 'nothing written over');
  // On the remote (QA round 10: a plain acquire replaced it there with grit's own).
  assert.ok(await forgeLockRef(remote, lockRefName('path:far'), theirs('path:far'), Date.now(), 'data.json'));
  const onRemote = refs(remote, 'refs/grit/locks/');
  for (const args of [['lock', 'acquire'], ['lock', 'renew'], ['lock', 'release']]) refused(args, 'path:far');
  assert.deepEqual(refs(remote, 'refs/grit/locks/'), onRemote, 'the remote keeps it');
  // Once gc deletes it (its writer known to be done), the resource is locked as usual.
  gritOk(repo, ['lock', 'gc']);
  assert.equal(gritOk(repo, ['lock', 'acquire', '--resource', 'path:far']).lock.resource, 'path:far');
});

test('a lock taken before the remote existed: a plain release or renew acts on it here and says so, never not_found', { timeout: 90_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  gritOk(repo, ['lock', 'acquire', '--resource', 'path:early']);
  const { remote } = await network(0);
  git(repo, 'remote', 'add', 'origin', remote);
  assert.deepEqual(gritOk(repo, ['lock', 'status']).locks.map((l: any) => [l.resource, l.mine]), [['path:early', true]]);
  const renewed = grit(repo, ['lock', 'renew', '--resource', 'path:early', '--ttl', '1h', '--json']);
  assert.equal(renewed.code, 0, renewed.stdout);
  assert.equal(renewed.json.data.remote, null);
  assert.match(renewed.json.data.lock_warnings[0], /^path:early is a lock of this clone only \(taken with --local, or before origin was there\), which origin has none of: renewed here \(`grit lock acquire --resource path:early` takes it on origin\)$/);
  assert.ok(renewed.json.data.lock.expires_unix_ms > Date.now() + 50 * 60_000);
  const released = grit(repo, ['lock', 'release', '--resource', 'path:early', '--json']);
  assert.equal(released.code, 0, released.stdout);
  assert.equal(released.json.data.lock.expires_unix_ms, 0);
  assert.match(released.json.data.lock_warnings[0], /which origin has none of: released here$/);
  assert.match(released.stderr, /warning: path:early is a lock of this clone only/);
  assert.deepEqual(gritOk(repo, ['lock', 'status']).locks, []);
  assert.deepEqual(refs(remote, 'refs/grit/locks/'), {}, 'nothing pushed');
  // A lock that is nowhere is still not_found, with the hint to take it.
  const none = grit(repo, ['lock', 'release', '--resource', 'path:never', '--json']);
  assert.deepEqual([none.code, none.json.error.code], [3, 'not_found']);
});

test('a ref on the remote in the way of the lock refs: a git_error naming it at once, not a lock that kept changing', { timeout: 90_000 }, async () => {
  const { remote, clones } = await network(1);
  const [a] = clones;
  git(a, 'commit', '-q', '--allow-empty', '-m', 'not grit');
  git(a, 'push', '-q', 'origin', 'HEAD:refs/grit/locks');
  const r = grit(a, ['lock', 'acquire', '--resource', 'path:q', '--json']);
  assert.equal(r.code, 1, r.stdout);
  assert.equal(r.json.error.code, 'git_error');
  assert.match(r.json.error.message, /'refs\/grit\/locks' exists; cannot create 'refs\/grit\/locks\/[0-9a-f]{16}'/);
  assert.match(r.json.error.details.suggestion, /the remote's ref refs\/grit\/locks is in the way of refs\/grit\/locks\/[0-9a-f]{16} .*`git push origin :refs\/grit\/locks`/);
  git(remote, 'update-ref', '-d', 'refs/grit/locks');
  assert.equal(gritOk(a, ['lock', 'acquire', '--resource', 'path:q']).remote, 'origin');
});
