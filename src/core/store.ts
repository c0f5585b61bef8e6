/**
 * The materialized view of one actor: an LMDB environment holding every applied event,
 * the folded issue projections and the indexes that commands read. It is a cache of the
 * WAL: everything here can be rebuilt from `refs/grit/wal`.
 */
import { rmSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { ABORT, open, type Database, type RootDatabase, type Transaction } from 'lmdb';
import type { DepEdge } from './deps.js';
import { ContextTables } from './context-store.js';
import { FillFolds } from './fill-folds.js';
import { BOUNDS_PER_ISSUE, DEP_SEP, depKey, FOLD_BATCH_ISSUES, INLINE, labelKey, labelRange, rowsOf, type FoldedBatch } from './issue-rows.js';
import { decodeRow } from './plain-cbor.js';
import { GritError, walError } from './errors.js';
import { decodeStored, recordBytes } from './chunk.js';
import type { Event } from './event.js';
import { ISSUE_BYTES, LOG_KEY_BYTES, logKey, logKeyEventId } from './log-key.js';
import { bytesEqual, fromHex, isOid, toHex } from './hex.js';
import type { DepType } from './kinds.js';
import { foldIssueState, foldMore, type Dependency, type Folded, type FoldState, type Issue, type IssueSummary } from './projection.js';
import type { FillPlan, StoreFill } from './store-fill.js';
import { storeFile, storeFileDamage, storeFileInTheWay, storeFiles } from './store-file.js';
import { flushAndUnmark, markUnsynced, unflushedReason, UNSYNCED_MARKER } from './store-unsynced.js';
import { writeDenied } from './write-access.js';
import { noRoomForNewStore, noRoomForStoreWrite, pastFileSizeLimit, storeWriteError } from './disk-full.js';
import { isRepositoryId, sameRepo, type RepoIdentity } from './repo-identity.js';
import { copyOrder, Keyring, type CompareCopies } from './integrity.js';
import { adjustSharedPerm, createShared, mkdirShared } from './shared-files.js';

export interface StoreMeta {
  wal_head: string | null;
  event_count: number;
  last_rebuild_ts: number | null;
  events_since_rebuild: number;
  /** The repository whose WAL the store was built from; null when empty, or made by a grit that did not record it. */
  repo: RepoIdentity | null;
}

export const EMPTY_META: StoreMeta = { wal_head: null, event_count: 0, last_rebuild_ts: null, events_since_rebuild: 0, repo: null };

/** Whether a store with this meta holds nothing yet (a new clone or actor, a cleared cache): `Store.fill` takes only such a store. */
export function isEmptyStore(meta: StoreMeta): boolean {
  return meta.wal_head === null && meta.event_count === 0;
}

const depRange = (id: string) => ({ start: `${id}${DEP_SEP}`, end: `${id};` });
function edgeOfKey(key: string, reversed: boolean): DepEdge {
  const [a, b, type] = key.split(DEP_SEP);
  const dep_type = type as DepType;
  return reversed ? { issue_id: b, target: a, dep_type } : { issue_id: a, target: b, dep_type };
}
/**
 * The shape of the tables. A store of another layout is not read: `open` refuses it with
 * `store_outdated`, and the caller replaces it (it is a cache) with one built from the WAL.
 * 2: one `issue_log` table (binary keys, event records as values) instead of an event table
 * keyed by id plus a string-keyed index into it (docs/decisions.md, "Store layout").
 * 3: issues and fold states as plain CBOR (src/core/plain-cbor.ts) instead of lmdb's MessagePack
 * with shared structures, which only the thread holding the store could encode; index entries
 * as one raw byte instead of MessagePack `true`, encoded anew for each of them.
 * 4: the label and context tables keyed by bytes (src/core/index-key.ts): with lmdb's string keys,
 * a label of 31 characters or more was not found, and one of about 2,000 failed every command.
 * 5: fold states hold each set member's newest remove horizon (`removeHorizon`, src/core/projection.ts)
 * where they held its newest remove timestamp: a layout 4 state would fold a remove wrongly.
 * 6: a `summaries` table (each issue's `IssueSummary`, plain CBOR) beside the issue rows, written
 * with them, which `listIssues` reads instead of whole rows: a layout 5 store has none.
 * 7: fold states keep timestamps above 2^53 - 1 exactly (bigints: src/core/timestamp.ts `ExactTs`)
 * and context entries theirs as `ts_exact`; a layout 6 store holds the nearest numbers, by which
 * one writer's events a step apart tie.
 * 8: labels and assignees in UTF-8 byte order (SPEC §1's, as events show them); layout 7 sorted
 * them by UTF-16 code units, which differ for a character beyond U+FFFF beside one from U+E000.
 * 9: labels and assignees folded under their NFC (src/core/set-member.ts); a layout 8 store may
 * hold one label in two forms, in its issues, summaries, label index and fold states.
 */
const LAYOUT_VERSION = 9;

/**
 * A store layout other than this grit's, as the refusal names it: a newer grit's (after a
 * downgrade) is not called older. Either is rebuilt from the WAL all the same: the store is a cache.
 */
function describeLayout(layout: unknown): string {
  if (typeof layout !== 'number') return layout === undefined ? 'an older layout (unmarked)' : `a layout this grit does not read (${JSON.stringify(layout)})`;
  return layout > LAYOUT_VERSION ? `a newer layout (${layout}) than this grit reads (${LAYOUT_VERSION})` : `an older layout (${layout})`;
}

/**
 * Puts a key that sorts after every key of `db` (MDB_APPEND: no tree search). lmdb's types give
 * this overload no result; it returns whether the write was made, which appending a key out of
 * order is not.
 */
function appendSync<K extends Buffer | string>(db: Database<Uint8Array, K>, key: K, value: Uint8Array): boolean {
  const putSync = db.putSync as unknown as (this: typeof db, k: K, v: Uint8Array, o: { append: true }) => boolean;
  return putSync.call(db, key, value, { append: true });
}

/** `appendSync` of an issue's row, as a fill writes them: in id order, which it checks. */
function appendRow(db: Database<Uint8Array, string>, issueHex: string, row: Uint8Array): void {
  if (!appendSync(db, issueHex, row)) throw new GritError('internal_error', `the store refused issue ${issueHex} out of order`);
}

/**
 * lmdb takes a value by the address of its memory, which it cannot get of shared memory (the
 * process crashes): a record in shared memory (what a WAL reader thread read: see
 * src/workers/wal-reader-messages.ts) is copied into this first. lmdb copies a value as it is
 * put, so one buffer serves every record.
 */
let staging = new Uint8Array(1 << 16);
function unshared(bytes: Uint8Array): Uint8Array {
  if (!(bytes.buffer instanceof SharedArrayBuffer)) return bytes;
  if (bytes.length > staging.length) staging = new Uint8Array(bytes.length);
  staging.set(bytes);
  return new Uint8Array(staging.buffer, 0, bytes.length);
}

/**
 * Rows kept for later, in the order given: copied into one growing buffer, since a copy of each
 * (an ArrayBuffer per row, ~8,000 in a 100k-event fill) cost several times as much.
 */
class HeldRows {
  private bytes = new Uint8Array(1 << 12);
  private used = 0;
  private readonly ids: string[] = [];
  private readonly ends: number[] = [];

  add(id: string, row: Uint8Array): void {
    if (this.used + row.length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(2 * this.bytes.length, this.used + row.length));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    this.bytes.set(row, this.used);
    this.used += row.length;
    this.ids.push(id);
    this.ends.push(this.used);
  }

  forEach(fn: (id: string, row: Uint8Array) => void): void {
    for (let i = 0, start = 0; i < this.ids.length; start = this.ends[i++]) fn(this.ids[i], this.bytes.subarray(start, this.ends[i]));
  }
}

/** The value of every index entry (its key is what it says). */
const PRESENT = new Uint8Array([1]);

/** A long fill writes what its helper thread folded (src/core/fill-folds.ts) every this many events it appends. */
const POLL_EVENTS = 1024;

/**
 * The key range of an issue's events (the end sorts after every 72-byte key of the issue); null
 * for a string that is not an issue id (an empty key would leave the range unbounded in lmdb).
 */
function issueRange(issueHex: string): { start: Buffer; end: Buffer } | null {
  const id = fromHex(issueHex, ISSUE_BYTES);
  return id && { start: Buffer.from(id), end: Buffer.concat([id, Buffer.alloc(LOG_KEY_BYTES - ISSUE_BYTES + 1, 0xff)]) };
}
/** The event id within a log key (for reports about a record that does not decode). */
export function eventIdOfKey(key: Uint8Array): string {
  return Buffer.from(key.length === LOG_KEY_BYTES ? logKeyEventId(key) : key).toString('hex');
}
/**
 * A value read from the store that does not decode: a few bytes of the file were overwritten (the
 * disk, a stray write), which is neither a bug in grit nor damage to the WAL, where the values
 * came from. The store is a cache, so the plan is to rebuild it.
 */
export function storeDamaged(path: string, what: string, err: unknown): GritError {
  const why = err instanceof Error ? err.message : String(err);
  return new GritError('io_error', `the store at ${path} is damaged: ${what} does not decode (${why})`, {
    details: { path, store_damaged: true, damage: `${what} does not decode` },
    suggestion: 'the store is a cache: run `grit doctor --fix` (or `grit rebuild`) to rebuild it from the WAL',
  });
}

const isCount = (v: unknown) => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);

