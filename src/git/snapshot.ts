/**
 * Snapshots (SPEC §3): `refs/grit/snapshots/<unix_ms>`, each a parentless commit whose tree is
 *
 *     snapshot.json     {schema_version, created_ts, wal_head, event_count, chunks:[{path, chunk_hash, event_count}]}
 *     events/0000.bin   GRITCHNK chunks (the WAL's chunk format), SNAPSHOT_CHUNK_EVENTS events each
 *     events/0001.bin   …
 *
 * holding every event of the WAL up to and including `wal_head`, in event order (ts, actor,
 * event_id, then signature): each copy the WAL holds of an event once, so an event the WAL holds
 * with two signatures is there twice (`SnapshotCopies`; docs/operations.md, "Snapshots").
 * Snapshots are written once and never rewritten; `gc` only deletes refs.
 */
import { decodeChunk, decodeStored, decodeVerifiedChunk, encodeChunk, recordBytes } from '../core/chunk.js';
import { GritError, walError } from '../core/errors.js';
import { compareEvents, type Event } from '../core/event.js';
import { exactTs } from '../core/timestamp.js';
import { compareBytes, fromHex, isOid, toHex } from '../core/hex.js';
import { encodeCommit, encodeTree, hashObject, type TreeEntry } from './object-encoding.js';
import type { ObjectSink, ObjectStore } from './objects.js';
import { publishPack } from './pack-publish.js';
import { PackBuilder } from './pack-write.js';
import { casRef, deleteRefs, listRefs } from './refs.js';
import { plural } from '../core/plural.js';
import { readSnapshotChunks, type ReadSnapshotOptions } from './wal-read-ahead.js';

export const SNAPSHOT_PREFIX = 'refs/grit/snapshots/';
export const SNAPSHOT_CHUNK_EVENTS = 1000;

export interface SnapshotChunk {
  path: string;
  chunk_hash: string;
  event_count: number;
}

export interface SnapshotMeta {
  schema_version: 1;
  created_ts: number;
  wal_head: string;
  event_count: number;
  chunks: SnapshotChunk[];
}

export interface SnapshotRef {
  ref: string;
  oid: string;
  /** The `<unix_ms>` of the ref name. */
  ts: number;
}

/** The name of a snapshot ref below its prefix: its `<unix_ms>`. */
export const SNAPSHOT_NAME = /^\d{1,16}$/;

/** Newest name first. A name is its writer's clock, which may be off: see `newestFirst`. */
const byName = (a: SnapshotRef, b: SnapshotRef): number => b.ts - a.ts || (a.ref < b.ref ? 1 : -1);

/**
 * Snapshot refs, by name (the latest first): for reports. What is newest is `newestFirst`'s to
 * say. Refs whose last component is not a number are ignored.
 */
export async function listSnapshots(gitDir: string): Promise<SnapshotRef[]> {
  const out: SnapshotRef[] = [];
  for (const { ref, oid } of await listRefs(gitDir, SNAPSHOT_PREFIX)) {
    const name = ref.slice(SNAPSHOT_PREFIX.length);
    if (SNAPSHOT_NAME.test(name)) out.push({ ref, oid, ts: Number(name) });
  }
  return out.sort(byName);
}

/**
 * `snapshots`, newest first: the one that covers the most of the WAL (its `event_count`: on one
 * WAL a later `wal_head` holds every record of an earlier one, and more) first, the name only
 * between equal counts. Not by name alone: a name is its writer's clock, and one named by a clock
 * running ahead would stay the newest for every clone, so that every sync writes a snapshot, gc
 * keeps it and deletes newer ones, and a rebuild starts from it. A count `knownCount` gives (the
 * verdicts record the count of a trusted snapshot) is taken as it is; any other snapshot's
 * snapshot.json is read, and one that cannot be read goes last.
 */
export function newestFirst(
  objects: ObjectStore,
  snapshots: readonly SnapshotRef[],
  knownCount: (oid: string) => number | undefined = () => undefined,
): SnapshotRef[] {
  const count = (s: SnapshotRef): number => {
    const known = knownCount(s.oid);
    if (known !== undefined) return known;
    try {
      return readSnapshotMeta(objects, s.oid).event_count;
    } catch {
      return -1;
    }
  };
  return snapshots
    .map((s) => ({ s, n: count(s) }))
    .sort((a, b) => b.n - a.n || byName(a.s, b.s))
    .map(({ s }) => s);
}

const NO_SIG = new Uint8Array(0);

const chunkName = (i: number, total: number) => `${String(i).padStart(Math.max(4, String(total - 1).length), '0')}.bin`;

