/**
 * Reader threads for long WAL walks (rebuild, snapshot): a piscina pool that reads WAL commit trees
 * and chunks and verifies them (src/workers/reader-worker.ts) while the main thread decodes what
 * they verified and applies it. On a 100k-event WAL reading and hashing are most of the work, and
 * they parallelize; below READER_MIN_COMMITS a pool's start-up costs more than it saves.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { decodeVerifiedChunk } from '../core/chunk.js';
import type { WalCommit, WalLink } from '../git/wal.js';
import { errorOfReply } from '../protocol/messages.js';
import type { ReaderResult, ReaderTask } from '../workers/reader-worker.js';

const WORKER_FILE = new URL('../workers/reader-worker.js', import.meta.url).href;
export const READER_MIN_COMMITS = 2048;
/** The same bound for a snapshot's events. */
export const READER_MIN_EVENTS = 5000;

/** A task's outcome, held without ever being an unhandled rejection (tasks finish out of order). */
type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

export class Readers {
  private readonly pool = new Piscina({ filename: WORKER_FILE, maxThreads: Math.max(1, availableParallelism()), idleTimeout: 1000 });

  private async run(task: ReaderTask): Promise<ReaderResult & { ok: true }> {
    const r: ReaderResult = await this.pool.run(task);
    if (!r.ok) throw errorOfReply(r.error);
    return r;
  }

  /**
   * Reads `segments` of a WAL chain (from `Wal.chain`), all queued at once, and yields each
   * segment's commits in order as soon as it is read: the caller applies one while the threads
   * read the next.
   */
  async *walSegments(gitDir: string, segments: WalLink[][]): AsyncGenerator<WalCommit[]> {
    const pending = segments.map((links) => settle(this.run({ op: 'wal', gitDir, links })));
    for (const p of pending) {
      const r = await p;
      if (!r.ok) throw r.error;
      yield r.value.chunks.map((c) => ({ oid: c.oid, actor: c.actor, chunkHash: c.chunkHash, events: decodeVerifiedChunk(c.bytes) }));
    }
  }

  /**
   * Verifies chunks (hash, format, event ids) in the threads, one task per chunk; rejects with the
   * error of the first bad chunk in their order.
   */
  async verifyChunks(chunks: readonly { bytes: Uint8Array; hash: string }[]): Promise<void> {
    const pending = chunks.map((c) => settle(this.run({ op: 'chunks', chunks: [c] })));
    for (const p of pending) {
      const r = await p;
      if (!r.ok) throw r.error;
    }
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