/**
 * Which field of a stored meta has a value grit never writes, or null. A damaged page can still
 * decode (a byte changed inside a string): a WAL head or repository id that is not hex then reads
 * as the store of another repository, or of another WAL, instead of a damaged one.
 */
function metaProblem(m: Partial<StoreMeta> | undefined): string | null {
  if (m === undefined) return null;
  if (typeof m !== 'object' || m === null) return 'value';
  if (m.wal_head != null && !isOid(m.wal_head)) return 'wal_head';
  for (const k of ['event_count', 'events_since_rebuild'] as const) if (!isCount(m[k])) return k;
  if (m.last_rebuild_ts != null && !isCount(m.last_rebuild_ts)) return 'last_rebuild_ts';
  const r = m.repo;
  if (r != null && (typeof r !== 'object' || typeof r.git_dir !== 'string' || !(r.id === null || isRepositoryId(r.id)))) return 'repo';
  return null;
}

/** Whether a stored record sits under the key its content gives. */
export function keyMatches(key: Uint8Array, e: Event): boolean {
  return bytesEqual(key, logKey(e));
}

export interface StoreOptions {
  /**
   * Commit without fsync (a daemon's store, store-unsynced.ts): after a crash of the machine the
   * store is rebuilt from the WAL instead. Ignored where the machine's boot cannot be told.
   */
  unsynced?: boolean;
  /**
   * The repository the store is written for: an empty store (or one that records none) is marked
   * as built from it, and one built from another is never written (`apply` returns false).
   */
  repo?: RepoIdentity;
  /**
   * Which of two copies of one event the store keeps (integrity.ts `copyOrder`), made afresh for
   * each write that meets two; by default, the smaller signature (no keys known).
   */
  copyOrder?: () => CompareCopies;
  /**
   * core.sharedRepository's mode for a store inside `.git/grit` (shared-files.ts): its directory,
   * LMDB's data and lock files and the rebuild's copy are made so that every user of the group can
   * open the store (LMDB writes its lock file even to read). 0 (the default): the umask's.
   */
  sharedPerm?: number;
}

/**
 * The store as it was when `Store.withSnapshot` began, for a reader of several passes that must
 * agree (an export counts what it then writes). Each pass reads through a cursor, a record at a
 * time: nothing here holds more than one event or issue.
 */
