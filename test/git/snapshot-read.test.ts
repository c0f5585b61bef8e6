import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeChunk, decodeVerifiedChunk } from '../../src/core/chunk.js';
import type { GritError } from '../../src/core/errors.js';
import { compareEvents, type Event } from '../../src/core/event.js';
import { fromHex, toHex } from '../../src/core/hex.js';
import { ObjectStore } from '../../src/git/objects.js';
import { readSnapshotInto, readSnapshotMeta, writeSnapshotObjects } from '../../src/git/snapshot.js';
import { readSnapshotChunks } from '../../src/git/wal-read-ahead.js';
import { Wal } from '../../src/git/wal.js';
import { generateWal } from '../helpers/gen-events.js';
import { ACTOR_HEX, isGritError, tempRepo } from './_util.js';
import { writeObjects } from '../helpers/objects.js';

const twoCores = availableParallelism() > 1;

/**
 * One generated WAL for the whole file (12,000 events, the most a test reads): generating it is
 * most of a test's set-up, and every test reads a snapshot, not the WAL it came from.
 */
let shared: Promise<{ gitDir: string; head: string; sorted: Event[] }> | undefined;
function sharedWal() {
  shared ??= (async () => {
    const { gitDir } = tempRepo();
    await generateWal(gitDir, { seed: 5, events: 12_000, actors: [{ id: '11'.repeat(16) }, { id: '22'.repeat(16), secretKey: '5e'.repeat(32) }], packed: true });
    const wal = new Wal(gitDir);
    const sorted = (await wal.readSince(null)).flatMap((c) => c.events).sort(compareEvents);
    const head = (await wal.head())!;
    wal.objects.close();
    return { gitDir, head, sorted };
  })();
  return shared;
}

/**
 * A snapshot of the first `events` events of the shared WAL (1,000 per chunk), written for this
 * test in the shared repository; `tamper` may change them first.
 */
async function snapshotRepo(events: number, tamper?: (sorted: Event[]) => void) {
  const { gitDir, head, sorted } = await sharedWal();
  const all = sorted.slice(0, events);
  tamper?.(all);
  const objects = new ObjectStore(gitDir);
  const { commit } = writeObjects(gitDir, (sink) => writeSnapshotObjects(sink, [], all, head, 1, ACTOR_HEX));
  return { gitDir, objects, commit, all };
}

/** The chunk refs of a snapshot, as readSnapshotInto hands them to the reader thread. */
function chunkRefs(objects: ObjectStore, commit: string) {
  const meta = readSnapshotMeta(objects, commit);
  const events = objects.readTree(objects.readTree(objects.readCommit(commit).tree).find((e) => e.name === 'events')!.oid);
  return meta.chunks.map((c) => ({ oid: events.find((f) => `events/${f.name}` === c.path)!.oid, chunkHash: c.chunk_hash }));
}

/**
 * Reads chunk i here, slowly, so that the reader thread (~130 ms to start on a quiet host) gets to
 * answer some: the first chunk waits long enough for it to start on a loaded one too (at load ~20
 * twelve chunks of 40 ms each went by before it answered).
 */
function slowInline(objects: ObjectStore, refs: ReturnType<typeof chunkRefs>, made: number[]) {
  return (i: number) => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, made.length === 0 ? 600 : 40);
    made.push(i);
    return readChunk(objects, refs, i);
  };
}

function readChunk(objects: ObjectStore, refs: ReturnType<typeof chunkRefs>, i: number) {
  const blob = objects.readBlob(refs[i].oid);
  return decodeChunk(new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength), fromHex(refs[i].chunkHash, 32)!);
}

const ids = (events: Event[]) => events.map((e) => toHex(e.event_id));

/** A snapshot's events, read with `readSnapshotInto`. */
function readSnapshot(objects: ObjectStore, commit: string, opts: { threadFrom: number }): { events: Event[] } {
  const events: Event[] = [];
  readSnapshotInto(objects, commit, { take: (part) => events.push(...part) }, opts);
  return { events };
}

/** `readSnapshotChunks` with a slow `inline`, the thread told `told` (default: the true refs); which chunks each made. */
function readShared(objects: ObjectStore, commit: string, refs: ReturnType<typeof chunkRefs>, told = refs) {
  const inlineMade: number[] = [];
  const threadMade: number[] = [];
  const verified = (i: number, bytes: Uint8Array) => {
    threadMade.push(i);
    return decodeVerifiedChunk(bytes);
  };
  const parts = [...readSnapshotChunks(objects.gitDir, commit, told, slowInline(objects, refs, inlineMade), verified, { threadFrom: 2 })];
  return { parts, inlineMade, threadMade };
}

