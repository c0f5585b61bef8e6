/**
 * Reading a long stretch of the WAL (rebuild, snapshot, db check): with a core to spare, a reader
 * thread (src/workers/wal-reader.ts) reads and checks the git objects of the next segments while
 * this thread decodes and applies the current one. The thread is started once the walk of the
 * commit chain has shown the stretch to be long, so that its start-up overlaps the rest of that
 * walk; short stretches, and machines with one core, are read inline. See docs/performance.md
 * (Rebuild).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { GritError } from '../core/errors.js';
import { loadFastHash } from '../core/hash.js';
import type { ReadChunks, ReadResult, ReadTask, ReaderSetup } from '../workers/wal-reader.js';
import { decodeWalChunk, type Wal, type WalCommit, type WalLink } from './wal.js';

const READER_URL = new URL('../workers/wal-reader.js', import.meta.url);
/** Below this many commits a reader thread costs more to start than it saves (docs/performance.md). */
const READ_AHEAD_FROM_COMMITS = 8192;
/**
 * How far the reader may run ahead. A replay applies tens of thousands of events in one store
 * transaction, seconds in which this thread reads nothing: the reader should fill that time, so
 * it may hold many segments, but never more than this many chunk bytes not yet decoded.
 */
const AHEAD_SEGMENTS = 128;
const AHEAD_BYTES = 64 << 20;

export interface WalStretch {
  /** Commits in the stretch. */
  total: number;
  /** Its commits, read, checked and decoded, a segment at a time, oldest first. */
  segments: AsyncGenerator<WalCommit[]>;
}

export interface ReadWalOptions {
  /** A chain this long gets a reader thread (default 8,192; tests lower it). */
  readAheadFrom?: number;
}

/** The commits after `fromExclusive` up to `head` (see `Wal.chain`), to be read `size` at a time. */
export async function readWal(wal: Wal, fromExclusive: string | null, head: string, size: number, opts: ReadWalOptions = {}): Promise<WalStretch> {
  const from = availableParallelism() > 1 ? (opts.readAheadFrom ?? READ_AHEAD_FROM_COMMITS) : Infinity;
  let reader: ReaderThread | null = null;
  const start = () => (reader ??= new ReaderThread({ gitDir: wal.gitDir, head }));
  try {
    const chain = await wal.chain(fromExclusive, head, (walked) => {
      if (walked >= from) start();
    });
    if (chain.length >= from) start();
    const r = reader as ReaderThread | null;
    return { total: chain.length, segments: r ? r.segments(chain, size) : inline(wal, chain, size) };
  } catch (err) {
    await (reader as ReaderThread | null)?.close();
    throw err;
  }
}

async function* inline(wal: Wal, chain: readonly WalLink[], size: number): AsyncGenerator<WalCommit[]> {
  for (let i = 0; i < chain.length; i += size) yield await wal.readCommits(chain.slice(i, i + size));
}

class ReaderThread {
  private readonly worker: Worker;
  /** One per segment asked for, in order: the thread answers in the order it was asked. */
  private readonly answers: { resolve: (r: ReadResult) => void; reject: (e: unknown) => void }[] = [];

  constructor(setup: ReaderSetup) {
    this.worker = new Worker(READER_URL, { workerData: setup });
    this.worker.on('message', (r: ReadResult) => this.answers.shift()?.resolve(r));
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', (code) => this.failAll(new GritError('internal_error', `the WAL reader thread stopped (exit code ${code})`)));
  }

  private failAll(err: unknown): void {
    for (const a of this.answers.splice(0)) a.reject(err);
  }

  private read(links: WalLink[]): Promise<ReadResult> {
    const answer = new Promise<ReadResult>((resolve, reject) => this.answers.push({ resolve, reject }));
    this.worker.postMessage({ links } satisfies ReadTask);
    return answer;
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }

  async *segments(chain: readonly WalLink[], size: number): AsyncGenerator<WalCommit[]> {
    const pending: Promise<ReadResult>[] = [];
    let next = 0;
    let ahead = 0; // chunk bytes read and not yet decoded
    const readAhead = () => {
      while (next < chain.length && pending.length < AHEAD_SEGMENTS && ahead < AHEAD_BYTES) {
        const answer = this.read(chain.slice(next, next + size)).then((r) => {
          if (r.ok) ahead += r.chunks.bytes.byteLength;
          return r;
        });
        answer.catch(() => undefined); // awaited in order below; abandoned when an earlier one fails
        pending.push(answer);
        next += size;
      }
    };
    try {
      await loadFastHash(); // for the event ids this thread checks
      readAhead();
      while (pending.length > 0) {
        const result = await pending.shift()!;
        if (!result.ok) throw GritError.fromJSON(result.error);
        ahead -= result.chunks.bytes.byteLength;
        readAhead();
        yield decodeChunks(result.chunks);
      }
    } finally {
      await this.close();
    }
  }
}

function decodeChunks({ commits, bytes }: ReadChunks): WalCommit[] {
  let start = 0;
  return commits.map(({ oid, actor, chunkHash, end }) => {
    const chunk = new Uint8Array(bytes, start, end - start);
    start = end;
    return decodeWalChunk({ oid, actor, chunkHash, bytes: chunk });
  });
}