export interface StoreSnapshot {
  meta(): StoreMeta;
  /** Every event's log key (log-key.ts), in log order, without reading the events. */
  logKeys(): Iterable<Buffer>;
  eventCount(): number;
  /**
   * The events whose log key `keep` takes (all of them without it), in log order: of the issues
   * `within` names (ids in id order), or of all. With `keep`, keys are walked and only the records
   * of kept keys read.
   */
  events(keep?: (key: Buffer) => boolean, within?: Iterable<string>): Iterable<Event>;
  issueCount(): number;
  /** Whether the store holds an issue under this id, from its key alone. */
  hasIssue(issueHex: string): boolean;
  /** The issues of these ids (all of them without), in the order given; an id the store does not hold is passed over. */
  issues(ids?: Iterable<string>): Iterable<Issue>;
}

export interface FillOptions {
  /** A fill of this many events or more folds on a helper thread too (src/core/fill-folds.ts; tests lower it). */
  foldThreadFrom?: number;
}

export class Store {
  readonly path: string;
  /** The actor directory holding the store. */
  private readonly dir: string;
  private readonly root: RootDatabase;
  /** The actor directory, when this store commits unsynced (flushed and unmarked on close). */
  private unsyncedIn: string | null = null;
  /** StoreOptions.repo. */
  private repo: RepoIdentity | null = null;
  /** StoreOptions.sharedPerm. */
  private sharedPerm = 0;
  /** StoreOptions.copyOrder. */
  private copyOrder: () => CompareCopies = () => copyOrder(() => new Keyring());
  /** Every applied event's record, under its `logKey`. */
  private readonly log: Database<Uint8Array, Buffer>;
  /** Per issue its projection (`Issue`), as plain CBOR. */
  private readonly issues: Database<Uint8Array, string>;
  /** Per issue the `IssueSummary` of its projection, as plain CBOR: written wherever its row is. */
  private readonly summaries: Database<Uint8Array, string>;
  /** Per issue, what folding newer events onto its stored projection needs (see `refold`), as plain CBOR. */
  private readonly foldStates: Database<Uint8Array, string>;
  /**
   * While a fill runs, the summaries it made so far, in id order: appended after every other row,
   * so that the table's pages lie together in the file (see `fill`).
   */
  private fillSummaries: HeldRows | null = null;
  /** Index tables: what they hold is their keys (`labelKey`, `depKey`), each under `PRESENT`. */
  private readonly labels: Database<Uint8Array, Uint8Array>;
  private readonly deps: Database<Uint8Array, string>;
  private readonly rdeps: Database<Uint8Array, string>;
  private readonly meta: Database<unknown, string>;
  /** File and project context (SPEC §2 last-writer-wins), kept apart from the issue tables. */
  readonly context: ContextTables;

  private constructor(dir: string, path: string, root: RootDatabase) {
    this.dir = dir;
    this.path = path;
    this.root = root;
    this.log = root.openDB({ name: 'issue_log', keyEncoding: 'binary', encoding: 'binary' });
    this.issues = root.openDB({ name: 'issues', encoding: 'binary' });
    this.summaries = root.openDB({ name: 'summaries', encoding: 'binary' });
    this.foldStates = root.openDB({ name: 'fold_states', encoding: 'binary' });
    this.labels = root.openDB({ name: 'labels', keyEncoding: 'binary', encoding: 'binary' });
    this.deps = root.openDB({ name: 'deps', encoding: 'binary' });
    this.rdeps = root.openDB({ name: 'rdeps', encoding: 'binary' });
    this.meta = root.openDB({ name: 'meta' });
    this.context = new ContextTables(root);
  }

  /**
   * Marks a new store with the current layout, and returns the layout of the store: LAYOUT_VERSION
   * for a new one, its mark for any other, undefined for one with a meta table and no mark (the
   * grits before layouts were marked).
   */
  private claimLayout(): unknown {
    const marked = this.meta.get('layout');
    if (marked === LAYOUT_VERSION) return marked;
    // Checked again and marked in one write transaction: another process may be creating the
    // same store right now, and a store it marked a moment ago is not an older one.
    // A page or two, in files just made on a disk noRoomForNewStore found room for them on.
    return this.transact(() => {
      const layout = this.meta.get('layout');
      if (layout !== undefined || this.meta.getKeysCount() > 0) return layout;
      this.meta.putSync('layout', LAYOUT_VERSION);
      return LAYOUT_VERSION;
    }, false);
  }

  /**
   * Opens (creating) the store in an actor directory. A data file that could not be mapped safely
   * (truncated: see store-file.ts), or that took unsynced commits before the machine restarted
   * (store-unsynced.ts), is refused with an io_error whose details carry `store_damaged: true`,
   * before LMDB touches it; a store of another layout with one carrying
   * `store_outdated: true`. Callers may discard either and build a new one from the WAL.
   */
  static open(actorDir: string, opts: StoreOptions = {}): Store {
    const perm = opts.sharedPerm ?? 0;
    mkdirShared(actorDir, perm);
    const path = storeFile(actorDir);
    const inTheWay = storeFileInTheWay(path);
    if (inTheWay) throw inTheWay;
    const damage = storeFileDamage(path);
    const unflushed = damage ? null : unflushedReason(actorDir);
    if (damage || unflushed) {
      const why = damage ? `is damaged: ${damage}` : `may be incomplete: ${unflushed}`;
      throw new GritError('io_error', `the store at ${path} ${why}`, {
        details: { path, store_damaged: true, damage: damage ?? unflushed },
        suggestion: 'the store is a cache: run `grit doctor --fix` to rebuild it from the WAL',
      });
    }
    const noRoom = noRoomForNewStore(actorDir, path);
    if (noRoom) throw noRoom;
    // Before LMDB opens them: lmdb-js crashes the whole process (SIGSEGV) on a lock file it may not write.
    const denied = writeDenied(actorDir, storeFiles(path));
    if (denied) throw denied;
    const unsynced = opts.unsynced === true && markUnsynced(actorDir, perm);
    let store: Store;
    try {
      // LMDB makes its files with the umask's mode: made here first (empty, which LMDB initializes),
      // by whichever process gets there first, the one that may chmod them. 0664 is LMDB's own mode.
      if (perm !== 0) for (const file of storeFiles(path)) createShared(file, perm, 0o664);
      // noMetaSync: one fsync per commit instead of two. After a power cut the store may lack its
      // last transactions but is never corrupt (LMDB keeps ACI), and it records the WAL head it
      // reflects, so the next command replays what is missing from the WAL (docs/decisions.md).
      store = new Store(actorDir, path, open({ path, maxDbs: 16, compression: false, noMetaSync: true, noSync: unsynced }));
      if (unsynced) store.unsyncedIn = actorDir;
      store.sharedPerm = perm;
      store.repo = opts.repo ?? null;
      if (opts.copyOrder) store.copyOrder = opts.copyOrder;
    } catch (err) {
      throw storeWriteError(actorDir, path, err) ?? new GritError('db_busy', `cannot open the store at ${path}: ${(err as Error).message}`, {
        details: { path },
        suggestion: 'run `grit doctor --fix` to rebuild the store from the WAL',
      });
    }
    const layout = store.claimLayout();
    if (layout !== LAYOUT_VERSION) {
      // Nothing written and no reader left open: closing is immediate, and the file may go.
      void store.close();
      throw new GritError('io_error', `the store at ${path} has ${describeLayout(layout)}`, {
        details: { path, store_outdated: true, layout: layout ?? null },
        suggestion: 'the store is a cache: the next command replaces it with one built from the WAL',
      });
    }
    return store;
  }

