import { spawnSync } from 'node:child_process';
import { readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeChunk } from '../../src/core/chunk.js';
import type { GritError } from '../../src/core/errors.js';
import { toHex } from '../../src/core/hex.js';
import { KeptWalReader } from '../../src/git/kept-wal-reader.js';
import { readWal, type ReadWalOptions } from '../../src/git/wal-read-ahead.js';
import { decodeWalChunk, statedEventCount, Wal, WAL_REF, type WalCommit } from '../../src/git/wal.js';
import { generateWal } from '../helpers/gen-events.js';
import { ACTOR_HEX, comment, forge, git, isGritError, tempRepo } from './_util.js';

const INLINE: ReadWalOptions = { readAheadFrom: Infinity };
const THREAD: ReadWalOptions = { readAheadFrom: 1 };

async function readAll(wal: Wal, from: string | null, head: string, opts: ReadWalOptions, size = 64): Promise<WalCommit[]> {
  const { chain, segments } = await readWal(wal, from, head, size, opts);
  const total = chain.length;
  const out: WalCommit[] = [];
  for await (const segment of segments) {
    assert.ok(segment.length > 0 && segment.length <= size);
    out.push(...segment.map(decodeWalChunk));
  }
  assert.equal(out.length, total);
  return out;
}

/**
 * Runs `body` (with `readWal` and a `wal` of `gitDir` in scope) in a node process of its own and
 * returns what it printed. The process must end by itself: a reader thread left running would
 * keep it alive.
 */
