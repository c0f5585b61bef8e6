import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeChunk } from '../../src/core/chunk.js';
import { GritError } from '../../src/core/errors.js';
import { makeEvent, type Event } from '../../src/core/event.js';
import { toHex } from '../../src/core/hex.js';
import { Wal, WAL_REF } from '../../src/git/wal.js';
import { ACTOR, ACTOR_HEX, bodies, comment, DAY, forge, fsckClean, git, isGritError, tempRepo } from './_util.js';

const isWalError = isGritError('wal_error');

test('append: one commit per call, meta.json and events/YYYY/MM/DD/<hash>.bin, exactly as git shows them', async () => {
  const { dir, gitDir } = tempRepo();
  const wal = new Wal(gitDir);
  assert.equal(await wal.head(), null);
  const before = Math.floor(Date.now() / 1000);
  const first = await wal.append([comment('one')], ACTOR_HEX);
  // Many events in one chunk; the FIRST event's UTC date names the folder (23:59 on Jan 2 here).
  const many = [comment('m0', Date.UTC(2027, 0, 2, 23, 59)), ...Array.from({ length: 49 }, (_, i) => comment(`m${i + 1}`, DAY))];
  const second = await wal.append(many, ACTOR_HEX);
  assert.equal(first.parent, null);
  assert.equal(second.parent, first.commit);
  assert.equal(await wal.head(), second.commit);
  assert.equal(git(dir, ['rev-parse', WAL_REF]).trim(), second.commit);
  assert.equal(git(dir, ['log', '--format=%H', WAL_REF]).trim(), `${second.commit}\n${first.commit}`);
  assert.equal(first.chunkHash, toHex(encodeChunk([comment('one')]).hash));

  // The commit object: root tree, parent, grit <actor@grit.invalid>, current time, UTC.
  const commitText = git(dir, ['cat-file', '-p', second.commit]);
  const [, tree] = /^tree ([0-9a-f]{40})$/m.exec(commitText)!;
  assert.match(commitText, new RegExp(`^parent ${first.commit}$`, 'm'));
  const author = new RegExp(`^author grit <${ACTOR_HEX}@grit\\.invalid> (\\d+) \\+0000$`, 'm').exec(commitText);
  assert.ok(author, commitText);
  assert.ok(Number(author[1]) >= before && Number(author[1]) <= Date.now() / 1000 + 1);
  assert.match(commitText, new RegExp(`^committer grit <${ACTOR_HEX}@grit\\.invalid> \\d+ \\+0000$`, 'm'));

  // Nested trees with git's modes, only this commit's own data.
  const lsRoot = git(dir, ['cat-file', '-p', tree]).trim().split('\n');
  assert.equal(lsRoot.length, 2);
  assert.match(lsRoot[0], /^040000 tree [0-9a-f]{40}\tevents$/);
  assert.match(lsRoot[1], /^100644 blob [0-9a-f]{40}\tmeta\.json$/);
  assert.deepEqual(git(dir, ['ls-tree', '-r', '-t', '--name-only', second.commit]).trim().split('\n'), [
    'events',
    'events/2027',
    'events/2027/01',
    'events/2027/01/02',
    `events/2027/01/02/${second.chunkHash}.bin`,
    'meta.json',
  ]);
  assert.equal(git(dir, ['ls-tree', '-r', '--name-only', first.commit]).trim(), `events/2026/11/25/${first.chunkHash}.bin\nmeta.json`);

  // meta.json, byte for byte; the chunk file is the encoded chunk.
  assert.equal(
    git(dir, ['cat-file', 'blob', `${second.commit}:meta.json`]),
    `{"schema_version":1,"actor_id":"${ACTOR_HEX}","chunk_hash":"${second.chunkHash}","prev_wal":"${first.commit}"}\n`,
  );
  assert.equal(
    git(dir, ['cat-file', 'blob', `${first.commit}:meta.json`]),
    `{"schema_version":1,"actor_id":"${ACTOR_HEX}","chunk_hash":"${first.chunkHash}","prev_wal":null}\n`,
  );
  const chunkBytes = Buffer.from(encodeChunk(many).bytes);
  assert.equal(git(dir, ['hash-object', '--stdin'], chunkBytes).trim(), git(dir, ['rev-parse', `${second.commit}:events/2027/01/02/${second.chunkHash}.bin`]).trim());

  fsckClean(dir);
  const back = await new Wal(gitDir).readSince(null);
  assert.deepEqual(back.map((c) => c.oid), [first.commit, second.commit]);
  assert.deepEqual(back[1].events.map((e) => toHex(e.event_id)), many.map((e) => toHex(e.event_id)));
  assert.equal(back[1].actor, ACTOR_HEX);
  assert.equal(back[1].chunkHash, second.chunkHash);
});