  /** Deletes an actor's store files (the caller rebuilds from the WAL). Never while it is open. */
  static discard(actorDir: string): void {
    const file = storeFile(actorDir);
    for (const path of [...storeFiles(file), join(actorDir, UNSYNCED_MARKER)]) rmSync(path, { force: true });
  }

  /** What `decode` gives for a value read from the store, or the `storeDamaged` error. */
  private decoded<T>(what: string, decode: () => T): T {
    try {
      return decode();
    } catch (err) {
      throw storeDamaged(this.path, what, err);
    }
  }

  private event(key: Uint8Array, value: Uint8Array): Event {
    return this.decoded(`event ${eventIdOfKey(key)}`, () => decodeStored(value));
  }

  getMeta(at?: { transaction?: Transaction }): StoreMeta {
    const meta = this.decoded('its meta', () => {
      const value = this.meta.get('state', at) as Partial<StoreMeta> | undefined;
      const problem = metaProblem(value);
      if (problem) throw new Error(`its ${problem} is not one grit writes`);
      return value;
    });
    return { ...EMPTY_META, ...(meta ?? {}) };
  }

  /**
   * Runs `read` on the store as it is now, whatever is written meanwhile (by this process or
   * another) until `read` settles. LMDB reuses no page freed while a snapshot is held, so one is
   * held for one command's reads only.
   */
  async withSnapshot<T>(read: (snapshot: StoreSnapshot) => T | Promise<T>): Promise<T> {
    const transaction = this.root.useReadTransaction();
    try {
      return await read(this.snapshotIn(transaction));
    } finally {
      transaction.done();
    }
  }

  /** The store as the write transaction open now sees it (`readApplied`'s `read`), until that transaction ends. */
  snapshotInWrite(): StoreSnapshot {
    // lmdb reads through the write transaction open in this thread, whatever transaction it is given.
    return this.snapshotIn(undefined);
  }

  private snapshotIn(transaction: Transaction | undefined): StoreSnapshot {
    const { log, issues } = this;
    // Fresh options for each read: lmdb writes into the object it is given (getCount sets onlyCount).
    const at = () => ({ transaction });
    const event = (key: Uint8Array, value: Uint8Array) => this.event(key, value);
    const issue = (key: string, value: Uint8Array) => this.issue(key, value);
    function* eventsIn(range: { start?: Buffer; end?: Buffer }, keep: ((key: Buffer) => boolean) | undefined): Iterable<Event> {
      if (!keep) {
        for (const { key, value } of log.getRange({ ...at(), ...range })) yield event(key, value);
        return;
      }
      // A range read copies every value before `keep` could pass it over: keys first, then the
      // record of each kept one.
      for (const key of log.getKeys({ ...at(), ...range })) {
        if (!keep(key)) continue;
        const value = log.get(key, at());
        if (value !== undefined) yield event(key, value);
      }
    }
    return {
      meta: () => this.getMeta(at()),
      logKeys: () => log.getKeys(at()),
      eventCount: () => log.getCount(at()),
      *events(keep, within) {
        if (!within) {
          yield* eventsIn({}, keep);
          return;
        }
        for (const id of within) {
          const range = issueRange(id);
          if (range) yield* eventsIn(range, keep);
        }
      },
      issueCount: () => issues.getKeysCount(at()),
      hasIssue(issueHex) {
        for (const key of issues.getKeys({ ...at(), start: issueHex, limit: 1 })) return key === issueHex;
        return false;
      },
      *issues(ids) {
        if (!ids) {
          for (const { key, value } of issues.getRange(at())) yield issue(key, value);
          return;
        }
        for (const id of ids) {
          const row = issues.get(id, at());
          if (row !== undefined) yield issue(id, row);
        }
      },
    };
  }

  private issue(issueHex: string, row: Uint8Array): Issue {
    return this.decoded(`issue ${issueHex}`, () => decodeRow(row) as Issue);
  }

  getIssue(issueHex: string): Issue | undefined {
    const row = this.issues.get(issueHex);
    return row && this.issue(issueHex, row);
  }

  /** Every issue, in id order. */
  private *allIssues(): Iterable<Issue> {
    for (const { key, value } of this.issues.getRange()) yield this.issue(key, value);
  }

  *issueIds(): Iterable<string> {
    for (const key of this.issues.getKeys()) yield key;
  }

  /**
   * The ids of the issues that start with `prefix` (not empty), in id order. Rows are keyed by
   * their id as a string, so those ids are the keys from `prefix` up to the string after every
   * one of them (its last character's successor): only that range of keys is read.
   */
  issueIdsStartingWith(prefix: string): Iterable<string> {
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    return this.issues.getKeys({ start: prefix, end });
  }

