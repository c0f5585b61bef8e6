/**
 * The write-ahead log on `refs/grit/wal` (SPEC §3): one commit per append, holding only its own
 * chunk and `meta.json`, parent = the previous head, the ref moved by compare-and-swap.
 * Objects are read and written by `ObjectStore` (plain files, zlib, SHA-1), refs by `refs.ts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkChunkHash, decodeChunk, encodeChunk, MAX_CHUNK_BYTES, scanChunkRecords } from '../core/chunk.js';
import { recordIsBy } from '../core/log-key.js';
import { GritError, walError } from '../core/errors.js';
import type { Event } from '../core/event.js';
import { kindIdMismatch } from '../core/kind-ids.js';
import { bytesEqual, fromHex, isOid, toHex } from '../core/hex.js';
import { crashPoint } from '../core/fault.js';
import { loadFastHash } from '../core/hash.js';
import { publishPack } from './pack-publish.js';
import { PackBuilder } from './pack-write.js';
import { encodeCommit, encodeTree, parseCommit, type TreeEntry } from './object-encoding.js';
import { ObjectStore, type ObjectSink, type ObjectStoreOptions } from './objects.js';
import { casRef, readRef } from './refs.js';
import { promisorRemote } from './partial-clone.js';
import { plural } from '../core/plural.js';

export const WAL_REF = 'refs/grit/wal';

export interface WalMeta {
  schema_version: 1;
  actor_id: string;
  chunk_hash: string;
  prev_wal: string | null;
}

export interface WalCommit {
  oid: string;
  actor: string;
  chunkHash: string;
  events: Event[];
}

export interface AppendResult {
  commit: string;
  chunkHash: string;
  /** The head this commit was built on (may differ from the head the caller last saw). */
  parent: string | null;
}

export interface AppendOptions {
  /**
   * Append only if the WAL head is exactly this (null: the WAL must be empty); otherwise throw
   * a `conflict` GritError and write nothing to the ref. Without it, an append that loses a race
   * is rebuilt on the new head and retried.
   */
  expectedHead?: string | null;
  /**
   * The WAL head the store was at when the events were made (null: empty). With it, an attempt
   * that loses the compare-and-swap deletes its pack unless a commit appended since holds the same
   * events (`Wal.noneAppendedSince`); without it, the pack is left to git's gc.
   */
  madeOn?: string | null;
  /**
   * For events checked against the WAL at `madeOn`: run when the commit is about to be built on
   * another head (another writer appended since), to check them again against the WAL up to that
   * head at least. Throwing appends nothing.
   */
  recheck?: () => Promise<void>;
}

const utf8 = new TextEncoder();
const pad = (n: number) => String(n).padStart(2, '0');
const MAX_CAS_ATTEMPTS = 200;
/** How far back a lost append looks for its events appended by another writer (Wal.noneAppendedSince). */
const MAX_SHARED_WALK = 1000;
/** From this many commits on, loading the WebAssembly BLAKE2b (a few ms) pays for itself. */
const FAST_HASH_FROM_COMMITS = 64;
/** Commits, trees and meta.json of a WAL commit are a few hundred bytes; anything past this is hostile. */
const MAX_WAL_OBJECT_BYTES = 64 << 10;
const small = { maxBytes: MAX_WAL_OBJECT_BYTES };
/** What `readChunk` reads below the root tree: checked by where it leads, not by its SHA-1 (see there). */
const belowRoot = { maxBytes: MAX_WAL_OBJECT_BYTES, checkId: false };
const ACTOR_HEX = /^[0-9a-f]{32}$/;
const HASH_HEX = /^[0-9a-f]{64}$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `meta.json` as written: compact, keys in the order of SPEC §3, newline-terminated. */
export function encodeMeta(meta: WalMeta): Uint8Array {
  const ordered: WalMeta = {
    schema_version: meta.schema_version,
    actor_id: meta.actor_id,
    chunk_hash: meta.chunk_hash,
    prev_wal: meta.prev_wal,
  };
  return utf8.encode(`${JSON.stringify(ordered)}\n`);
}