test('readSince is incremental, oldest first; `to`, unknown starts and an empty WAL', async () => {
  const { gitDir } = tempRepo();
  const wal = new Wal(gitDir);
  assert.deepEqual(await wal.readSince(null), []);
  const a = await wal.append([comment('1')], ACTOR_HEX);
  const b = await wal.append([comment('2'), comment('3')], ACTOR_HEX);
  const c = await wal.append([comment('4')], ACTOR_HEX);
  const all = await wal.readSince(null);
  assert.deepEqual(all.map((x) => x.oid), [a.commit, b.commit, c.commit]);
  assert.deepEqual(bodies((await wal.readSince(a.commit)).flatMap((x) => x.events)), ['2', '3', '4']);
  assert.deepEqual(bodies((await wal.readSince(b.commit)).flatMap((x) => x.events)), ['4']);
  assert.deepEqual(await wal.readSince(c.commit), []);
  assert.deepEqual((await wal.readSince(null, b.commit)).map((x) => x.oid), [a.commit, b.commit]);
  assert.deepEqual((await wal.readSince(a.commit, b.commit)).map((x) => x.oid), [b.commit]);
  // A start that is not on the chain (e.g. after a sync rebase) reads everything.
  assert.equal((await wal.readSince('0'.repeat(40))).length, 3);
  assert.equal(await wal.isAncestor(a.commit, c.commit), true);
  assert.equal(await wal.isAncestor(c.commit, a.commit), false);
  assert.equal(await wal.isAncestor(null, a.commit), true);
});

test('append with expectedHead appends only on that head; without it a stale view is rebased', async () => {
  const { dir, gitDir } = tempRepo();
  const w1 = new Wal(gitDir);
  const w2 = new Wal(gitDir);
  const a = await w1.append([comment('a')], ACTOR_HEX, { expectedHead: null });
  await assert.rejects(w2.append([comment('x')], ACTOR_HEX, { expectedHead: null }), (e: unknown) => {
    assert.ok(isGritError('conflict')(e));
    assert.deepEqual((e as GritError).details, { expected_head: null, wal_head: a.commit });
    return true;
  });
  const b = await w2.append([comment('b')], ACTOR_HEX, { expectedHead: a.commit });
  assert.equal(b.parent, a.commit);
  await assert.rejects(w1.append([comment('y')], ACTOR_HEX, { expectedHead: a.commit }), isGritError('conflict'));
  const c = await w1.append([comment('c')], ACTOR_HEX);
  assert.equal(c.parent, b.commit, 'built on the real head');
  assert.deepEqual(bodies((await w1.readSince(null)).flatMap((x) => x.events)), ['a', 'b', 'c']);
  assert.equal(git(dir, ['rev-list', '--count', WAL_REF]).trim(), '3');
  await assert.rejects(w1.append([], ACTOR_HEX), isGritError('internal_error'));
  await assert.rejects(w1.append([comment('z')], 'not-hex'), isGritError('internal_error'));
});