  /**
   * How many issues the store holds: the entry count LMDB keeps for the table (in the read or
   * write transaction open now), so no row is read.
   */
  issueCount(): number {
    return (this.issues.getStats() as { entryCount: number }).entryCount;
  }

  private summary(issueHex: string, row: Uint8Array): IssueSummary {
    return this.decoded(`the summary of issue ${issueHex}`, () => decodeRow(row) as IssueSummary);
  }

  /** An issue's summary, without reading its whole row. */
  getSummary(issueHex: string): IssueSummary | undefined {
    const row = this.summaries.get(issueHex);
    return row && this.summary(issueHex, row);
  }

  /** The summaries of the issues (of one label), in id order, from the summary table alone. */
  listIssues(filter: { state?: string; label?: string } = {}): IssueSummary[] {
    const out: IssueSummary[] = [];
    const consider = (summary: IssueSummary | undefined) => {
      if (summary && (!filter.state || summary.state === filter.state)) out.push(summary);
    };
    if (filter.label) {
      const range = labelRange(filter.label);
      for (const key of this.labels.getKeys(range)) {
        // Each key there is `start` and a 32-character id (a label holding NUL is keyed by its hash); the length check guards the slice.
        if (key.length === range.start.length + 32) consider(this.getSummary(Buffer.from(key.subarray(range.start.length)).toString('latin1')));
      }
    } else {
      for (const { key, value } of this.summaries.getRange()) consider(this.summary(key, value));
    }
    return out;
  }

  /**
   * Where the summary table disagrees with `summaries`, made of the issues (for `db check`, which
   * passes those of the issues that decode): a summary missing, different from its issue's, or of
   * no issue.
   */
  summaryProblems(summaries: Iterable<IssueSummary>): string[] {
    const problems: string[] = [];
    const expected = new Map<string, IssueSummary>();
    for (const summary of summaries) expected.set(summary.issue_id, summary);
    for (const { key, value } of this.summaries.getRange()) {
      const wanted = expected.get(key);
      if (!wanted) {
        // A row that is there but did not decode is reported as corrupt already.
        if (!this.issues.doesExist(key)) problems.push(`the summary table holds issue ${key}, which the store does not`);
        continue;
      }
      expected.delete(key);
      let summary: IssueSummary | null = null;
      try {
        summary = this.summary(key, value);
      } catch {
        // A summary that does not decode is one that differs: the rebuild that mends it is the same.
      }
      if (!summary || !isDeepStrictEqual(summary, wanted)) problems.push(`the summary of issue ${key} differs from its projection`);
    }
    for (const id of expected.keys()) problems.push(`the summary table lacks issue ${id}`);
    return problems;
  }

  /** The dependencies an issue records (its `dependencies`), in key order. */
  dependenciesOf(issueHex: string): DepEdge[] {
    return [...this.deps.getKeys(depRange(issueHex))].map((k) => edgeOfKey(k, false));
  }

  /** The dependencies other issues record pointing at this one. */
  dependentsOf(issueHex: string): DepEdge[] {
    return [...this.rdeps.getKeys(depRange(issueHex))].map((k) => edgeOfKey(k, true));
  }

  hasDependency(e: DepEdge): boolean {
    return this.deps.doesExist(depKey(e.issue_id, e.target, e.dep_type));
  }

  *allDependencies(): Iterable<DepEdge> {
    for (const k of this.deps.getKeys()) yield edgeOfKey(k, false);
  }

  /**
   * Issues that must come right after this one: those it blocks and those that depend on it.
   * Reads two index ranges, so a cycle check visits only the part of the graph it reaches.
   */
  orderingSuccessors(issueHex: string): string[] {
    const out = new Set<string>();
    for (const e of this.dependenciesOf(issueHex)) if (e.dep_type === 'blocks') out.add(e.target);
    for (const e of this.dependentsOf(issueHex)) if (e.dep_type === 'depends_on') out.add(e.issue_id);
    return [...out];
  }

  /**
   * Where the dependency indexes disagree with the projected dependencies of `issues` (for `db
   * check`, which passes the issues that decode).
   */
  depIndexProblems(issues: Iterable<Pick<Issue, 'issue_id' | 'dependencies'>> = this.allIssues()): string[] {
    const expected = new Set<string>();
    for (const issue of issues) {
      for (const d of issue.dependencies) expected.add(depKey(issue.issue_id, d.target, d.dep_type));
    }
    const forward = new Set(this.deps.getKeys());
    const reverse = new Set([...this.rdeps.getKeys()].map((k) => {
      const e = edgeOfKey(k, true);
      return depKey(e.issue_id, e.target, e.dep_type);
    }));
    const problems: string[] = [];
    for (const [name, index] of [['forward', forward], ['reverse', reverse]] as const) {
      for (const k of expected) if (!index.has(k)) problems.push(`the ${name} dependency index lacks ${k}`);
      for (const k of index) if (!expected.has(k)) problems.push(`the ${name} dependency index holds ${k}, which no issue records`);
    }
    return problems;
  }

  /** An issue's events, in event order. */
  issueEventsOf(issueHex: string): Event[] {
    return this.mapIssueEvents(issueHex, (e) => e);
  }

  /**
   * `f` of each of an issue's events, in event order, each event dropped once mapped: `issue show`
   * of 32k comments held every decoded event beside its JSON.
   */
  mapIssueEvents<T>(issueHex: string, f: (e: Event) => T): T[] {
    const range = issueRange(issueHex);
    const out: T[] = [];
    if (range) for (const { key, value } of this.log.getRange(range)) out.push(f(this.event(key, value)));
    return out;
  }

  /** The newest event of an issue in event order, without decoding the others. */
  lastEventOf(issueHex: string): Event | undefined {
    return this.newestEventOf(issueHex, () => true);
  }

  /** The newest event of an issue in event order that `test` accepts, decoding from the newest back to it. */
  newestEventOf(issueHex: string, test: (e: Event) => boolean): Event | undefined {
    const range = issueRange(issueHex);
    if (!range) return undefined;
    for (const { key, value } of this.log.getRange({ start: range.end, end: range.start, reverse: true })) {
      const e = this.event(key, value);
      if (test(e)) return e;
    }
    return undefined;
  }