/** The last millisecond of a year of four digits, 9999-12-31T23:59:59.999Z. */
const LAST_YYYY_MS = 253402300799999;

/**
 * The chunk's path inside a WAL commit: `events/YYYY/MM/DD/<hash>.bin`, UTC date of `tsMs`. A
 * timestamp past year 9999 (SPEC allows any u64; a date cannot hold most) is dated 9999-12-31, so
 * that the year keeps its four digits (docs/wal.md, "Integers"); readers do not check the date.
 */
export function chunkPath(tsMs: number, chunkHash: string): string {
  const d = new Date(Math.min(tsMs, LAST_YYYY_MS));
  return `events/${String(d.getUTCFullYear()).padStart(4, '0')}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${chunkHash}.bin`;
}

function parseMeta(bytes: Uint8Array, oid: string): WalMeta {
  let meta: Partial<WalMeta> | null;
  try {
    meta = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw walError(`WAL commit ${oid}: meta.json is not JSON`, { commit: oid });
  }
  if (meta === null || typeof meta !== 'object' || meta.schema_version !== 1) {
    throw walError(`WAL commit ${oid}: meta.json has an unsupported schema_version`, {
      commit: oid,
      schema_version: (meta as { schema_version?: unknown } | null)?.schema_version ?? null,
    });
  }
  if (
    typeof meta.actor_id !== 'string' ||
    !ACTOR_HEX.test(meta.actor_id) ||
    typeof meta.chunk_hash !== 'string' ||
    !HASH_HEX.test(meta.chunk_hash) ||
    !(meta.prev_wal === null || isOid(meta.prev_wal))
  ) {
    throw walError(`WAL commit ${oid}: meta.json does not match schema_version 1`, { commit: oid });
  }
  return meta as WalMeta;
}

/** Writes a chunk and its dated subtree (`events/YYYY/MM/DD/<hash>.bin`); returns the `events` entry. */
export function writeEventsTree(sink: ObjectSink, chunkBytes: Uint8Array, chunkHash: string, tsMs: number): TreeEntry {
  const [, year, month, day, file] = chunkPath(tsMs, chunkHash).split('/');
  let sub = sink.write('tree', encodeTree([{ mode: '100644', name: file, oid: sink.write('blob', chunkBytes) }]));
  for (const part of [day, month, year]) sub = sink.write('tree', encodeTree([{ mode: '40000', name: part, oid: sub }]));
  return { mode: '40000', name: 'events', oid: sub };
}

export interface WalCommitFields {
  actorHex: string;
  chunkHash: string;
  parent: string | null;
  eventCount: number;
  /** Commit time, ms since the epoch. */
  timestamp: number;
}

/** Writes `meta.json`, the root tree and the commit on `parent`; returns the commit id. */
export function writeWalCommit(sink: ObjectSink, eventsTree: TreeEntry, f: WalCommitFields): string {
  const meta = sink.write('blob', encodeMeta({ schema_version: 1, actor_id: f.actorHex, chunk_hash: f.chunkHash, prev_wal: f.parent }));
  const tree = sink.write('tree', encodeTree([eventsTree, { mode: '100644', name: 'meta.json', oid: meta }]));
  const who = { name: 'grit', email: `${f.actorHex}@grit.invalid`, timestamp: Math.floor(f.timestamp / 1000), tzOffsetMinutes: 0 };
  const message = `grit: ${plural(f.eventCount, 'event')}\n`; // read back by `statedEventCount`
  return sink.write('commit', encodeCommit({ tree, parents: f.parent ? [f.parent] : [], author: who, committer: who, message }));
}

/** Events to append again on a new parent (a rebase), and the commit they were in. */
export interface ReappendSource {
  actor: string;
  events: Event[];
  /** The commit they come from: when they are all of its events, its events subtree is reused. */
  commit?: WalCommit;
}