test('bad WAL commits written with git plumbing are refused with wal_error naming them, and nothing is returned', async () => {
  const { dir, gitDir } = tempRepo();
  const wal = new Wal(gitDir);
  const good = await wal.append([comment('fine')], ACTOR_HEX);
  const f = forge(dir);
  const okChunk = encodeChunk([comment('forged')]);
  const okHash = toHex(okChunk.hash);
  const flipped = okChunk.bytes.slice();
  flipped[flipped.length - 1] ^= 1;
  // A chunk whose hash is right but whose event id does not match the event's content.
  const liar: Event = { ...comment('original'), kind: { type: 'CommentAdded', body: 'edited' } };
  const liarChunk = encodeChunk([liar]);
  const otherFile = f.blob('x');

  const cases: Record<string, () => string> = {
    'chunk bytes do not match the hash': () => f.walCommit(flipped, okHash, good.commit),
    'event id does not match its content': () => f.walCommit(liarChunk.bytes, toHex(liarChunk.hash), good.commit),
    'schema_version 2': () => f.walCommit(okChunk.bytes, okHash, good.commit, { metaExtra: { schema_version: 2 } }),
    'chunk missing at its name': () => f.walCommit(okChunk.bytes, okHash, good.commit, { fileName: `${'0'.repeat(64)}.bin` }),
    'meta.json missing': () => f.commit(f.mktree([`040000 tree ${f.dated(f.mktree([`100644 blob ${f.blob(okChunk.bytes)}\t${okHash}.bin`]))}\tevents`]), [good.commit]),
    'meta.json not JSON': () => f.commit(f.mktree([`100644 blob ${f.blob('{')}\tmeta.json`]), [good.commit]),
    'another file beside the chunk': () => {
      const day = f.mktree([`100644 blob ${f.blob(okChunk.bytes)}\t${okHash}.bin`, `100644 blob ${otherFile}\tzz.bin`]);
      return f.commit(f.mktree([`040000 tree ${f.dated(day)}\tevents`, `100644 blob ${f.meta(okHash, good.commit)}\tmeta.json`]), [good.commit]);
    },
    'a file beside meta.json and events': () => {
      const day = f.mktree([`100644 blob ${f.blob(okChunk.bytes)}\t${okHash}.bin`]);
      return f.commit(f.mktree([`040000 tree ${f.dated(day)}\tevents`, `100644 blob ${otherFile}\tevil.txt`, `100644 blob ${f.meta(okHash, good.commit)}\tmeta.json`]), [good.commit]);
    },
    'a directory beside meta.json and events': () => {
      const day = f.mktree([`100644 blob ${f.blob(okChunk.bytes)}\t${okHash}.bin`]);
      return f.commit(f.mktree([`040000 tree ${f.dated(day)}\tevents`, `040000 tree ${f.mktree([`100644 blob ${otherFile}\tx`])}\tmore`, `100644 blob ${f.meta(okHash, good.commit)}\tmeta.json`]), [good.commit]);
    },
    'meta.json names another actor than the events': () => f.walCommit(okChunk.bytes, okHash, good.commit, { metaExtra: { actor_id: 'b2'.repeat(16) } }),
    'head is a tree, not a commit': () => git(dir, ['rev-parse', `${good.commit}^{tree}`]).trim(),
    'a merge': () => {
      const side = f.walCommit(okChunk.bytes, okHash, good.commit);
      const root = git(dir, ['rev-parse', `${side}^{tree}`]).trim();
      return f.commit(root, [good.commit, side]);
    },
  };
  for (const [name, make] of Object.entries(cases)) {
    const bad = make();
    git(dir, ['update-ref', WAL_REF, bad]);
    // Valid commits on top of the bad one: still nothing is returned.
    const after = await wal.append([comment('after')], ACTOR_HEX);
    for (const from of [null, good.commit]) {
      await assert.rejects(wal.readSince(from), (e: unknown) => {
        assert.ok(isWalError(e), `${name}: ${String(e)}`);
        assert.equal((e as GritError).details.commit, bad, name);
        assert.match((e as GritError).message, new RegExp(bad), name);
        return true;
      });
    }
    // Reading only what comes after the bad commit is fine.
    if (name !== 'head is a tree, not a commit') {
      assert.deepEqual((await wal.readSince(bad)).map((c) => c.oid), [after.commit], name);
    }
    git(dir, ['update-ref', WAL_REF, good.commit]);
  }
  assert.deepEqual((await wal.readSince(null)).map((c) => c.oid), [good.commit]);
});

test('reads from packs after git gc (deltas), and appends on top of a packed ref', async (t) => {
  const { dir, gitDir } = tempRepo();
  const wal = new Wal(gitDir);
  const n = 150;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const batch = Array.from({ length: 1 + (i % 3) }, (_, k) => comment(`c${i}.${k}`, DAY + i * 3_600_000));
    await wal.append(batch, ACTOR_HEX);
  }
  const t1 = performance.now();
  const appended = await new Wal(gitDir).readSince(null);
  const t2 = performance.now();
  git(dir, ['gc', '--aggressive', '--prune=now', '-q']);
  const t3 = performance.now();
  const packed = await new Wal(gitDir).readSince(null);
  const t4 = performance.now();
  t.diagnostic(`append ${n}: ${(t1 - t0).toFixed(0)} ms; read as appended (small packs) ${(t2 - t1).toFixed(0)} ms; read after gc ${(t4 - t3).toFixed(0)} ms`);
  assert.equal(appended.length, n);
  assert.deepEqual(
    packed.map((c) => [c.oid, c.chunkHash, c.events.map((e) => toHex(e.event_id))]),
    appended.map((c) => [c.oid, c.chunkHash, c.events.map((e) => toHex(e.event_id))]),
  );
  assert.equal(git(dir, ['count-objects', '-v']).match(/^count: (\d+)$/m)![1], '0', 'nothing loose left');
  const more = await wal.append([comment('after gc')], ACTOR_HEX);
  assert.equal(more.parent, appended[n - 1].oid);
  assert.deepEqual(bodies((await wal.readSince(appended[n - 1].oid)).flatMap((c) => c.events)), ['after gc']);
  fsckClean(dir);
});