/**
 * A chunk file of a snapshot: its blob, and its entry in snapshot.json. A new snapshot takes a
 * base's leading chunks as they are (`writeSnapshotObjects`' `reused`): only full chunks cut where
 * a snapshot of all the events would cut them, so it holds the bytes a snapshot written from
 * scratch would (docs/operations.md, "Snapshots").
 */
export interface ChunkFile {
  oid: string;
  chunk_hash: string;
  event_count: number;
}

/** The order of a snapshot's records: event order, then signature bytes between copies of one event. */
export const compareRecords = (a: Event, b: Event): number => compareEvents(a, b) || compareBytes(a.sig ?? NO_SIG, b.sig ?? NO_SIG);

/**
 * Writes the snapshot's objects and returns its commit id and meta (no ref is touched): the
 * `reused` chunks first, as they are (each SNAPSHOT_CHUNK_EVENTS events, all before `events` in
 * record order), then `events`, sorted and cut into chunks.
 */
export function writeSnapshotObjects(
  sink: ObjectSink,
  reused: readonly ChunkFile[],
  events: readonly Event[] | HeldRecords,
  walHead: string,
  createdTs: number,
  actorHex: string,
): { commit: string; meta: SnapshotMeta } {
  if (!isOid(walHead)) throw new GritError('internal_error', `invalid WAL head ${JSON.stringify(walHead)}`);
  // Two copies of one event tie on the event order; their signatures order them, so the bytes do
  // not depend on the order the copies were read in.
  const parts = events instanceof HeldRecords ? events.parts(SNAPSHOT_CHUNK_EVENTS) : partsOf([...events].sort(compareRecords));
  const count = events instanceof HeldRecords ? events.size : events.length;
  const total = Math.max(1, reused.length + Math.ceil(count / SNAPSHOT_CHUNK_EVENTS));
  const entries: TreeEntry[] = [];
  const chunks: SnapshotChunk[] = [];
  const add = (oid: string, chunk_hash: string, event_count: number) => {
    const name = chunkName(entries.length, total);
    entries.push({ mode: '100644', name, oid });
    chunks.push({ path: `events/${name}`, chunk_hash, event_count });
  };
  for (const c of reused) add(c.oid, c.chunk_hash, c.event_count);
  for (const part of parts) {
    const chunk = encodeChunk(part);
    add(sink.write('blob', chunk.bytes), toHex(chunk.hash), part.length);
  }
  const held = chunks.reduce((n, c) => n + c.event_count, 0);
  const meta: SnapshotMeta = { schema_version: 1, created_ts: createdTs, wal_head: walHead, event_count: held, chunks };
  const root: TreeEntry[] = [
    { mode: '100644', name: 'snapshot.json', oid: sink.write('blob', Buffer.from(JSON.stringify(meta) + '\n')) },
  ];
  if (entries.length) root.push({ mode: '40000', name: 'events', oid: sink.write('tree', encodeTree(entries)) });
  const who = { name: 'grit', email: `${actorHex}@grit.invalid`, timestamp: Math.floor(createdTs / 1000), tzOffsetMinutes: 0 };
  const commit = sink.write(
    'commit',
    encodeCommit({
      tree: sink.write('tree', encodeTree(root)),
      parents: [],
      author: who,
      committer: who,
      message: `grit snapshot: ${plural(held, 'event')} up to ${walHead}\n`,
    }),
  );
  return { commit, meta };
}

/**
 * Writes a snapshot and creates its ref (a new name, never moving an existing one). Every object
 * is written to the new pack but the `reused` chunks and the blobs in `baseBlobs`, which the base
 * snapshot's ref keeps: an object the repository has elsewhere may be in a pack no ref reaches
 * (one a killed `grit snapshot` left), which git's gc may delete before or after the new ref is
 * written, leaving the snapshot without its tree (docs/operations.md, "Snapshots").
 */
export async function createSnapshot(
  gitDir: string,
  objects: ObjectStore,
  reused: readonly ChunkFile[],
  events: readonly Event[] | HeldRecords,
  walHead: string,
  actorHex: string,
  baseBlobs: ReadonlySet<string> = new Set(),
): Promise<{ ref: string; commit: string; meta: SnapshotMeta }> {
  const now = Date.now();
  const pack = new PackBuilder();
  const sink: ObjectSink = {
    write: (type, content) => {
      const oid = hashObject(type, content);
      return baseBlobs.has(oid) ? oid : pack.add(type, content);
    },
  };
  const { commit, meta } = writeSnapshotObjects(sink, reused, events, walHead, now, actorHex);
  let ref = '';
  // The ref is named by its creation time; on a clash (same millisecond) take the next one.
  const named = async (): Promise<boolean> => {
    for (let ts = now; ts < now + 1000; ts++) {
      ref = `${SNAPSHOT_PREFIX}${ts}`;
      if (await casRef(gitDir, ref, null, commit)) return true;
    }
    return false;
  };
  // Kept from git's repack until the ref is written (pack-publish.ts).
  if (await publishPack(objects, pack, named)) return { ref, commit, meta };
  throw new GritError('db_busy', 'could not find a free snapshot ref name', { suggestion: 'retry `grit snapshot`' });
}