  /** Whether the store holds this event (a copy of it, with whatever signature). */
  holds(e: Event): boolean {
    return this.log.doesExist(logKey(e));
  }

  /** The copy of this event the store holds, if any (its signature may be another's). */
  heldCopy(e: Event): Event | undefined {
    const key = logKey(e);
    const value = this.log.get(key);
    return value === undefined ? undefined : this.event(key, value);
  }

  *allEvents(): Iterable<Event> {
    for (const { key, value } of this.log.getRange()) yield this.event(key, value);
  }

  /** Stored event records as raw bytes, by key: for `db check`, which must survive a bad record. */
  *rawEvents(): Iterable<{ key: Buffer; value: Uint8Array }> {
    for (const { key, value } of this.log.getRange()) yield { key, value };
  }

  /**
   * The repository a write on top of `meta` records: this store's (`StoreOptions.repo`) when the
   * store records none yet, or false when it records another (the caller finds out why).
   */
  private repoOver(meta: StoreMeta): RepoIdentity | null | false {
    if (this.repo === null || meta.repo === null) return this.repo ?? meta.repo;
    return sameRepo(meta.repo, this.repo) ? meta.repo : false;
  }

  /**
   * Applies events read from the WAL up to `walHead` in one write transaction. `fromHead` is
   * the head the caller started reading at: if another process moved the store meanwhile,
   * nothing is written and false is returned so the caller can read again.
   */
  apply(events: readonly Event[], fromHead: string | null, walHead: string | null): boolean {
    return this.transact(() => this.applyInTxn(events, fromHead, walHead));
  }

  /**
   * What `read` gives on the store with `events` applied as `apply` would apply them, though they
   * are never written: applied in a write transaction that is then aborted, `read` run inside it
   * (LMDB reads in a write transaction see its writes). Until it commits, LMDB holds a
   * transaction's pages in memory, so this works on a disk too full to take them
   * (RepoContext.read). Null, having run nothing, where `apply` would return false.
   */
  readApplied<T>(events: readonly Event[], fromHead: string | null, walHead: string | null, read: () => T): { value: T } | null {
    let answer: { value: T } | null = null;
    this.root.transactionSync(() => {
      if (this.applyInTxn(events, fromHead, walHead)) answer = { value: read() };
      return ABORT;
    });
    return answer;
  }

  /** `apply`'s work, in the write transaction open now. */
  private applyInTxn(events: readonly Event[], fromHead: string | null, walHead: string | null): boolean {
    const meta = this.getMeta();
    const repo = this.repoOver(meta);
    if (meta.wal_head !== fromHead || repo === false) return false;
    // Into an empty store (a rebuild's first batch) every event of an issue is among `events`.
    const empty = meta.event_count === 0;
    let added = 0;
    for (const [id, fresh] of this.putNewEvents(events, empty)) {
      added += fresh.length;
      // Context events fold into their own tables (putNewEvents); they never make an issue.
      const issueEvents = fresh.filter((e) => !ContextTables.isContextEvent(e));
      if (issueEvents.length > 0) this.refold(id, issueEvents, empty, fresh);
    }
    // Applying onto an empty store is a full build: the rebuild counters of `db stats` start here.
    const fresh = isEmptyStore(meta);
    this.meta.putSync('state', {
      ...meta,
      repo,
      wal_head: walHead,
      event_count: meta.event_count + added,
      events_since_rebuild: fresh ? 0 : meta.events_since_rebuild + added,
      last_rebuild_ts: fresh ? Date.now() : meta.last_rebuild_ts,
    });
    return true;
  }

  /**
   * Runs `fn` in a write transaction. A commit that fails for want of space (or permission) is
   * said as such (disk-full.ts): LMDB's own error says "Input/output error" for a full disk. On a
   * disk with next to nothing free it is refused before LMDB tries (`noRoomForStoreWrite`: a page
   * write that fails outright overruns lmdb-js's heap), unless `roomCheck` is false.
   */
  private transact<T>(fn: () => T, roomCheck = true): T {
    const refused = pastFileSizeLimit(this.path) ?? (roomCheck ? noRoomForStoreWrite(this.dir, this.path) : null);
    if (refused) throw refused;
    try {
      return this.root.transactionSync(fn);
    } catch (err) {
      // When a page write fails outright, lmdb-js prints `Write error: …` on stderr with no line
      // end, and its error says "Attempting to write page": the line is ended here, so that what
      // grit says next is not run into it.
      if (/Attempting to write page/.test((err as Error | null)?.message ?? '')) process.stderr.write('\n');
      throw storeWriteError(this.dir, this.path, err) ?? err;
    }
  }

  /**
   * Writes what `fill` gathered (a snapshot's events, or a replay's) into an empty store, in one
   * write transaction, as `apply` of the same events would: the log in key order (appended, as
   * LMDB needs no search for keys that come in order), then each issue's fold, from its records
   * decoded again, and index entries, batch by batch (src/core/fill-folds.ts: for a long fill a
   * helper thread folds while the log is written). False, and nothing written, when the store is
   * not empty. The summaries go last, all together: LMDB takes a transaction's new pages in the
   * order it writes them, and written beside each issue row they lay one summary page among a few
   * dozen pages of issue rows and the log, so a listing faulted in most of the file (the kernel maps
   * a page's neighbours with it): 100 MB against 6 MB at 20k issues.
   */
  fill(fill: StoreFill, walHead: string | null, { foldThreadFrom }: FillOptions = {}): boolean {
    const folds = new FillFolds(fill.size, fill.recordSpans.buffers, foldThreadFrom);
    try {
      const plan = fill.plan();
      folds.begin({ plan, ...fill.recordSpans });
      const write = (batch: FoldedBatch) => this.writeBatch(fill, plan, batch);
      return this.transact(() => {
        const meta = this.getMeta();
        if (!isEmptyStore(meta)) return false;
        const summaries = (this.fillSummaries = new HeldRows());
        plan.order.forEach((n, k) => {
          // Appending a key that does not sort last fails: never let that pass silently.
          if (!appendSync(this.log, fill.key(n), unshared(fill.record(n)))) throw new GritError('internal_error', `the store refused event ${eventIdOfKey(fill.key(n))} out of order`);
          if (k % POLL_EVENTS === 0) folds.poll(write);
        });
        folds.finish(write);
        this.fillSummaries = null;
        summaries.forEach((id, row) => appendRow(this.summaries, id, row));
        this.meta.putSync('state', { ...meta, repo: this.repo, wal_head: walHead, event_count: plan.order.length, events_since_rebuild: 0, last_rebuild_ts: Date.now() });
        return true;
      });
    } finally {
      this.fillSummaries = null;
      folds.stop();
    }
  }

