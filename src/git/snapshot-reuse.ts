/**
 * A new snapshot built on an older one (the base) takes the base's leading chunks as they are:
 * their blobs by id, their entries in snapshot.json, nothing decoded, encoded, hashed or deflated
 * again (docs/performance.md, "Snapshots that cost what is new"). Chunks hold SNAPSHOT_CHUNK_EVENTS
 * records in record order (`compareRecords`), so a record that sorts after every record of a full
 * chunk leaves that chunk, and all before it, where a snapshot written from scratch would put
 * them. Events normally come with later times than those a snapshot holds; one that sorts earlier
 * (a teammate's older events, pulled) makes the chunks from where it lands on be written again.
 */
import { extraCopies, type Event } from '../core/event.js';
import { bytesEqual } from '../core/hex.js';
import type { ObjectStore } from './objects.js';
import { compareRecords, presentChunkFiles, readSnapshotChunk, SNAPSHOT_CHUNK_EVENTS, SnapshotCopies, type ChunkFile, type HeldRecords, type SnapshotMeta } from './snapshot.js';

/** A base snapshot, its chunks not read yet. */
export interface SnapshotBase {
  oid: string;
  meta: SnapshotMeta;
  files: ChunkFile[];
  /**
   * How many of its records are further copies of an event, as recorded when this clone made it
   * (snapshot-trust.ts); null when unknown, and then nothing is reused: the count of the new
   * snapshot needs it.
   */
  copies: number | null;
}

/** What a new snapshot takes from its base as it is, and the records it writes after them. */
export interface SnapshotPlan {
  reused: ChunkFile[];
  /** Held undecoded when written from the whole WAL (`HeldRecords`). */
  events: Event[] | HeldRecords;
  /** Of all its records, the further copies of an event. */
  copies: number;
  /**
   * The base's chunk blobs: a chunk written again with the same bytes (all of them, when nothing
   * is reused) names the base's blob, which the base's ref keeps, instead of adding a copy.
   */
  baseBlobs: ReadonlySet<string>;
}

/**
 * The base's chunk files, checked to be there (an object `git gc` lost would otherwise be found
 * missing only by a rebuild from the new snapshot). Throws `wal_error` like a read of the base would.
 */
export function openBase(objects: ObjectStore, oid: string, meta: SnapshotMeta, copies: number | null): SnapshotBase {
  return { oid, meta, files: presentChunkFiles(objects, oid, meta), copies };
}

/**
 * Plans a snapshot of the base's records and `fresh` (the WAL after the base's wal_head): the
 * base's chunks are decoded from the last one back only until one ends before the first fresh
 * record; it and all before it are reused. Throws `wal_error` for a damaged chunk it decodes.
 */
export function planSnapshot(objects: ObjectStore, base: SnapshotBase, fresh: SnapshotCopies): SnapshotPlan {
  const { files } = base;
  let first: Event | null = null;
  for (const e of fresh.byKey.values()) if (first === null || compareRecords(e, first) < 0) first = e;
  const read = (i: number): Event[] => readSnapshotChunk(objects, base.oid, base.meta, i, files[i].oid);
  const full = base.copies === null ? 0 : leadingFullChunks(files);
  const after = new SnapshotCopies(); // the base's records past the reused chunks
  for (let i = files.length - 1; i >= full; i--) after.take(read(i));
  let keep = full;
  let edge: Event[] = []; // the last reused chunk, decoded to tell where fresh records land
  while (keep > 0) {
    const part = read(keep - 1);
    if (endsBefore(part, first)) {
      edge = part;
      break;
    }
    after.take(part);
    keep--;
  }
  const baseAfter = [...after.byKey.values()];
  after.take([...fresh.byKey.values()]);
  const events = [...after.byKey.values()];
  const baseBlobs = new Set(files.map((f) => f.oid));
  if (keep === 0) return { reused: [], events, copies: extraCopies(events), baseBlobs };
  // Copies of one event sort next to each other: the reused chunks' own copies are the base's,
  // less those the records after them count, and a run of copies across their end lies in `edge`.
  const copies = base.copies! - extraCopies([...edge, ...baseAfter]) + extraCopies([...edge, ...events]);
  return { reused: files.slice(0, keep), events, copies, baseBlobs };
}

const leadingFullChunks = (files: readonly ChunkFile[]): number => {
  const n = files.findIndex((f) => f.event_count !== SNAPSHOT_CHUNK_EVENTS);
  return n < 0 ? files.length : n;
};

/**
 * Whether `part` (a chunk, in record order) ends before `first`, and a run of copies of one event
 * cannot reach past it from the chunk before (it does not begin and end with one event).
 */
function endsBefore(part: readonly Event[], first: Event | null): boolean {
  const last = part[part.length - 1];
  if (bytesEqual(part[0].event_id, last.event_id)) return false;
  return first === null || compareRecords(last, first) < 0;
}
