/**
 * Hostile WAL commits fetched from a remote: each is built with real git plumbing in a bare remote
 * (what anyone with push access could do without grit), then `grit sync --pull` runs in a clone.
 * Every one must be refused with wal_error, apply nothing, and leave the local refs as they were.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { encodeChunk, MAX_CHUNK_BYTES } from '../../src/core/chunk.js';
import { RepoContext } from '../../src/commands/context.js';
import { syncWith } from '../../src/commands/sync.js';
import { GritError } from '../../src/core/errors.js';
import { loadFastHash } from '../../src/core/hash.js';
import { rng } from '../helpers/random.js';
import { chunkOfRecords, misfiledRecords, unsortedListRecord } from '../helpers/bad-records.js';
import { fromHex } from '../../src/core/hex.js';
import { fsckClean, git, grit, gritSetup } from '../helpers/repo.js';
import { pairWithLocalChange, refs } from '../sync/_helpers.js';
import { chunkCommit, mktree, put, remoteCommit } from './_remote.js';
import { FAMILIES, hostile, sampleEvents } from './_hostile.js';

/**
 * A loose blob whose zlib stream is tiny but inflates to `size` zero bytes (a zlib bomb), written
 * straight into the remote's object directory.
 */
function zlibBomb(remote: string, size: number): string {
  const header = Buffer.from(`blob ${size}\0`);
  const zeros = Buffer.alloc(size);
  const oid = createHash('sha1').update(header).update(zeros).digest('hex');
  const dir = join(remote, 'objects', oid.slice(0, 2));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, oid.slice(2)), deflateSync(Buffer.concat([header, zeros]), { level: 9 }));
  return oid;
}

async function scene() {
  const { remote, a, b, id, head: honest } = await pairWithLocalChange();
  const actor = JSON.parse(git(remote, 'cat-file', 'blob', `${honest}:meta.json`)).actor_id as string;
  return { remote, a, b, id, honest, actor };
}

test('hostile WAL commits from a remote: each refused with wal_error, nothing applied, local refs untouched', { timeout: 120_000 }, async () => {
  const s = await scene();
  const rand = rng(7);
  const honestChunk = () => encodeChunk(sampleEvents(Uint8Array.from(Buffer.from(s.actor, 'hex')))).bytes;
  const variants: [string, () => void][] = [
    ...FAMILIES.filter((f) => f !== 'bit flips').map((f): [string, () => void] => [`chunk: ${f}`, () => chunkCommit(s.remote, s.actor, hostile(f, rand))]),
    ['chunk hash in meta.json does not match the chunk', () => remoteCommit(s.remote, s.actor, { chunkName: `${'b'.repeat(64)}.bin` })],
    ['meta.json is not JSON', () => remoteCommit(s.remote, s.actor, { meta: '{"schema_version":1,' })],
    ['meta.json with schema_version 2', () => remoteCommit(s.remote, s.actor, { meta: '{"schema_version":2}\n' })],
    ['meta.json of 100 KB', () => remoteCommit(s.remote, s.actor, { meta: `{"schema_version":1,"pad":"${'x'.repeat(100_000)}"}` })],
    ['a merge commit on the WAL', () => {
      const side = remoteCommit(s.remote, s.actor, {});
      git(s.remote, 'update-ref', 'refs/grit/wal', s.honest);
      remoteCommit(s.remote, s.actor, { parents: [s.honest, side] });
    }],
    // Valid but for one thing (the control at the end pulls the same commit without it).
    ['an extra file beside meta.json', () => chunkCommit(s.remote, s.actor, honestChunk(), { extraRoot: `100644 blob ${put(s.remote, 'x')}\tevil.txt\n` })],
    ['meta.json names another actor than the events', () => chunkCommit(s.remote, 'b2'.repeat(16), honestChunk())],
    ...(['labels', 'symbols'] as const).map((list): [string, () => void] => [
      `${list} not in hash order, the id over the record as it is`,
      () => chunkCommit(s.remote, s.actor, chunkOfRecords([unsortedListRecord(list, new Uint8Array(16).fill(7), fromHex(s.actor, 16)!, Date.now())])),
    ]),
    ...misfiledRecords(fromHex(s.actor, 16)!, Date.now()).map(({ what, record }): [string, () => void] => [
      `${what} (SPEC §1), its id right`,
      () => chunkCommit(s.remote, s.actor, chunkOfRecords([record])),
    ]),
    ['the WAL ref points at a blob', () => git(s.remote, 'update-ref', 'refs/grit/wal', put(s.remote, 'not a commit'))],
    ['the WAL ref points at a tree', () => git(s.remote, 'update-ref', 'refs/grit/wal', mktree(s.remote, `100644 blob ${put(s.remote, 'x')}\tx\n`))],
  ];
  const localRefs = refs(s.b);
  const list = await gritSetup(s.b, ['issue', 'list']);
  const shown = await gritSetup(s.b, ['issue', 'show', s.id]);
  for (const [name, build] of variants) {
    git(s.remote, 'update-ref', 'refs/grit/wal', s.honest);
    build();
    const r = grit(s.b, ['sync', '--pull', '--json']);
    assert.equal(r.code, 1, `${name}: ${r.stdout} ${r.stderr}`);
    assert.equal(r.json?.error?.code, 'wal_error', `${name}: ${r.stdout}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: a stack trace`);
    assert.deepEqual(refs(s.b), localRefs, `${name}: local refs changed`);
  }
  assert.deepEqual(await gritSetup(s.b, ['issue', 'list']), list);
  assert.deepEqual(await gritSetup(s.b, ['issue', 'show', s.id]), shown);
  fsckClean(s.b);
  // The honest remote is still usable afterwards.
  git(s.remote, 'update-ref', 'refs/grit/wal', s.honest);
  assert.equal((await gritSetup(s.b, ['sync'])).pushed, 1);
  // The control: the commit the variants above spoil, unspoilt, is taken.
  chunkCommit(s.remote, s.actor, honestChunk());
  assert.equal((await gritSetup(s.b, ['sync', '--pull'])).pulled, sampleEvents().length);
});

test('a zlib bomb as a remote chunk (40 MB of zeros in a few KB) is refused before it is inflated', { timeout: 60_000 }, async () => {
  const s = await scene();
  const size = 40 << 20;
  assert.ok(size > MAX_CHUNK_BYTES);
  remoteCommit(s.remote, s.actor, { chunkBlob: zlibBomb(s.remote, size), chunkName: `${'c'.repeat(64)}.bin` });
  const localRefs = refs(s.b);
  const ctx = RepoContext.open({ cwd: s.b });
  try {
    await ctx.refresh();
    // A pull loads the WebAssembly hasher (~15 MiB, once per process): not what is measured here.
    await loadFastHash();
    const rss0 = process.memoryUsage().rss;
    await assert.rejects(syncWith(ctx, { remote: 'origin', pull: true, push: false }), (e: unknown) => {
      assert.ok(e instanceof GritError && e.code === 'wal_error', String(e));
      assert.match(e.message, /larger than the \d+ bytes allowed/);
      return true;
    });
    const growth = process.memoryUsage().rss - rss0;
    assert.ok(growth < size / 2, `rss grew by ${(growth / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    await ctx.close();
  }
  assert.deepEqual(refs(s.b), localRefs);
  assert.equal((await gritSetup(s.b, ['issue', 'show', s.id])).issue.comment_count, 1);
});
