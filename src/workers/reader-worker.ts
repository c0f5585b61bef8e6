/**
 * The body of a rebuild's reader threads (src/commands/readers.ts): reads WAL commit trees and
 * chunks and verifies them (layout, chunk hashes, event ids), or verifies snapshot chunks, so that
 * the main thread is left with decoding and applying. Errors come back as data: a GritError does
 * not survive the trip between threads.
 */
import { decodeChunk } from '../core/chunk.js';
import { GritError } from '../core/errors.js';
import { fromHex } from '../core/hex.js';
import { Wal, type WalChunk, type WalLink } from '../git/wal.js';
import type { IpcErrorBody } from '../protocol/messages.js';

export type ReaderTask =
  | { op: 'wal'; gitDir: string; links: WalLink[] }
  | { op: 'chunks'; chunks: { bytes: Uint8Array; hash: string }[] };

export type ReaderResult = { ok: true; chunks: WalChunk[] } | { ok: false; error: IpcErrorBody };

/** One object store per repository for the life of the thread: pack indexes load once. */
const wals = new Map<string, Wal>();

export default function read(task: ReaderTask): ReaderResult {
  try {
    if (task.op === 'chunks') {
      for (const c of task.chunks) decodeChunk(c.bytes, fromHex(c.hash, 32)!);
      return { ok: true, chunks: [] };
    }
    let wal = wals.get(task.gitDir);
    if (!wal) wals.set(task.gitDir, (wal = new Wal(task.gitDir)));
    return { ok: true, chunks: wal.readVerifiedChunks(task.links) };
  } catch (err) {
    const e = err instanceof GritError ? err : new GritError('internal_error', (err as Error).message);
    return { ok: false, error: e.toJSON() };
  }
}