test('events of other actors and signatures survive the round trip', async () => {
  const { gitDir } = tempRepo();
  const wal = new Wal(gitDir);
  const other = new Uint8Array(16).fill(0xb2);
  const signed = makeEvent(
    { issue_id: new Uint8Array(16).fill(3), actor: other, ts_unix_ms: DAY, parent: null, kind: { type: 'LabelAdded', label: 'bug' } },
    () => new Uint8Array(64).fill(7),
  );
  await wal.append([signed], toHex(other));
  const [c] = await wal.readSince(null);
  assert.equal(c.actor, toHex(other));
  assert.deepEqual(c.events[0], signed);
  // A commit's events are all its actor's (meta.json names it): appending others' is a bug.
  await assert.rejects(wal.append([signed, comment('x')], toHex(other)), (e: GritError) => e.code === 'internal_error');
});

test('an object under a WAL commit in place of another commit\'s is refused, though only the commit and root tree are checked against their SHA-1', async () => {
  const { dir, gitDir } = tempRepo();
  const seed = new Wal(gitDir);
  const a = await seed.append([comment('a', DAY)], ACTOR_HEX);
  const b = await seed.append([comment('b', DAY)], ACTOR_HEX);
  // Every object loose, so that one can be swapped for another.
  const packDir = join(gitDir, 'objects', 'pack');
  for (const name of readdirSync(packDir).filter((n) => n.endsWith('.pack'))) {
    const pack = readFileSync(join(packDir, name));
    for (const ext of ['.pack', '.idx', '.rev']) rmSync(join(packDir, name.replace(/\.pack$/, ext)), { force: true });
    git(dir, ['unpack-objects', '-q'], pack);
  }
  const dayPath = (c: { chunkHash: string }) => `events/2026/11/25/${c.chunkHash}.bin`;
  const cases: [string, (c: typeof a) => string][] = [
    ['the chunk', (c) => dayPath(c)],
    ['meta.json', () => 'meta.json'],
    ['the day tree', () => 'events/2026/11/25'],
    ['the month tree', () => 'events/2026/11'],
    ['the year tree', () => 'events/2026'],
    ['the events tree', () => 'events'],
    ['the root tree', () => ''],
  ];
  for (const [what, path] of cases) {
    const target = git(dir, ['rev-parse', `${a.commit}:${path(a)}`]).trim();
    const other = git(dir, ['rev-parse', `${b.commit}:${path(b)}`]).trim();
    const file = join(gitDir, 'objects', target.slice(0, 2), target.slice(2));
    const original = readFileSync(file);
    // The loose file of `target` now holds `other`: what a damaged object store would hand out.
    rmSync(file);
    writeFileSync(file, readFileSync(join(gitDir, 'objects', other.slice(0, 2), other.slice(2))));
    await assert.rejects(new Wal(gitDir).readSince(null), (e: unknown) => {
      assert.ok(isWalError(e), `${what}: ${String(e)}`);
      assert.equal((e as GritError).details.commit, a.commit, what);
      return true;
    });
    rmSync(file);
    writeFileSync(file, original);
    assert.equal((await new Wal(gitDir).readSince(null)).length, 2, `${what} put back`);
  }
});

test('grit never appends an event whose kind and issue id disagree (SPEC §1 context ids): readers would refuse it', async () => {
  const { dir, gitDir } = tempRepo();
  const wal = new Wal(gitDir);
  const { misfiledRecords } = await import('../helpers/bad-records.js');
  for (const { what, issue, kind } of misfiledRecords(ACTOR, DAY)) {
    const e = makeEvent({ issue_id: issue, actor: ACTOR, ts_unix_ms: DAY, parent: null, kind });
    await assert.rejects(wal.append([comment('ok'), e], ACTOR_HEX), isGritError('internal_error'), what);
  }
  assert.equal(await wal.head(), null, 'nothing appended');
  assert.equal(git(dir, ['for-each-ref', WAL_REF]).trim(), '');
});