/**
 * Writes one new commit on `parent` holding `source.events` (the same chunk as its commit's when
 * nothing was dropped), with its actor, through `sink` (objects only; no ref moves). Used by
 * sync's auto-rebase and by a store that outlived an overwritten WAL (src/commands/lost-events.ts).
 */
export function reappendCommit(objects: ObjectStore, sink: ObjectSink, source: ReappendSource, parent: string | null): string {
  const { actor, events, commit } = source;
  let eventsEntry: TreeEntry | undefined;
  let chunkHash = commit?.chunkHash;
  if (commit && events.length === commit.events.length) {
    eventsEntry = objects.readTree(objects.readCommit(commit.oid).tree).find((e) => e.name === 'events' && e.mode === '40000');
  }
  if (!eventsEntry || !chunkHash) {
    const chunk = encodeChunk(events);
    chunkHash = toHex(chunk.hash);
    eventsEntry = writeEventsTree(sink, chunk.bytes, chunkHash, events[0].ts_unix_ms);
  }
  return writeWalCommit(sink, eventsEntry, { actorHex: actor, chunkHash, parent, eventCount: events.length, timestamp: Date.now() });
}

/**
 * The event count a WAL commit's message states (`grit: 3 events`), or null when it states none.
 * A hint for planning reads, never trusted: the chunk is what counts.
 */
export function statedEventCount(message: string): number | null {
  const m = /^grit: (\d+) events?\n?$/.exec(message);
  return m ? Number(m[1]) : null;
}

/** A WAL commit as the chain walk sees it: its id, its root tree, its (only) parent and its message's event count. */
export interface WalLink {
  oid: string;
  tree: string;
  parent: string | null;
  /** `statedEventCount` of its message. */
  statedEvents: number | null;
}

/** A WAL commit read and checked down to its chunk's bytes (`Wal.readChunk`), events not yet decoded. */
export interface WalChunk {
  oid: string;
  actor: string;
  chunkHash: string;
  bytes: Uint8Array;
}

/** The events of a chunk from `Wal.readChunk` (whose hash that checked), decoded and checked. */
export function decodeWalChunk(chunk: WalChunk): WalCommit {
  let events: Event[];
  try {
    events = decodeChunk(chunk.bytes);
  } catch (err) {
    throw inCommit(err, chunk.oid);
  }
  const stranger = eventNotBy(events, chunk.actor);
  if (stranger) {
    throw walError(`WAL commit ${chunk.oid}: meta.json names actor ${chunk.actor}, but event ${toHex(stranger.event_id)} is by ${toHex(stranger.actor)}`, {
      commit: chunk.oid,
      actor_id: chunk.actor,
      event_actor: toHex(stranger.actor),
    });
  }
  return { oid: chunk.oid, actor: chunk.actor, chunkHash: chunk.chunkHash, events };
}

/**
 * A chunk's records undecoded (`scanChunkRecords`), when that shortcut vouches for them and they
 * are all by the actor its commit names; null otherwise: `decodeWalChunk` then says what is wrong.
 */
export function walChunkRecords(chunk: WalChunk): Uint8Array[] | null {
  const records = scanChunkRecords(chunk.bytes);
  const actor = fromHex(chunk.actor, 16)!;
  return records && records.every((r) => recordIsBy(r, actor)) ? records : null;
}

/** The first of `events` whose actor is not `actorHex` (a commit's events are all its actor's: SPEC §3 meta.json). */
function eventNotBy(events: readonly Event[], actorHex: string): Event | undefined {
  const actor = fromHex(actorHex, 16)!;
  return events.find((e) => !bytesEqual(e.actor, actor));
}

/** Gives a wal_error that does not name `oid` the commit's name and id; anything else becomes one. */
function inCommit(err: unknown, oid: string): GritError {
  if (err instanceof GritError && err.code === 'wal_error') {
    if (err.details.commit === oid) return err;
    return new GritError('wal_error', `WAL commit ${oid}: ${err.message}`, {
      details: { ...err.details, commit: oid },
      suggestion: err.suggestion,
    });
  }
  return walError(`cannot read WAL commit ${oid}: ${(err as Error).message}`, { commit: oid });
}