test('a snapshot read with a reader thread gives what reading it here alone gives', { timeout: 60_000 }, async () => {
  const { objects, commit, all } = await snapshotRepo(3500);
  const alone = readSnapshot(objects, commit, { threadFrom: Infinity });
  const shared = readSnapshot(objects, commit, { threadFrom: 2 });
  assert.equal(alone.events.length, 3500);
  assert.deepEqual(ids(alone.events), ids(all));
  assert.deepEqual(shared.events, alone.events);
  objects.close();
});

test('the two threads meet: each chunk is made once, in order, the thread having checked the last ones', { timeout: 60_000 }, async () => {
  const { objects, commit } = await snapshotRepo(12_000);
  const refs = chunkRefs(objects, commit);
  const { parts, inlineMade, threadMade } = readShared(objects, commit, refs);
  assert.equal(parts.length, refs.length);
  assert.deepEqual([...inlineMade, ...threadMade].sort((a, b) => a - b), refs.map((_, i) => i));
  assert.deepEqual(inlineMade, inlineMade.map((_, i) => i), 'this thread goes up from the first chunk');
  assert.deepEqual(threadMade, threadMade.map((_, i) => refs.length - threadMade.length + i), 'the reader checked the last chunks');
  if (twoCores) assert.ok(threadMade.length > 0, 'the reader thread answered none');
  for (const [i, part] of parts.entries()) assert.deepEqual(ids(part), ids(readChunk(objects, refs, i)));
  objects.close();
});

for (const where of ['last', 'first'] as const) {
  test(`a bad event in the ${where} chunk fails the read with the same error with or without the reader thread`, { timeout: 60_000 }, async () => {
    const { objects, commit } = await snapshotRepo(5000, (sorted) => {
      const at = where === 'last' ? sorted.length - 1 : 0; // the forgery keeps its place in event order
      sorted[at] = { ...sorted[at], kind: { type: 'CommentAdded', body: 'forged' } };
    });
    const messages = [Infinity, 2].map((threadFrom) => {
      try {
        readSnapshot(objects, commit, { threadFrom });
      } catch (err) {
        assert.ok(isGritError('wal_error')(err), String(err));
        assert.equal((err as GritError).details.snapshot, commit);
        return (err as GritError).message;
      }
      return assert.fail('the bad snapshot was read');
    });
    assert.match(messages[0], /does not match its content/);
    assert.equal(messages[1], messages[0]);
    objects.close();
  });
}

test('what the reader thread finds wrong is read again here: its findings never decide', { timeout: 60_000 }, async () => {
  const { objects, commit } = await snapshotRepo(6000);
  const refs = chunkRefs(objects, commit);
  // The thread is told a wrong hash for the last chunk (the first it reads); this thread reads with the right one.
  const told = refs.map((r, i) => (i === refs.length - 1 ? { ...r, chunkHash: '00'.repeat(32) } : r));
  const { parts, inlineMade, threadMade } = readShared(objects, commit, refs, told);
  assert.deepEqual(threadMade, [], 'nothing the thread read after its error was taken');
  assert.deepEqual(inlineMade, refs.map((_, i) => i));
  assert.equal(parts.flat().length, 6000);
  objects.close();
});

test('reader threads are told to stop, not terminated, and none is left: after snapshot reads and a long WAL replay the thread count is back', { timeout: 60_000, skip: availableParallelism() < 2 ? 'one core: no reader thread' : false }, async () => {
  const { readdirSync } = await import('node:fs');
  const { readWal } = await import('../../src/git/wal-read-ahead.js');
  const threads = () => readdirSync('/proc/self/task').length;
  const { objects, commit, gitDir } = await snapshotRepo(6000);
  const before = threads();
  for (let i = 0; i < 3; i++) readSnapshot(objects, commit, { threadFrom: 2 });
  const wal = new Wal(gitDir);
  const stretch = await readWal(wal, null, (await wal.head())!, 64, { readAheadFrom: 1, expectLong: true });
  for await (const segment of stretch.segments) assert.ok(segment.length > 0);
  // A told thread ends after the task it is on; its isolate takes a moment to go.
  for (let waited = 0; threads() > before && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  assert.equal(threads(), before);
  objects.close();
});
