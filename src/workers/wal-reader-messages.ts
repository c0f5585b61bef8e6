/**
 * What the main thread and a WAL reader thread (src/workers/wal-reader.ts) say to each other. A
 * segment's commits go as one string, each commit's id and root tree, and come back as one string
 * too, with the actor and chunk hash meta.json gave each: an object per commit each way cost both
 * threads several times as much to copy through the port (docs/performance.md, "Fewer fresh
 * pages"). The chunks' bytes come back in one buffer of shared memory (`joinChunks`).
 */
import type { MessagePort } from 'node:worker_threads';
import type { GritError } from '../core/errors.js';
import type { WalChunk, WalLink } from '../git/wal.js';

export interface ReaderSetup {
  gitDir: string;
  /** An object read first (the WAL head, the snapshot): that loads its pack's index meanwhile. */
  warmUp: string;
  /** WAL commits from `warmUp` down whose chunks are read before the first task (a kept thread's warm-up: wal-reader.ts). */
  warmCommits?: number;
  /** Where answers go, if not to the parent (which reads them off this port without waiting). */
  answers?: MessagePort;
  /** One Int32, set to 1 when no more answers are wanted (`stopReader` in src/git/wal-read-ahead.ts). */
  stop: SharedArrayBuffer;
}

/** A snapshot chunk to read: its blob and the hash snapshot.json gives it. */
export interface SnapshotChunkRef {
  oid: string;
  chunkHash: string;
}

/**
 * A segment of a stretch that both threads read at once (`ReadWalOptions.newestFirstUpTo`): one
 * Int32 per segment in `flags`, 0 until a thread takes the segment with a compare-and-swap
 * (`take`), so that neither reads a segment the other took.
 */
export interface Claim {
  flags: SharedArrayBuffer;
  index: number;
}

/** Takes the segment of `claim` for this thread: false when the other thread (or a cancel) took it first. */
export const take = (claim: Claim): boolean => Atomics.compareExchange(new Int32Array(claim.flags), claim.index, 0, 1) === 0;

/** A WAL segment (`linksTask`), maybe one of a stretch both threads read (`claim`), or snapshot chunks to read. */
export type ReadTask = { links: string; claim?: Claim } | { snapshotChunks: SnapshotChunkRef[] };

export interface ReadChunks {
  /** Per chunk, in the order asked: it is `bytes` from the previous chunk's end (0 for the first) to its own. */
  ends: number[];
  /** For a WAL segment, the commit each chunk is from (`commitsText`); empty for a snapshot. */
  commits: string;
  bytes: SharedArrayBuffer;
}

export type ReadResult = { ok: true; chunks: ReadChunks } | { ok: false; error: ReturnType<GritError['toJSON']> };
/** The answer to a task whose segment the other thread took first (`Claim`): not read. */
export type Taken = { ok: 'taken' };

/** Hex digits per commit in a task: its id (40) and root tree (40). */
const LINK_CHARS = 80;
/** Hex digits per commit in an answer: its id (40), and meta.json's actor_id (32) and chunk_hash (64), checked by the reader. */
const COMMIT_CHARS = 136;

export const linksTask = (links: readonly WalLink[], claim?: Claim): ReadTask => {
  const task: ReadTask = { links: links.map((l) => l.oid + l.tree).join('') };
  return claim ? { ...task, claim } : task;
};

/** The commits of a `linksTask`, as much of each as reading its chunk needs. */
export function linksOf(links: string): WalLink[] {
  const out: WalLink[] = [];
  for (let at = 0; at < links.length; at += LINK_CHARS) {
    out.push({ oid: links.slice(at, at + 40), tree: links.slice(at + 40, at + LINK_CHARS), parent: null, statedEvents: null });
  }
  return out;
}

export const commitsText = (chunks: readonly WalChunk[]): string => chunks.map((c) => c.oid + c.actor + c.chunkHash).join('');

/** The chunks of a reader thread's answer to a `linksTask`, as views into its one buffer. */
export function chunksOf({ commits, ends, bytes }: ReadChunks): WalChunk[] {
  return ends.map((end, i) => {
    const start = i === 0 ? 0 : ends[i - 1];
    const at = i * COMMIT_CHARS;
    return {
      oid: commits.slice(at, at + 40),
      actor: commits.slice(at + 40, at + 72),
      chunkHash: commits.slice(at + 72, at + COMMIT_CHARS),
      bytes: new Uint8Array(bytes, start, end - start),
    };
  });
}

/**
 * `chunks` copied into one buffer of shared memory, one after the other: a reader thread's answer
 * (shared, it is not copied again on its way), and what a fill's helper thread reads the records
 * in (src/core/fill-folds.ts).
 */
export function joinChunks(chunks: readonly Uint8Array[], commits: ReadChunks['commits']): ReadChunks {
  const bytes = new Uint8Array(new SharedArrayBuffer(chunks.reduce((n, c) => n + c.length, 0)));
  const ends: number[] = [];
  let end = 0;
  for (const c of chunks) {
    bytes.set(c, end);
    ends.push((end += c.length));
  }
  return { ends, commits, bytes: bytes.buffer as SharedArrayBuffer };
}

/** The chunks of a segment read on this thread, their bytes moved into shared memory as a reader thread's are. */
export function inSharedMemory(chunks: readonly WalChunk[]): WalChunk[] {
  const { bytes, ends } = joinChunks(chunks.map((c) => c.bytes), '');
  return chunks.map((c, i) => ({ ...c, bytes: new Uint8Array(bytes, i === 0 ? 0 : ends[i - 1], c.bytes.length) }));
}
