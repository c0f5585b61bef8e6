import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeChunk } from '../../src/core/chunk.js';
import { GritError } from '../../src/core/errors.js';
import { makeEvent, type Event } from '../../src/core/event.js';
import { toHex } from '../../src/core/hex.js';
import { casRef, readRef } from '../../src/git/refs.js';
import { Wal, WAL_REF } from '../../src/git/wal.js';
import { fsckClean, git, tempRepo } from '../helpers/repo.js';

const actorHex = 'a1'.repeat(16);
const actor = new Uint8Array(16).fill(0xa1);

function comment(body: string, ts = Date.UTC(2026, 10, 25, 12)): Event {
  return makeEvent({ issue_id: new Uint8Array(16).fill(1), actor, ts_unix_ms: ts, parent: null, kind: { type: 'CommentAdded', body } });
}

const isWalError = (e: unknown) => e instanceof GritError && e.code === 'wal_error';

test('append writes one commit per call with meta.json and the dated chunk; git agrees', async () => {
  const repo = tempRepo();
  const gitDir = join(repo, '.git');
  const wal = new Wal(gitDir);
  const first = await wal.append([comment('a'), comment('b')], actorHex);
  const second = await wal.append([comment('c', Date.UTC(2027, 0, 2))], actorHex);
  assert.equal(first.parent, null);
  assert.equal(second.parent, first.commit);
  assert.equal(await wal.head(), second.commit);
  assert.equal(git(repo, 'rev-list', 'refs/grit/wal').trim().split('\n').join(' '), `${second.commit} ${first.commit}`);
  const tree = git(repo, 'ls-tree', '-r', '--name-only', second.commit).trim().split('\n');
  assert.deepEqual(tree, [`events/2027/01/02/${second.chunkHash}.bin`, 'meta.json']);
  const meta = JSON.parse(git(repo, 'show', `${second.commit}:meta.json`));
  assert.deepEqual(meta, { schema_version: 1, actor_id: actorHex, chunk_hash: second.chunkHash, prev_wal: first.commit });
  const firstTree = git(repo, 'ls-tree', '-r', '--name-only', first.commit).trim();
  assert.match(firstTree, /^events\/2026\/11\/25\/[0-9a-f]{64}\.bin$/m);
  fsckClean(repo);
});

test('readSince is incremental and oldest first', async () => {
  const repo = tempRepo();
  const wal = new Wal(join(repo, '.git'));
  const a = await wal.append([comment('1')], actorHex);
  const b = await wal.append([comment('2'), comment('3')], actorHex);
  const c = await wal.append([comment('4')], actorHex);
  const all = await wal.readSince(null);
  assert.deepEqual(all.map((x) => x.oid), [a.commit, b.commit, c.commit]);
  const bodies = (await wal.readSince(a.commit)).flatMap((x) => x.events.map((e) => (e.kind as { body: string }).body));
  assert.deepEqual(bodies, ['2', '3', '4']);
  assert.deepEqual(await wal.readSince(c.commit), []);
  // A head that is not an ancestor reads the whole chain (applying is idempotent).
  assert.equal((await wal.readSince('0'.repeat(40))).length, 3);
});

test('a tampered chunk written with git plumbing is refused and nothing is returned', async () => {
  const repo = tempRepo();
  const gitDir = join(repo, '.git');
  const wal = new Wal(gitDir);
  const good = await wal.append([comment('fine')], actorHex);
  // Build a commit whose chunk does not hash to the name meta.json gives it.
  const forged = encodeChunk([comment('forged')]);
  const bytes = forged.bytes.slice();
  bytes[bytes.length - 1] ^= 1;
  const work = join(repo, 'forge');
  mkdirSync(work);
  writeFileSync(join(work, 'chunk.bin'), bytes);
  writeFileSync(join(work, 'meta.json'), JSON.stringify({ schema_version: 1, actor_id: actorHex, chunk_hash: toHex(forged.hash), prev_wal: good.commit }));
  const blob = (f: string) => git(repo, 'hash-object', '-w', join(work, f)).trim();
  const mk = (entries: string) => spawnSync('git', ['mktree'], { cwd: repo, input: entries, encoding: 'utf8' }).stdout.trim();
  let t = mk(`100644 blob ${blob('chunk.bin')}\t${toHex(forged.hash)}.bin\n`);
  for (const part of ['25', '11', '2026']) t = mk(`040000 tree ${t}\t${part}\n`);
  const root = mk(`040000 tree ${t}\tevents\n100644 blob ${blob('meta.json')}\tmeta.json\n`);
  const bad = git(repo, 'commit-tree', root, '-p', good.commit, '-m', 'forged').trim();
  git(repo, 'update-ref', WAL_REF, bad);
  await assert.rejects(wal.readSince(null), isWalError);
  await assert.rejects(wal.readSince(good.commit), isWalError);
  // A ref pointing at something that is not a WAL commit is a wal_error too.
  git(repo, 'update-ref', WAL_REF, root);
  await assert.rejects(wal.readSince(null), isWalError);
});

test('two processes appending 100 commits each at once: 200 commits, linear, none lost', async () => {
  const repo = tempRepo();
  const gitDir = join(repo, '.git');
  const writer = fileURLToPath(new URL('../helpers/append-many.js', import.meta.url));
  const run = (a: string) =>
    new Promise<void>((res, rej) =>
      execFile(process.execPath, [writer, gitDir, '100', a], (err, _o, stderr) => (err ? rej(new Error(stderr)) : res())),
    );
  await Promise.all([run('b1'.repeat(16)), run('c1'.repeat(16))]);
  assert.equal(git(repo, 'rev-list', '--count', WAL_REF).trim(), '200');
  assert.equal(git(repo, 'rev-list', '--merges', WAL_REF).trim(), '');
  const events = (await new Wal(gitDir).readSince(null)).flatMap((c) => c.events);
  assert.equal(new Set(events.map((e) => toHex(e.event_id))).size, 200);
  fsckClean(repo);
});

test('compare-and-swap: a stale expectation fails; native git respects our lock and we respect its', async () => {
  const repo = tempRepo();
  const gitDir = join(repo, '.git');
  const wal = new Wal(gitDir);
  const a = await wal.append([comment('a')], actorHex);
  const b = await wal.append([comment('b')], actorHex);
  assert.equal(await casRef(gitDir, WAL_REF, a.commit, a.commit), false, 'head is b, not a');
  assert.equal(await readRef(gitDir, WAL_REF), b.commit);
  // While the lock exists, native git refuses to move the ref.
  const lock = join(gitDir, 'refs/grit/wal.lock');
  writeFileSync(lock, '');
  const r = spawnSync('git', ['update-ref', WAL_REF, a.commit, b.commit], { cwd: repo, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /lock/);
  assert.equal(await readRef(gitDir, WAL_REF), b.commit);
  // A lock left by a dead writer (older than the stale limit) is recovered.
  const old = (Date.now() - 60_000) / 1000;
  utimesSync(lock, old, old);
  const c = await wal.append([comment('c')], actorHex);
  assert.equal(c.parent, b.commit);
  // After pack-refs the ref lives in packed-refs; reads and CAS still work.
  git(repo, 'pack-refs', '--all');
  assert.equal(await readRef(gitDir, WAL_REF), c.commit);
  const d = await wal.append([comment('d')], actorHex);
  assert.equal(d.parent, c.commit);
  fsckClean(repo);
});