  /**
   * Writes a batch of a fill's issues, folded (`foldBatch`). Batches come in order (`FillFolds`)
   * and the plan's issues are in id order, so their rows are appended, as the log's are.
   */
  private writeBatch(fill: StoreFill, plan: FillPlan, { batch, rows, bounds, labelKeys, depKeys, rdepKeys }: FoldedBatch): void {
    let at = 0;
    for (let j = 0; j < bounds.length; j += BOUNDS_PER_ISSUE) {
      const i = batch * FOLD_BATCH_ISSUES + j / BOUNDS_PER_ISSUE;
      const [issueEnd, summaryEnd, stateEnd] = [bounds[j], bounds[j + 1], bounds[j + 2]];
      if (issueEnd === INLINE) this.fillIssue(fill, plan, i);
      if (issueEnd < 0) continue;
      const id = plan.ids[i];
      appendRow(this.issues, id, rows.subarray(at, issueEnd));
      this.putSummary(id, rows.subarray(issueEnd, summaryEnd));
      if (stateEnd > summaryEnd) appendRow(this.foldStates, id, rows.subarray(summaryEnd, stateEnd));
      at = stateEnd;
    }
    for (const k of labelKeys) this.labels.putSync(k, PRESENT);
    for (const k of depKeys) this.deps.putSync(k, PRESENT);
    for (const k of rdepKeys) this.rdeps.putSync(k, PRESENT);
  }

  /**
   * Writes issue `i` of a fill the way `foldBatch` leaves to this thread: its context events
   * applied to their tables, and a record that does not decode reported (a wal_error, which
   * aborts the fill).
   */
  private fillIssue(fill: StoreFill, plan: FillPlan, i: number): void {
    const events: Event[] = [];
    const context: Event[] = [];
    for (let k = plan.starts[i]; k < plan.starts[i + 1]; k++) {
      const n = plan.order[k];
      const e = decodeFilled(fill.record(n), fill.key(n));
      // Context events fold into their own tables (as in `putNewEvents`); they never make an issue.
      (ContextTables.isContextEvent(e) ? context : events).push(e);
    }
    this.context.applyAll(context);
    if (events.length > 0) this.writeFolded(plan.ids[i], false, [], [], foldIssueState(events));
  }

  /**
   * Stores the events the store does not hold yet (folding context events into their tables), in
   * key order: LMDB then fills its pages instead of splitting them half empty, and copies of one
   * event within `events` come together, the one to keep first (`StoreOptions.copyOrder`). A copy
   * better than the one stored replaces its record (the signature is no part of any fold). Returns
   * the new events by issue, issues in id order and each issue's events in event order.
   */
  private putNewEvents(events: readonly Event[], empty: boolean): Map<string, Event[]> {
    const byIssue = new Map<string, Event[]>();
    let previous: Buffer | undefined;
    let lastAdded: Buffer | undefined;
    let list: Event[] = [];
    const context: Event[] = [];
    let order: CompareCopies | undefined;
    const compare: CompareCopies = (a, b) => (order ??= this.copyOrder())(a, b);
    for (const { e, key } of sortedByKey(events, compare)) {
      if (previous !== undefined && previous.equals(key)) continue;
      previous = key;
      const stored = empty ? undefined : this.log.get(key);
      if (stored !== undefined) {
        if (compare(e, this.event(key, stored)) < 0) this.log.putSync(key, unshared(recordBytes(e)));
        continue;
      }
      this.log.putSync(key, unshared(recordBytes(e))); // a binary table takes any Uint8Array: no Buffer made per event
      if (ContextTables.isContextEvent(e)) context.push(e);
      if (lastAdded === undefined || lastAdded.compare(key, 0, ISSUE_BYTES, 0, ISSUE_BYTES) !== 0) byIssue.set(toHex(e.issue_id), (list = []));
      lastAdded = key;
      list.push(e);
    }
    this.context.applyAll(context);
    return byIssue;
  }

  /**
   * Folds an issue's new events (in event order) into its projection and index entries: onto its
   * stored fold when they all sort after the events folded so far, else from all its events
   * (read back, unless the store was empty and `fresh` is all of them, or the issue is new to
   * the store: see `eventsOfNew`). `added` is every event of the issue this apply stored.
   */
  private refold(issueHex: string, fresh: readonly Event[], empty: boolean, added: readonly Event[]): void {
    const before = empty ? undefined : this.getIssue(issueHex);
    const stateRow = before && this.foldStates.get(issueHex);
    const state = stateRow && this.decoded(`the fold state of issue ${issueHex}`, () => decodeRow(stateRow) as FoldState);
    // The index entries to replace, taken before `foldMore` updates the stored issue in place.
    const labelsBefore = before?.labels ?? [];
    const depsBefore = before?.dependencies ?? [];
    const folded =
      (state && before && foldMore({ issue: before, state }, fresh)) ??
      foldIssueState(empty ? fresh : before ? this.issueEventsOf(issueHex) : this.eventsOfNew(issueHex, added));
    this.writeFolded(issueHex, before !== undefined, labelsBefore, depsBefore, folded);
  }