/**
 * Whether git lists `oid` in `<gitDir>/shallow`: a commit whose parents a fetch with `--depth`
 * left out. Read only once a walk has failed, so a WAL that is whole never pays for it.
 */
function isShallowBoundary(gitDir: string, oid: string): boolean {
  try {
    return readFileSync(join(gitDir, 'shallow'), 'utf8').split('\n').includes(oid);
  } catch {
    return false;
  }
}

/** The error for a walk that met the boundary of a shallow fetch: a bare "object not found" would not say what to do. */
function shallowWal(boundary: string, missing: string): GritError {
  return new GritError('wal_error', `refs/grit/wal is shallow (fetched with --depth): WAL commit ${boundary} is a shallow boundary, its parent ${missing} was never fetched`, {
    details: { commit: missing, shallow_boundary: boundary },
    suggestion: 'fetch the whole WAL: `git fetch --unshallow <remote> refs/grit/wal`',
  });
}

/**
 * The error for a WAL commit whose tree or chunk a partial clone lacks: a fetch under the clone's
 * filter (plain git's, into refs/grit/*) left it on the promisor remote. Nothing is damaged, and
 * `grit sync` with that remote fetches what the local WAL lacks (src/git/sync.ts).
 */
function filteredWal(commit: string, missing: string, remote: string): GritError {
  const sync = remote === 'origin' ? 'grit sync' : `grit sync --remote ${remote}`;
  return new GritError('wal_error', `WAL commit ${commit}: object ${missing} is missing from this partial clone (fetched under the clone's filter, it is still on ${remote})`, {
    details: { commit, missing_object: missing, promisor_remote: remote },
    suggestion: `run \`${sync}\`: it fetches the objects of the local WAL that this partial clone lacks`,
  });
}

/** Whether `err` is `filteredWal`'s: part of the WAL is on the promisor remote only. */
export function isFilteredWal(err: unknown): err is GritError {
  return err instanceof GritError && err.code === 'wal_error' && typeof err.details.promisor_remote === 'string';
}

/** Why a commit can go missing from a WAL that grit wrote whole (docs/troubleshooting.md, "the local WAL is not whole"). */
const HOLE_CAUSES = 'a pack lost or deleted, a disk error, or `git gc` after refs/grit/wal was moved by hand';

/**
 * The error for a WAL commit git does not have: the local WAL has a hole. Nothing reads past it,
 * and nothing may be appended on top of it (such a commit would never reach a remote). `child` is
 * the commit whose parent it is, 'head' when refs/grit/wal points at it, null when neither is known.
 */
function walHole(missing: string, child: string | 'head' | null): GritError {
  const what = child === 'head' ? `refs/grit/wal points at WAL commit ${missing}, which is` : `WAL commit ${missing}${child ? `, the parent of ${child},` : ''} is`;
  return new GritError('wal_error', `the local WAL is not whole: ${what} missing from this repository's git objects (${HOLE_CAUSES})`, {
    details: { commit: missing, missing: true, child: child === 'head' ? null : child },
    suggestion: 'run `grit doctor`: `grit doctor --fix` repairs it when this clone\'s store holds the missing events',
  });
}

/** Whether `err` is `walHole`'s: a WAL commit missing from this repository. */
export function isWalHole(err: unknown): err is GritError {
  return err instanceof GritError && err.code === 'wal_error' && err.details.missing === true;
}

/** How often `Wal.chain` reports the commits walked: as often as a reader thread may take a segment of them. */
const WALKED_EVERY = 64;

export class Wal {
  readonly gitDir: string;
  /** Object reads and writes; holds pack indexes and a delta-base cache between reads. */
  readonly objects: ObjectStore;

  constructor(gitDir: string, opts: ObjectStoreOptions = {}) {
    this.gitDir = gitDir;
    this.objects = new ObjectStore(gitDir, opts);
  }

