/**
 * The reader thread of a long WAL replay or snapshot read (src/git/wal-read-ahead.ts), while the
 * main thread decodes and applies what it read before:
 * - a segment of WAL commits is read down to its chunks, and everything but the events is checked
 *   (layout, meta.json, object and chunk hashes);
 * - a snapshot's chunks are read and checked but for the events' shapes: chunk hashes and event
 *   ids (`verifyChunk`), the larger part of reading a snapshot.
 * The chunks of a task go back in one buffer of shared memory: no copy per chunk, and a fill's
 * helper thread reads them there too (src/core/fill-folds.ts). Tasks are answered
 * in the order they were asked for (one port, one at a time).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { verifyChunk } from '../core/chunk.js';
import { toGritError } from '../core/errors.js';
import { loadFastHash } from '../core/hash.js';
import { fromHex } from '../core/hex.js';
import { Wal } from '../git/wal.js';
import { commitsText, joinChunks, linksOf, take, type ReaderSetup, type ReadResult, type ReadTask, type Taken } from './wal-reader-messages.js';

const setup = workerData as ReaderSetup;
/** Its pack indexes stay loaded from one segment to the next. */
const wal = new Wal(setup.gitDir);

function read(task: ReadTask): ReadResult | Taken {
  try {
    if ('links' in task) {
      if (task.claim && !take(task.claim)) return { ok: 'taken' };
      const read = linksOf(task.links).map((link) => wal.readChunk(link));
      return { ok: true, chunks: joinChunks(read.map((c) => c.bytes), commitsText(read)) };
    }
    const chunks = task.snapshotChunks.map(({ oid, chunkHash }) => {
      const blob = wal.objects.readBlob(oid);
      verifyChunk(blob, fromHex(chunkHash, 32)!); // snapshot.json's hashes are checked hex
      return blob;
    });
    return { ok: true, chunks: joinChunks(chunks, '') };
  } catch (err) {
    return { ok: false, error: toGritError(err).toJSON() };
  }
}

/**
 * Reads the chunks of the newest `commits` WAL commits, and drops them: a kept thread's first
 * pull then finds its code compiled and the pack indexes loaded (the first shared read of 1,000
 * commits: 65-82 ms with this, 84-93 ms without). Stops at the first commit it cannot read.
 */
function warmUp(commits: number): void {
  try {
    for (let oid: string | null = setup.warmUp, n = 0; oid !== null && n < commits; n++) {
      const commit = wal.objects.readCommit(oid);
      wal.readChunk({ oid, tree: commit.tree, parent: null, statedEvents: null });
      oid = commit.parents[0] ?? null;
    }
  } catch {
    /* a pull's own reads report it */
  }
}

// The pack index loads (the warm-up read) while BLAKE2b's WebAssembly compiles. No top-level
// await: the thread runs as a CommonJS bundle (scripts/bundle.js); tasks posted meanwhile wait in
// the port until it listens.
const hashing = loadFastHash(); // the chunk hashes and event ids
try {
  wal.objects.read(setup.warmUp);
} catch {
  /* the main thread's own reads report it */
}
/**
 * A thread kept between reads (a daemon worker's) lets go of its pack files once idle this long:
 * held open, a pack that a `git gc` deleted would keep its disk space until the thread stops.
 */
const IDLE_CLOSE_MS = 1000;
let idle: NodeJS.Timeout | null = null;
function closeWhenIdle(): void {
  if (idle) clearTimeout(idle);
  idle = setTimeout(() => wal.objects.close(), IDLE_CLOSE_MS);
  idle.unref();
}

const stopped = new Int32Array(setup.stop);
void hashing.then(() => {
  warmUp(setup.warmCommits ?? 0);
  closeWhenIdle();
  const answers = setup.answers ?? parentPort!;
  parentPort!.on('message', (task: ReadTask) => {
    // Told to stop: the tasks still queued are dropped, and with its port closed the thread ends.
    if (Atomics.load(stopped, 0) === 1) return parentPort!.close();
    answers.postMessage(read(task));
    closeWhenIdle();
  });
});