  /**
   * All the log holds of an issue that has no projection yet: `added` when the log holds nothing
   * else of it (counted by key, nothing decoded), which is every issue a pull creates; else read
   * back (events of it stored earlier, before its IssueCreated). Decoding the records just
   * written took a fifth of a 10k-event apply.
   */
  private eventsOfNew(issueHex: string, added: readonly Event[]): readonly Event[] {
    const range = issueRange(issueHex);
    return range && this.log.getKeysCount(range) === added.length ? added : this.issueEventsOf(issueHex);
  }

  /** Writes an issue's new fold (null: it has no IssueCreated) and its index entries. */
  private writeFolded(
    issueHex: string,
    existed: boolean,
    labelsBefore: readonly string[],
    depsBefore: readonly Dependency[],
    folded: Folded | null,
  ): void {
    const after = folded?.issue;
    for (const l of labelsBefore) if (!after?.labels.includes(l)) this.labels.removeSync(labelKey(l, issueHex));
    for (const l of after?.labels ?? []) if (!labelsBefore.includes(l)) this.labels.putSync(labelKey(l, issueHex), PRESENT);
    this.indexDeps(issueHex, without(depsBefore, after?.dependencies ?? []), false);
    this.indexDeps(issueHex, without(after?.dependencies ?? [], depsBefore), true);
    if (!folded) {
      if (existed) {
        this.issues.removeSync(issueHex);
        this.summaries.removeSync(issueHex);
      }
      return;
    }
    const rows = rowsOf(folded);
    this.issues.putSync(issueHex, rows.issue);
    this.putSummary(issueHex, rows.summary);
    // Event counts only grow: once kept, a state stays and is kept current.
    if (rows.state) this.foldStates.putSync(issueHex, rows.state);
  }

  /** Writes an issue's summary row, or during a fill keeps a copy of it for the fill's end. */
  private putSummary(issueHex: string, row: Uint8Array): void {
    if (this.fillSummaries) this.fillSummaries.add(issueHex, row);
    else this.summaries.putSync(issueHex, row);
  }

  /** Adds (or removes) dependencies of an issue to (from) both indexes. */
  private indexDeps(issueHex: string, dependencies: readonly Dependency[], present: boolean): void {
    for (const d of dependencies) {
      const forward = depKey(issueHex, d.target, d.dep_type);
      const reverse = depKey(d.target, issueHex, d.dep_type);
      if (present) {
        this.deps.putSync(forward, PRESENT);
        this.rdeps.putSync(reverse, PRESENT);
      } else {
        this.deps.removeSync(forward);
        this.rdeps.removeSync(reverse);
      }
    }
  }

  /** Records that a rebuild has finished: the rebuild counters of `db stats` restart here. */
  markRebuilt(): void {
    this.transact(() => {
      this.meta.putSync('state', { ...this.getMeta(), last_rebuild_ts: Date.now(), events_since_rebuild: 0 });
    });
  }

  /**
   * The repository this store's writes are now made in (`StoreOptions.repo`): a long-lived
   * context whose repository was replaced at its path. Nothing is written here; the next apply
   * finds the store's recorded repository another one, and the context judges it (a rebuild).
   */
  serveRepository(repo: RepoIdentity): void {
    this.repo = repo;
  }

  /** Records `repo` as the repository the store was built in: the one it recorded, moved (repo-identity.ts `movedHere`). */
  recordMove(repo: RepoIdentity): void {
    this.transact(() => {
      this.meta.putSync('state', { ...this.getMeta(), repo });
    });
  }

  /** Empties every table; the caller replays the WAL afterwards. */
  clear(): void {
    this.transact(() => {
      for (const db of [this.log, this.issues, this.summaries, this.foldStates, this.labels, this.deps, this.rdeps]) db.clearSync();
      this.context.clear();
      this.meta.putSync('state', { ...EMPTY_META, last_rebuild_ts: Date.now() });
    });
  }

  /** Copies the store as it is now into the file `path` (one there is replaced), made as the store's own (it may be put back in its place). */
  async copyTo(path: string): Promise<void> {
    rmSync(path, { force: true });
    try {
      await this.root.backup(path, false);
      adjustSharedPerm(path, this.sharedPerm);
    } catch (err) {
      throw new GritError('io_error', `cannot copy the store to ${path}: ${(err as Error).message}`, {
        details: { path },
        suggestion: 'check the free space and permissions of the actor directory',
      });
    }
  }

  async close(): Promise<void> {
    await this.root.close();
    try {
      if (this.unsyncedIn) flushAndUnmark(this.unsyncedIn, this.path);
    } catch {
      // The record stays: opened after a restart, the store is rebuilt, which is the safe side.
    }
  }
}

/** Events with their log keys, in key order; copies of one event (one key) in `copies` order. */
function sortedByKey(events: readonly Event[], copies: CompareCopies): { e: Event; key: Buffer; head: number }[] {
  // Comparing the first four bytes (of the issue id) as a number settles most pairs of events of
  // different issues without a byte loop.
  const keyed = events.map((e) => {
    const id = e.issue_id;
    return { e, key: logKey(e), head: ((id[0] << 24) | (id[1] << 16) | (id[2] << 8) | id[3]) >>> 0 };
  });
  keyed.sort((a, b) => a.head - b.head || Buffer.compare(a.key, b.key) || copies(a.e, b.e));
  return keyed;
}

/** The dependencies of `a` that are not in `b`. */
function without(a: readonly Dependency[], b: readonly Dependency[]): Dependency[] {
  return a.filter((d) => !b.some((o) => o.target === d.target && o.dep_type === d.dep_type));
}

/**
 * A record of a fill decoded, its id trusted: a replay's records were not decoded before
 * (`StoreFill.addRecords`), so what is wrong with one is a wal_error, which aborts the fill.
 */
function decodeFilled(record: Uint8Array, key: Buffer): Event {
  try {
    return decodeStored(record);
  } catch (err) {
    throw walError(`event ${eventIdOfKey(key)} in the WAL is not valid: ${(err as Error).message}`, { event_id: eventIdOfKey(key) });
  }
}