  head(): Promise<string | null> {
    return readRef(this.gitDir, WAL_REF);
  }

  /**
   * Appends events as one commit on the current head. When another writer moves the head first
   * (the compare-and-swap fails), the commit is rebuilt on the new head and tried again, so
   * racing writers never lose a commit. With `expectedHead`, a moved head is a `conflict` instead.
   */
  async append(events: readonly Event[], actorHex: string, opts: AppendOptions = {}): Promise<AppendResult> {
    if (events.length === 0) throw new GritError('internal_error', 'nothing to append');
    if (!ACTOR_HEX.test(actorHex)) throw new GritError('internal_error', `invalid actor id ${JSON.stringify(actorHex)}`);
    // A commit whose meta.json names another actor than its events' is refused by every reader.
    if (eventNotBy(events, actorHex)) throw new GritError('internal_error', `events by another actor than ${actorHex} appended as theirs`);
    const misfiled = events.find((e) => kindIdMismatch(e.issue_id, e.kind));
    if (misfiled) throw new GritError('internal_error', `event ${toHex(misfiled.event_id)}: ${kindIdMismatch(misfiled.issue_id, misfiled.kind)}`);
    const strict = opts.expectedHead !== undefined;
    if (strict && opts.expectedHead !== null && !isOid(opts.expectedHead)) {
      throw new GritError('internal_error', `invalid expected WAL head ${JSON.stringify(opts.expectedHead)}`);
    }
    const chunk = encodeChunk(events);
    if (chunk.bytes.length > MAX_CHUNK_BYTES) {
      throw new GritError('invalid_args', `the events take ${chunk.bytes.length} bytes, more than one WAL chunk may hold (${MAX_CHUNK_BYTES})`, {
        details: { size: chunk.bytes.length, max_bytes: MAX_CHUNK_BYTES },
        suggestion: 'shorten the text (attach large content as a file with `grit issue attachment add`)',
      });
    }
    const chunkHash = toHex(chunk.hash);
    // All of a commit's objects go into one pack: two files to write and fsync instead of eight.
    // The chunk and its dated subtree do not depend on the parent: built once.
    this.objects.checkFormat();
    const fixed = new PackBuilder();
    const eventsTree = writeEventsTree(fixed.sink(), chunk.bytes, chunkHash, events[0].ts_unix_ms);

    const madeOn = opts.madeOn;
    const discard = madeOn === undefined ? undefined : () => this.noneAppendedSince(madeOn, eventsTree.oid);
    let checkedOn = madeOn;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const parent = strict ? (opts.expectedHead as string | null) : await this.head();
      this.assertPresent(parent);
      if (opts.recheck && parent !== checkedOn) {
        await opts.recheck();
        checkedOn = parent;
      }
      const pack = fixed.clone();
      const commit = writeWalCommit(pack.sink(), eventsTree, { actorHex, chunkHash, parent, eventCount: events.length, timestamp: Date.now() });
      // Kept from git's repack until the ref moves; a lost race deletes it unless another writer
      // appended the same events (pack-publish.ts).
      const moveRef = () => {
        crashPoint('wal:after-objects');
        return casRef(this.gitDir, WAL_REF, parent, commit);
      };
      const moved = await publishPack(this.objects, pack, moveRef, discard);
      if (moved) return { commit, chunkHash, parent };
      if (strict) {
        const current = await this.head();
        throw new GritError('conflict', 'the WAL head moved since it was read', {
          details: { expected_head: parent, wal_head: current },
          suggestion: 'refresh and retry the command',
        });
      }
      await sleep(Math.random() * Math.min(50, 2 + attempt * 2));
    }
    throw new GritError('db_busy', 'the WAL head kept moving; gave up appending', {
      suggestion: 'retry the command',
    });
  }

  /**
   * Whether no commit from the WAL head back to `madeOn` holds the events subtree `events`, so that
   * a lost append's pack is nobody else's to need. Byte-identical events (one actor's two
   * processes making the same edit of an issue on the same newest event in the same millisecond)
   * are appended only after the head their store was at, so they would be in that stretch; if they
   * are, a concurrent `git repack -a -d` may have left the lost pack their only copy (docs/wal.md,
   * "Two writers of the same objects"). A chain that does not lead back to `madeOn` within
   * MAX_SHARED_WALK commits (rewritten by a rebase, or far ahead) counts as holding them.
   */
  private async noneAppendedSince(madeOn: string | null, events: string): Promise<boolean> {
    let oid = await this.head();
    for (let n = 0; oid !== madeOn; n++) {
      if (oid === null || n === MAX_SHARED_WALK) return false;
      const commit = this.objects.readCommit(oid);
      if (this.objects.readTree(commit.tree).some((e) => e.name === 'events' && e.oid === events)) return false;
      oid = commit.parents[0] ?? null;
    }
    return true;
  }

  /**
   * Appends `sources` again as new commits on `onto` (`reappendCommit`, all in one pack), moving
   * the ref by compare-and-swap from `head` (by default `onto`): returns the new head, or null when
   * the WAL had moved (the ref is left alone).
   */
  async reappend(sources: readonly ReappendSource[], onto: string | null, head = onto): Promise<string | null> {
    let tip = onto;
    const pack = new PackBuilder();
    try {
      for (const s of sources) tip = reappendCommit(this.objects, pack.sink(), s, tip);
    } finally {
      this.objects.close();
    }
    if (tip === null) return null;
    const end = tip;
    return (await publishPack(this.objects, pack, () => casRef(this.gitDir, WAL_REF, head, end))) ? end : null;
  }

  /**
   * Points a missing refs/grit/wal at `oid` again (a WAL git still holds after the ref was
   * deleted: lost-events.ts). False when the ref exists by now (the caller reads it again).
   */
  restoreHead(oid: string): Promise<boolean> {
    return casRef(this.gitDir, WAL_REF, null, oid);
  }

  /**
   * Throws `walHole` when git lacks the head `head` (null: no WAL): one look-up, so that a write or
   * a sync never builds on a commit that is gone. A hole further down is found by the walks that
   * meet it (`chain`), not by walking the whole WAL here.
   */
  assertPresent(head: string | null): void {
    if (head !== null && !this.objects.has(head)) throw walHole(head, 'head');
  }

  /** Throws wal_error unless `oid` names a commit (a WAL ref at a blob or tree is corrupt, not a git failure). */
  assertCommit(oid: string): void {
    let type: string;
    try {
      type = this.objects.read(oid, small).type;
    } catch (err) {
      throw walError(`cannot read WAL commit ${oid}: ${(err as Error).message}`, { commit: oid });
    }
    if (type !== 'commit') throw walError(`WAL entry ${oid} is a ${type}, not a commit`, { commit: oid });
  }

  /** Reads one WAL commit object: a commit with at most one parent. */
  private readLink(oid: string): WalLink {
    const where = { commit: oid };
    try {
      const obj = this.objects.read(oid, small);
      if (obj.type !== 'commit') throw walError(`WAL entry ${oid} is a ${obj.type}, not a commit`, where);
      const commit = parseCommit(obj.content);
      if (commit.parents.length > 1) throw walError(`WAL commit ${oid} is a merge; the WAL must be linear`, where);
      return { oid, tree: commit.tree, parent: commit.parents[0] ?? null, statedEvents: statedEventCount(commit.message) };
    } catch (err) {
      throw inCommit(err, oid);
    }
  }

  /**
   * Reads a WAL commit's tree down to its chunk and checks all but the events: the layout,
   * meta.json, the chunk's size and hash (synchronous). `decodeWalChunk` does the rest.
   *
   * The commit and its root tree are checked against their SHA-1 (an object store damaged to
   * hand out another commit's root tree would pass every check below). What lies under the root
   * is not: the chunk must hash to the BLAKE2b that meta.json names, under a path that ends in
   * that name, so another object in place of any of them is refused all the same. The SHA-1s
   * skipped are six of a commit's eight objects and most of its bytes (docs/decisions.md).
   */
  readChunk(link: WalLink): WalChunk {
    const oid = link.oid;
    const where = { commit: oid };
    try {
      const root = this.objects.readTree(link.tree, small);
      const metaEntry = root.find((e) => e.name === 'meta.json');
      if (!metaEntry || metaEntry.mode !== '100644') throw walError(`WAL commit ${oid} has no meta.json`, where);
      // SPEC §3: a commit's tree holds only its own data (names twice over included).
      const events = root.find((e) => e.name === 'events');
      const other = root.find((e) => e !== metaEntry && e !== events);
      if (other) throw walError(`WAL commit ${oid} holds ${other.name} beside meta.json and events/`, { ...where, entry: other.name });
      const meta = parseMeta(this.objects.readBlob(metaEntry.oid, belowRoot), oid);
      // events/YYYY/MM/DD/<chunk_hash>.bin, and nothing else under events/.
      const file = `${meta.chunk_hash}.bin`;
      let entry = events;
      for (const shape of [/^\d{4,}$/, /^\d{2}$/, /^\d{2}$/]) {
        if (!entry || entry.mode !== '40000') break;
        const t = this.objects.readTree(entry.oid, belowRoot);
        entry = t.length === 1 && t[0].mode === '40000' && shape.test(t[0].name) ? t[0] : undefined;
      }
      let chunkOid: string | undefined;
      if (entry && entry.mode === '40000') {
        const t = this.objects.readTree(entry.oid, belowRoot);
        if (t.length === 1 && t[0].name === file && t[0].mode === '100644') chunkOid = t[0].oid;
      }
      if (!chunkOid) throw walError(`WAL commit ${oid} has no events/YYYY/MM/DD/${file} (or other files beside it)`, where);
      // A plain Uint8Array view, not a Buffer: decodeStrict copies byte strings with .slice(),
      // which on a Buffer would hand out views into the whole chunk (and Buffer-typed ids).
      const blob = this.objects.readBlob(chunkOid, { maxBytes: MAX_CHUNK_BYTES, checkId: false });
      const bytes = new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength);
      checkChunkHash(bytes, fromHex(meta.chunk_hash, 32)!);
      return { oid, actor: meta.actor_id, chunkHash: meta.chunk_hash, bytes };
    } catch (err) {
      throw this.filteredOut(err, oid) ?? inCommit(err, oid);
    }
  }

  /**
   * `filteredWal` when `err` is an object below WAL commit `commit` that this partial clone lacks,
   * else null. Asked only once a read failed.
   */
  private filteredOut(err: unknown, commit: string): GritError | null {
    const missing = err instanceof GritError && err.code === 'git_error' ? err.details.oid : undefined;
    if (typeof missing !== 'string' || this.objects.has(missing)) return null;
    const remote = promisorRemote(this.gitDir);
    return remote === null ? null : filteredWal(commit, missing, remote);
  }

  /**
   * The commits after `fromExclusive` up to `to`, oldest first, walking first parents and reading
   * only the commit objects (the whole chain when `fromExclusive` is not on it). A commit that is
   * missing (`isWalHole`), not a commit, or a merge throws `wal_error` naming it. Leaves the object
   * store open (pack indexes loaded) for `readCommits`: the caller closes it. `onWalked` is given
   * the commits walked so far, newest first, every `WALKED_EVERY` commits and once more at the end
   * (`done`), so that reading them can start before the walk is over.
   */
  async chain(fromExclusive: string | null, to: string, onWalked?: (walked: readonly WalLink[], done: boolean) => void): Promise<WalLink[]> {
    const out: WalLink[] = [];
    for (let oid: string | null = to; oid && oid !== fromExclusive; ) {
      let link: WalLink;
      try {
        link = this.readLink(oid);
      } catch (err) {
        const child = out[out.length - 1]?.oid;
        if (child !== undefined && isShallowBoundary(this.gitDir, child)) throw shallowWal(child, oid);
        throw this.objects.has(oid) ? err : walHole(oid, child ?? null);
      }
      out.push(link);
      oid = link.parent;
      if (out.length % WALKED_EVERY === 0) onWalked?.(out, false);
      // Reads are synchronous; let a daemon's other work run now and then.
      if (out.length % 4096 === 0) await new Promise((r) => setImmediate(r));
    }
    onWalked?.(out, true);
    return out.reverse();
  }

  /** Reads and validates the trees and chunks of `links` (from `chain`), in their order; the caller closes the object store. */
  async readCommits(links: readonly WalLink[]): Promise<WalCommit[]> {
    // All chunks read first, then decoded: events decoded as the reading goes would live through
    // the scavenges the reading's garbage brings, and be copied on into the old generation.
    return (await this.readChunks(links)).map(decodeWalChunk);
  }

  /** `readChunk` of each of `links`, in their order (events not decoded); the caller closes the object store. */
  async readChunks(links: readonly WalLink[]): Promise<WalChunk[]> {
    if (links.length >= FAST_HASH_FROM_COMMITS) await loadFastHash();
    const chunks: WalChunk[] = [];
    for (const link of links) {
      chunks.push(this.readChunk(link));
      if (chunks.length % 256 === 0) await new Promise((r) => setImmediate(r));
    }
    return chunks;
  }

  /**
   * Every commit after `fromExclusive` up to `to` (default: the head), oldest first, walking
   * first parents. When `fromExclusive` is not on that chain the whole history is returned
   * (applying is idempotent). Everything is validated before anything is returned: one bad commit
   * makes the whole call throw `wal_error` naming it.
   */
  async readSince(fromExclusive: string | null, to?: string | null): Promise<WalCommit[]> {
    return (await this.readAfter(fromExclusive, to === undefined ? await this.head() : to)).commits;
  }

  /**
   * `readSince`, saying whether `fromExclusive` was on the chain of `to` (`found`); when it was
   * not, `commits` is the whole history.
   */
  async readAfter(fromExclusive: string | null, to: string | null): Promise<{ commits: WalCommit[]; found: boolean }> {
    if (!to) return { commits: [], found: fromExclusive === null };
    try {
      const links = await this.chain(fromExclusive, to);
      const found = fromExclusive === null || (links.length === 0 ? to === fromExclusive : links[0].parent === fromExclusive);
      return { commits: await this.readCommits(links), found };
    } finally {
      this.objects.close();
    }
  }

  /** True when `ancestor` is `descendant` or on its first-parent chain (null is everyone's). */
  isAncestor(ancestor: string | null, descendant: string | null): Promise<boolean> {
    return this.ancestorTest(descendant)(ancestor);
  }

  /**
   * `isAncestor(·, descendant)` for many ancestors in turn: one walk down the chain, taken up where
   * the last question left it and remembering what it passed, so asking about n commits (every
   * snapshot's wal_head) costs one walk of the WAL, not up to n (docs/performance.md, "Many
   * snapshots: one walk of the WAL").
   */
  ancestorTest(descendant: string | null): (ancestor: string | null) => Promise<boolean> {
    const passed = new Set<string>();
    let next: string | undefined = descendant ?? undefined;
    return async (ancestor) => {
      if (ancestor === null || passed.has(ancestor)) return true;
      try {
        for (let n = 0; next; n++) {
          if (next === ancestor) return true;
          const oid: string = next;
          next = this.objects.readCommit(oid).parents[0];
          passed.add(oid);
          if (n % 1024 === 1023) await new Promise((r) => setImmediate(r));
        }
        return false;
      } catch (err) {
        throw walError(`cannot walk the WAL: ${(err as Error).message}`, { ancestor, descendant });
      } finally {
        this.objects.close();
      }
    };
  }
}