function parseMeta(bytes: Uint8Array, oid: string): SnapshotMeta {
  let m: any;
  try {
    m = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw walError(`snapshot ${oid}: snapshot.json is not JSON`, { snapshot: oid });
  }
  const ok =
    m &&
    m.schema_version === 1 &&
    Number.isSafeInteger(m.created_ts) &&
    isOid(m.wal_head) &&
    Number.isSafeInteger(m.event_count) &&
    Array.isArray(m.chunks) &&
    m.chunks.every(
      (c: any) =>
        c &&
        typeof c.path === 'string' &&
        /^events\/\d{4,}\.bin$/.test(c.path) &&
        typeof c.chunk_hash === 'string' &&
        /^[0-9a-f]{64}$/.test(c.chunk_hash) &&
        Number.isSafeInteger(c.event_count),
    );
  if (!ok) throw walError(`snapshot ${oid}: snapshot.json does not match schema_version 1`, { snapshot: oid });
  return m as SnapshotMeta;
}

/** Reads the meta of a snapshot commit without its events. */
export function readSnapshotMeta(objects: ObjectStore, oid: string): SnapshotMeta {
  try {
    const root = objects.readTree(objects.readCommit(oid).tree);
    const entry = root.find((e) => e.name === 'snapshot.json' && e.mode === '100644');
    if (!entry) throw walError(`snapshot ${oid} has no snapshot.json`, { snapshot: oid });
    return parseMeta(objects.readBlob(entry.oid), oid);
  } catch (err) {
    if (err instanceof GritError && err.code === 'wal_error') throw err;
    throw walError(`cannot read snapshot ${oid}: ${(err as Error).message}`, { snapshot: oid });
  }
}

/**
 * The chunk files snapshot.json of the snapshot `oid` lists, in its order, found in its tree (none
 * read). Throws `wal_error` when one is missing.
 */
export function snapshotChunkFiles(objects: ObjectStore, oid: string, meta: SnapshotMeta): ChunkFile[] {
  const root = objects.readTree(objects.readCommit(oid).tree);
  const dir = root.find((e) => e.name === 'events' && e.mode === '40000');
  const files = dir ? objects.readTree(dir.oid) : [];
  return meta.chunks.map((c) => {
    const name = c.path.slice('events/'.length);
    const file = files.find((f) => f.name === name && f.mode === '100644');
    if (!file) throw walError(`snapshot ${oid} has no ${c.path}`, { snapshot: oid });
    return { oid: file.oid, chunk_hash: c.chunk_hash, event_count: c.event_count };
  });
}

/**
 * `snapshotChunkFiles`, each blob checked to be there (by `has()`, none read): the whole tree a
 * rebuild from the snapshot reads. Its commit can be readable and its `events` tree or a chunk
 * gone (`git gc` lost them, or they were in a pack that was deleted). Throws `wal_error`.
 */
export function presentChunkFiles(objects: ObjectStore, oid: string, meta: SnapshotMeta): ChunkFile[] {
  let files: ChunkFile[];
  try {
    files = snapshotChunkFiles(objects, oid, meta);
  } catch (err) {
    if (err instanceof GritError && err.code === 'wal_error') throw err;
    throw walError(`snapshot ${oid}: its events tree cannot be read: ${(err as Error).message}`, { snapshot: oid });
  }
  files.forEach((f, i) => {
    if (!objects.has(f.oid)) throw walError(`snapshot ${oid}: the blob ${f.oid} of ${meta.chunks[i].path} is missing`, { snapshot: oid });
  });
  return files;
}

/** Where a snapshot's events go as they are read, chunk by chunk in order. */
export interface SnapshotSink {
  take(events: Event[]): void;
}

/**
 * What tells two copies of an event apart: its id (a hash of its content) and its signature,
 * which the id leaves out. Byte-identical copies (a commit copied onto another parent) share it.
 */