function inOwnProcess(dir: string, gitDir: string, body: string): string {
  const script = `
    const { readWal } = await import(${JSON.stringify(new URL('../../src/git/wal-read-ahead.js', import.meta.url).href)});
    const { Wal } = await import(${JSON.stringify(new URL('../../src/git/wal.js', import.meta.url).href)});
    const wal = new Wal(${JSON.stringify(gitDir)});
    ${body}
    wal.objects.close();`;
  const file = join(dir, 'own-process.mjs');
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.signal, null, `the process did not end by itself: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

/** What a reader hands on, comparable across threads: commit, actor, chunk and every event. */
const summary = (commits: WalCommit[]) =>
  commits.map((c) => ({ oid: c.oid, actor: c.actor, chunk: c.chunkHash, events: c.events.map((e) => ({ id: toHex(e.event_id), kind: e.kind, sig: e.sig && toHex(e.sig) })) }));
/** `summary` in commit id order: for reads whose segments come in any order. */
const byOid = (cs: WalCommit[]) => summary(cs).sort((a, b) => (a.oid < b.oid ? -1 : 1));

/** A repository whose WAL is `events` events, one a commit, in one pack; with the WAL read inline. */
async function walOfSingles(seed: number, events: number) {
  const { dir, gitDir } = tempRepo();
  await generateWal(gitDir, { seed, events, actors: [{ id: '11'.repeat(16) }], batchMax: 1, packed: true });
  const wal = new Wal(gitDir);
  const head = (await wal.head())!;
  return { dir, gitDir, wal, head, inline: await readAll(wal, null, head, INLINE) };
}

test('a reader thread hands on exactly what reading inline does, in order, from the start and from the middle', { timeout: 60_000 }, async () => {
  const { dir, gitDir } = tempRepo();
  await generateWal(gitDir, { seed: 3, events: 1500, actors: [{ id: '11'.repeat(16) }, { id: '22'.repeat(16), secretKey: '5e'.repeat(32) }], batchMax: 3, packed: true });
  git(dir, ['repack', '-a', '-d', '-q']); // deltas, as after gc or a clone
  const wal = new Wal(gitDir);
  const head = (await wal.head())!;
  const inline = await readAll(wal, null, head, INLINE);
  assert.ok(inline.length > 500, `${inline.length} commits`);
  assert.deepEqual(summary(await readAll(wal, null, head, THREAD)), summary(inline));
  const middle = inline[inline.length >> 1].oid;
  assert.deepEqual(summary(await readAll(wal, middle, head, THREAD, 100)), summary(inline.slice((inline.length >> 1) + 1)));
  wal.objects.close();
});

test('read newest first as the chain is walked, and shared with this thread, the commits are those read inline; stated counts decide', { timeout: 60_000 }, async () => {
  const { dir, gitDir } = tempRepo();
  const gen = await generateWal(gitDir, { seed: 4, events: 1200, actors: [{ id: '11'.repeat(16) }], batchMax: 3, packed: true });
  git(dir, ['repack', '-a', '-d', '-q']);
  const wal = new Wal(gitDir);
  const head = (await wal.head())!;
  const inline = await readAll(wal, null, head, INLINE);
  for (const upTo of [1200, Infinity]) {
    const { chain, inOrder, segments } = await readWal(wal, null, head, 16, { ...THREAD, newestFirstUpTo: upTo });
    const total = chain.length;
    assert.equal(inOrder, availableParallelism() < 2, 'newest first wherever there is a reader thread');
    const got: WalCommit[] = [];
    for await (const segment of segments) {
      // Each segment is a stretch of the chain, oldest first.
      for (let i = 1; i < segment.length; i++) assert.equal(inline.findIndex((c) => c.oid === segment[i].oid), inline.findIndex((c) => c.oid === segment[i - 1].oid) + 1);
      got.push(...segment.map(decodeWalChunk));
      // A slow consumer at first: the thread's answers are taken too, not only this thread's own reads.
      if (got.length === segment.length) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(got.length, total);
    assert.deepEqual(byOid(got), byOid(inline));
  }
  // Commits stating more events than allowed are read in order: the early reads are dropped.
  assert.equal(gen.commits, inline.length);
  const stretch = await readWal(wal, null, head, 16, { ...THREAD, newestFirstUpTo: 1199 });
  assert.equal(stretch.inOrder, true);
  const got: WalCommit[] = [];
  for await (const segment of stretch.segments) got.push(...segment.map(decodeWalChunk));
  assert.deepEqual(summary(got), summary(inline));
  wal.objects.close();
});

test('statedEventCount reads what writeWalCommit writes, and nothing else', () => {
  assert.equal(statedEventCount('grit: 1 event\n'), 1);
  assert.equal(statedEventCount('grit: 250 events\n'), 250);
  assert.equal(statedEventCount('grit: 3 events'), 3);
  for (const m of ['forged', 'grit: many events\n', 'grit: 3 events\nmore', '']) assert.equal(statedEventCount(m), null, m);
});

test('a bad commit read by the thread fails the walk with wal_error naming it; stopping early stops the thread', { timeout: 60_000 }, async () => {
  const { dir, gitDir } = tempRepo();
  const wal = new Wal(gitDir);
  let head = '';
  for (let i = 0; i < 300; i++) head = (await wal.append([comment(`c${i}`)], ACTOR_HEX)).commit;
  const chunk = encodeChunk([comment('forged')]);
  const flipped = chunk.bytes.slice();
  flipped[flipped.length - 1] ^= 1;
  const bad = forge(dir).walCommit(flipped, toHex(chunk.hash), head);
  git(dir, ['update-ref', WAL_REF, bad]);
  for (let i = 0; i < 300; i++) head = (await wal.append([comment(`d${i}`)], ACTOR_HEX)).commit;

  // A kept thread too (`KEPT`, warm): the error it meets comes back as its own, and it stays usable.
  const kept = new KeptWalReader(gitDir);
  kept.start(head);
  await new Promise((r) => setTimeout(r, 500));
  const KEPT: ReadWalOptions = { reader: kept, newestFirstUpTo: Infinity, newestFirstCommits: 16 };
  for (const opts of [INLINE, THREAD, { ...THREAD, newestFirstUpTo: Infinity }, KEPT, KEPT]) {
    await assert.rejects(readAll(wal, null, head, opts), (e: unknown) => {
      assert.ok(isGritError('wal_error')(e), String(e));
      assert.equal((e as GritError).details.commit, bad);
      assert.match((e as GritError).message, /chunk hash does not match/);
      return true;
    });
  }
  assert.ok(kept.running());
  assert.equal((await readAll(wal, bad, head, KEPT)).length, 300);
  kept.stop();
  // Stopping after the first segment stops the thread.
  const stopped = inOwnProcess(
    dir,
    gitDir,
    `const { segments } = await readWal(wal, null, ${JSON.stringify(head)}, 64, { readAheadFrom: 1 });
    for await (const segment of segments) { console.log(segment.length); break; }`,
  );
  assert.equal(stopped, '64');
  wal.objects.close();
});

test('a reader started on the caller\'s guess (expectLong) reads what inline does, and a chain that turns out short stops it unused', { timeout: 60_000 }, async () => {
  const { dir, gitDir } = tempRepo();
  await generateWal(gitDir, { seed: 5, events: 600, actors: [{ id: '11'.repeat(16) }], batchMax: 3, packed: true });
  const wal = new Wal(gitDir);
  const head = (await wal.head())!;
  const inline = await readAll(wal, null, head, INLINE);
  // Long enough for the thread: newest first, as without the guess.
  const long = await readWal(wal, null, head, 16, { ...THREAD, expectLong: true, newestFirstUpTo: Infinity });
  assert.equal(long.inOrder, availableParallelism() < 2);
  const got: WalCommit[] = [];
  for await (const segment of long.segments) got.push(...segment.map(decodeWalChunk));
  assert.deepEqual(byOid(got), byOid(inline));
  wal.objects.close();
  // Too short for the thread: read inline, in order, and the thread started on the guess is stopped.
  const short = inOwnProcess(
    dir,
    gitDir,
    `const { inOrder, segments } = await readWal(wal, null, ${JSON.stringify(head)}, 64, { readAheadFrom: 1e9, expectLong: true, newestFirstUpTo: Infinity });
    let n = 0;
    for await (const segment of segments) n += segment.length;
    console.log(inOrder, n);`,
  );
  assert.equal(short, `true ${inline.length}`);
});

/** Which segments of a shared read came from the reader thread: its answers are views into shared memory. */
const fromThread = (segment: { bytes: Uint8Array }[]) => segment[0].bytes.buffer instanceof SharedArrayBuffer;

test('a kept reader thread, started by a read of 128 commits or more, shares the next such reads with this thread, each segment read by one of them; shorter ones, or once stopped, are read here', { timeout: 60_000, skip: availableParallelism() < 2 && 'one core: no reader thread' }, async () => {
  const { gitDir, wal, head, inline } = await walOfSingles(6, 700);
  const kept = new KeptWalReader(gitDir);
  // A short read starts no thread; a long one starts one for the reads after it.
  await readAll(wal, inline[inline.length - 100].oid, head, { reader: kept, newestFirstUpTo: Infinity });
  assert.equal(kept.running(), null);
  await readAll(wal, null, head, { reader: kept, newestFirstUpTo: Infinity }, 256);
  const reader = kept.running()!;
  assert.ok(reader, 'started by a read of 128 commits or more');
  const counted = { asked: 0, answered: 0, taken: 0 };
  const read = reader.read.bind(reader);
  reader.read = ((links, claim) => {
    counted.asked++;
    const answer = read(links, claim!);
    void answer.then((r) => (r.ok === 'taken' ? counted.taken++ : counted.answered++), () => undefined);
    return answer;
  }) as typeof reader.read;
  await new Promise((r) => setTimeout(r, 500)); // its start-up and warm-up over, as a daemon worker's is
  const shared = { reader: kept, newestFirstUpTo: Infinity, newestFirstCommits: 16 };
  let threadSegments = 0;
  try {
    // Two reads, or more while the thread has read nothing yet (a loaded host may not run it at once).
    for (let round = 1; round <= 2 || (threadSegments === 0 && round <= 8); round++) {
      const { inOrder, segments } = await readWal(wal, null, head, 256, shared);
      assert.equal(inOrder, false, `read ${round}: newest first, both threads`);
      const got: WalCommit[] = [];
      let thread = 0;
      for await (const segment of segments) {
        assert.ok(segment.length > 0 && segment.length <= 16);
        if (fromThread(segment)) thread++;
        got.push(...segment.map(decodeWalChunk));
      }
      assert.deepEqual(byOid(got), byOid(inline), `read ${round}`);
      // Every segment was asked of the thread, and read once: by it (what came from it), or here (taken).
      threadSegments += thread;
      while (counted.answered + counted.taken < counted.asked) await new Promise((r) => setTimeout(r, 10));
      assert.equal(counted.asked, Math.ceil(inline.length / 16) * round);
      assert.equal(counted.answered, threadSegments);
    }
    assert.ok(threadSegments > 0, 'the thread read some of it');
    assert.equal(kept.running(), reader, 'a read does not stop a kept thread, nor start another');
    // A short stretch is read here, in order, without asking the thread.
    const before = counted.asked;
    const short = await readWal(wal, inline[inline.length - 100].oid, head, 256, shared);
    assert.equal(short.inOrder, true);
    let n = 0;
    for await (const segment of short.segments) n += segment.length;
    assert.equal(n, 99);
    assert.equal(counted.asked, before);
    // Stopped, it is not used: the read is this thread's own, in order.
    reader.stop();
    assert.equal(kept.running(), null);
    assert.deepEqual(summary(await readAll(wal, null, head, { ...shared, readAheadFrom: Infinity }, 256)), summary(inline));
    assert.equal(counted.asked, before);
  } finally {
    kept.stop();
    wal.objects.close();
  }
  // Without a long read for its idle time, the thread is stopped.
  const brief = new KeptWalReader(gitDir, 100);
  brief.start(head);
  assert.ok(brief.running());
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(brief.running(), null);
});

test('a kept reader thread stopped in the middle of a shared read leaves the rest to this thread; one left running does not keep a process alive', { timeout: 60_000, skip: availableParallelism() < 2 && 'one core: no reader thread' }, async () => {
  const { dir, gitDir, wal, head, inline } = await walOfSingles(7, 600);
  const kept = new KeptWalReader(gitDir);
  kept.start(head);
  await new Promise((r) => setTimeout(r, 500));
  const { segments } = await readWal(wal, null, head, 256, { reader: kept, newestFirstUpTo: Infinity, newestFirstCommits: 8 });
  const got: WalCommit[] = [];
  for await (const segment of segments) {
    if (got.length === 0) kept.stop(); // its answers not yet taken are read here
    got.push(...segment.map(decodeWalChunk));
  }
  assert.deepEqual(byOid(got), byOid(inline));
  wal.objects.close();
  // Idle for a second, a running thread holds no pack file open (a pack a gc deleted keeps its space while one does).
  const idle = new KeptWalReader(gitDir);
  idle.start(head);
  const packFds = () => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(join(gitDir, 'objects', 'pack'));
    } catch {
      return false; // the directory's own fd, gone by now
    }
  }).length;
  const until = async (done: () => boolean, what: string) => {
    for (let waited = 0; !done(); waited += 20) {
      assert.ok(waited < 15_000, what);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until(() => packFds() > 0, 'its warm-up reads the pack');
  await until(() => packFds() === 0, 'idle, it closes the pack');
  assert.ok(idle.running(), 'and goes on running');
  idle.stop();
  // A process that read through a kept thread and never stopped it ends by itself.
  const out = inOwnProcess(
    dir,
    gitDir,
    `const { KeptWalReader } = await import(${JSON.stringify(new URL('../../src/git/kept-wal-reader.js', import.meta.url).href)});
    const reader = new KeptWalReader(${JSON.stringify(gitDir)});
    reader.start(${JSON.stringify(head)});
    const { inOrder, segments } = await readWal(wal, null, ${JSON.stringify(head)}, 256, { reader, newestFirstUpTo: Infinity, newestFirstCommits: 16 });
    let n = 0;
    for await (const segment of segments) n += segment.length;
    console.log(inOrder, n, reader.running() !== null);`,
  );
  assert.equal(out, `false ${inline.length} true`);
});
