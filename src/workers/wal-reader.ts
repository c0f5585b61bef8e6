/**
 * The reader thread of a long WAL replay (src/git/wal-read-ahead.ts): reads segments of WAL
 * commits down to their chunks and checks everything but the events (layout, meta.json, object
 * and chunk hashes), while the main thread decodes and applies the segment before. Each segment's
 * chunks go back in one transferred buffer: no copy per commit, nothing decoded twice. Segments are
 * answered in the order they were asked for (one port, one at a time).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toGritError } from '../core/errors.js';
import { loadFastHash } from '../core/hash.js';
import { Wal, type WalLink } from '../git/wal.js';

export interface ReaderSetup {
  gitDir: string;
  /** The WAL head being walked: read first, which loads its pack's index while the walk goes on. */
  head: string;
}

export interface ReadTask {
  links: WalLink[];
}

export interface ReadChunks {
  /** Per commit, its chunk is `bytes` from the previous commit's `end` (0 for the first) to its own. */
  commits: { oid: string; actor: string; chunkHash: string; end: number }[];
  bytes: ArrayBuffer;
}

export type ReadResult = { ok: true; chunks: ReadChunks } | { ok: false; error: ReturnType<ReturnType<typeof toGritError>['toJSON']> };

const setup = workerData as ReaderSetup;
/** Its pack indexes stay loaded from one segment to the next. */
const wal = new Wal(setup.gitDir);

function readSegment(task: ReadTask): ReadResult {
  try {
    const read = task.links.map((link) => wal.readChunk(link));
    const bytes = new Uint8Array(read.reduce((n, c) => n + c.bytes.length, 0));
    const commits: ReadChunks['commits'] = [];
    let end = 0;
    for (const c of read) {
      bytes.set(c.bytes, end);
      end += c.bytes.length;
      commits.push({ oid: c.oid, actor: c.actor, chunkHash: c.chunkHash, end });
    }
    return { ok: true, chunks: { commits, bytes: bytes.buffer } };
  } catch (err) {
    return { ok: false, error: toGritError(err).toJSON() };
  }
}

await loadFastHash(); // the chunk hashes
try {
  wal.objects.readCommit(setup.head);
} catch {
  /* the main thread's walk reports it */
}
parentPort!.on('message', (task: ReadTask) => {
  const result = readSegment(task);
  // The buffer moves to the main thread instead of being copied.
  parentPort!.postMessage(result, result.ok ? [result.chunks.bytes] : []);
});