export const copyKey = (e: { event_id: Uint8Array; sig: Uint8Array | null }): string =>
  `${toHex(e.event_id)}:${e.sig ? toHex(e.sig) : ''}`;

/**
 * The events a snapshot holds, gathered from a snapshot and the WAL after it: each copy once
 * (`copyKey`). Not one copy per event, as the store keeps: which copy the store keeps depends on
 * the keys and the signature policy of the clone (docs/signing.md, "Two copies of one event"), so
 * a snapshot that chose would give a clone that chooses otherwise another state than its WAL does.
 */
export class SnapshotCopies implements SnapshotSink {
  readonly byKey = new Map<string, Event>();
  take(events: Event[]): void {
    for (const e of events) this.byKey.set(copyKey(e), e);
  }
}

/** Sorted records cut into chunks' worth. */
function* partsOf(sorted: readonly Event[]): Generator<Event[]> {
  for (let i = 0; i < sorted.length; i += SNAPSHOT_CHUNK_EVENTS) yield sorted.slice(i, i + SNAPSHOT_CHUNK_EVENTS);
}

/** The bytes of a u64 timestamp, big-endian: they sort as the numbers do. */
const tsBytes = (ts: number | bigint): Buffer => {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(ts));
  return out;
};

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

/**
 * The copies a snapshot written from the whole WAL holds, kept as their record bytes (the view of
 * the WAL chunk they were decoded from, `recordBytes`) under a key that sorts as `compareRecords`
 * does and tells copies apart as `copyKey` does: the timestamp's 8 bytes, the actor, the event id
 * and the signature, one character a byte. Each copy is decoded again when its chunk is written,
 * to the event it was (what the store does with the same bytes), so the chunk is what encoding the
 * events gives. Holding every decoded event until the sort was 1.2 KB a record: 100k events
 * peaked at 297 MB.
 */
export class HeldRecords implements SnapshotSink {
  private readonly byKey = new Map<string, Uint8Array>();

  take(events: Event[]): void {
    this.sorted = null;
    for (const e of events) {
      const key = latin1(tsBytes(exactTs(e))) + latin1(e.actor) + latin1(e.event_id) + (e.sig ? latin1(e.sig) : '');
      this.byKey.set(key, recordBytes(e));
    }
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Of all the records, the further copies of an event: copies sort together, the same up to the signature. */
  copies(): number {
    let n = 0;
    let last = '';
    for (const key of this.sortedKeys()) {
      const id = key.slice(0, 56);
      if (id === last) n++;
      last = id;
    }
    return n;
  }

  /** The records in record order, decoded `n` at a time. */
  *parts(n: number): Generator<Event[]> {
    const keys = this.sortedKeys();
    for (let i = 0; i < keys.length; i += n) yield keys.slice(i, i + n).map((k) => decodeStored(this.byKey.get(k)!));
  }

  /** The keys in order, once asked for (`take` forgets them). */
  private sorted: string[] | null = null;

  private sortedKeys(): string[] {
    // Code units of one-byte characters compare as the bytes do, a shorter key before its extensions.
    return (this.sorted ??= [...this.byKey.keys()].sort());
  }
}

/** `bytes` copied into shared memory. */
function sharedCopy(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new SharedArrayBuffer(bytes.length));
  copy.set(bytes);
  return copy;
}

/** Chunk `i` of snapshot `oid`, read from its blob `blobOid`: decoded, its hash and its count in snapshot.json checked. */
export function readSnapshotChunk(objects: ObjectStore, oid: string, meta: SnapshotMeta, i: number, blobOid: string, sharedMemory = false): Event[] {
  const blob = objects.readBlob(blobOid);
  const bytes = sharedMemory ? sharedCopy(blob) : new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength);
  return countedChunk(oid, meta, i, decodeChunk(bytes, fromHex(meta.chunks[i].chunk_hash, 32)!));
}

/** `part`, chunk `i` of snapshot `oid`, once it holds as many events as snapshot.json says. */
function countedChunk(oid: string, meta: SnapshotMeta, i: number, part: Event[]): Event[] {
  const c = meta.chunks[i];
  if (part.length !== c.event_count) throw walError(`snapshot ${oid}: ${c.path} holds ${part.length} events, not ${c.event_count}`);
  return part;
}

/**
 * Reads and fully validates a snapshot: every chunk's hash, format and event ids, and the counts
 * in snapshot.json, handing each chunk's events to `sink` in order. Throws `wal_error` on any
 * mismatch, which may come after `sink` took earlier chunks: a caller that must not act on part
 * of a bad snapshot acts once this returns. With a core to spare, a reader thread checks part of
 * the chunks (`readSnapshotChunks`).
 */
export function readSnapshotInto(objects: ObjectStore, oid: string, sink: SnapshotSink, opts: ReadSnapshotOptions = {}): SnapshotMeta {
  const meta = readSnapshotMeta(objects, oid);
  try {
    const refs = snapshotChunkFiles(objects, oid, meta).map((f) => ({ oid: f.oid, chunkHash: f.chunk_hash }));
    const inline = (i: number) => readSnapshotChunk(objects, oid, meta, i, refs[i].oid, opts.sharedMemory);
    const verified = (i: number, bytes: Uint8Array) => countedChunk(oid, meta, i, decodeVerifiedChunk(bytes));
    let total = 0;
    for (const part of readSnapshotChunks(objects.gitDir, oid, refs, inline, verified, opts)) {
      total += part.length;
      sink.take(part);
    }
    if (total !== meta.event_count) {
      throw walError(`snapshot ${oid} holds ${total} events, not ${meta.event_count}`, { snapshot: oid });
    }
    return meta;
  } catch (err) {
    if (err instanceof GritError && err.code === 'wal_error') {
      throw new GritError('wal_error', err.message.startsWith('snapshot ') ? err.message : `snapshot ${oid}: ${err.message}`, {
        details: { ...err.details, snapshot: oid },
        suggestion: 'delete the snapshot ref (`git update-ref -d <ref>`) and run `grit snapshot` again',
      });
    }
    throw walError(`cannot read snapshot ${oid}: ${(err as Error).message}`, { snapshot: oid });
  }
}

/**
 * Why a snapshot whose wal_head is not on the WAL's chain is of no use: the WAL only grows from
 * its head, so that snapshot can never stand in for a prefix of it (rebuild, gc and doctor say so
 * alike). The usual cause is sync rebasing the local commits the snapshot was taken on.
 */
export const offWalReason = (walHead: string): string =>
  `its wal_head ${walHead} is not on refs/grit/wal (sync rebased the local events it was taken on, or it is another WAL's), so it can never be used`;

/** A snapshot that can never be used, and why (`offWalReason`, or why its snapshot.json cannot be read). */
export type UnusableSnapshot = SnapshotRef & { reason: string };

/**
 * The snapshots of `snapshots` that can never be used, in their order: those whose snapshot.json
 * cannot be read (a ref at a blob, a commit of something else, missing objects), those with a
 * tree or chunk blob missing (`presentChunkFiles`) and those whose wal_head `onWal` says is not on
 * the WAL's chain (one check a snapshot). Chunks are not read: a snapshot whose events do not
 * match is skipped by a rebuild with its own reason.
 */
export async function unusableSnapshots(
  objects: ObjectStore,
  snapshots: readonly SnapshotRef[],
  onWal: (walHead: string) => boolean | Promise<boolean>,
  refused: (oid: string) => string | null = () => null,
): Promise<UnusableSnapshot[]> {
  const unusable: UnusableSnapshot[] = [];
  for (const s of snapshots) {
    // Refused when checked against the WAL (snapshot-trust.ts): never tried again, so never used.
    const why = refused(s.oid);
    if (why !== null) {
      unusable.push({ ...s, reason: `refused when checked against the WAL: ${why}` });
      continue;
    }
    let walHead: string;
    try {
      const meta = readSnapshotMeta(objects, s.oid);
      presentChunkFiles(objects, s.oid, meta);
      walHead = meta.wal_head;
    } catch (err) {
      unusable.push({ ...s, reason: (err as Error).message });
      continue;
    }
    if (!(await onWal(walHead))) unusable.push({ ...s, reason: offWalReason(walHead) });
  }
  return unusable;
}

/**
 * Of `all` (newest first: `newestFirst`), deletes the refs in `unusable` (snapshots that can never
 * be used: `unusableSnapshots`), then all but the newest `keep` of the others, so an unusable
 * snapshot never takes a newest slot. Only refs; objects go with `git gc`.
 */
export async function gcSnapshots(
  gitDir: string,
  all: readonly SnapshotRef[],
  keep: number,
  unusable: ReadonlySet<string> = new Set(),
): Promise<{ deleted: string[]; kept: string[] }> {
  const usable = all.filter((s) => !unusable.has(s.ref));
  const kept = usable.slice(0, keep);
  const doomed = [...all.filter((s) => unusable.has(s.ref)), ...usable.slice(keep)];
  const gone = await deleteRefs(gitDir, doomed);
  return { deleted: doomed.filter((s) => gone.has(s.ref)).map((s) => s.ref), kept: kept.map((s) => s.ref) };
}
