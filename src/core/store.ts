/**
 * The materialized view of one actor: an LMDB environment holding every applied event,
 * the folded issue projections and the indexes that commands read. It is a cache of the
 * WAL: everything here can be rebuilt from `refs/grit/wal`.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { decodeStrict } from './cbor.js';
import type { DepEdge } from './deps.js';
import { ContextTables } from './context-store.js';
import { GritError } from './errors.js';
import { recordBytes } from './chunk.js';
import { eventFromRecord, type Event } from './event.js';
import { toHex } from './hex.js';
import type { DepType } from './kinds.js';
import { foldIssue, summarize, type Issue, type IssueSummary } from './projection.js';
import { storeFileDamage } from './store-file.js';

export interface StoreMeta {
  wal_head: string | null;
  event_count: number;
  last_rebuild_ts: number | null;
  events_since_rebuild: number;
}

const EMPTY_META: StoreMeta = { wal_head: null, event_count: 0, last_rebuild_ts: null, events_since_rebuild: 0 };

/**
 * Dependency index keys: `deps` holds `issue:target:type` (what an issue records), `rdeps` the
 * same edge as `target:issue:type` (who points at an issue). Not NUL-separated: lmdb's key
 * encoding reads a string with several NULs back as an array.
 */
const SEP = ':';
const depKey = (from: string, to: string, type: DepType): string => `${from}${SEP}${to}${SEP}${type}`;
const depRange = (id: string) => ({ start: `${id}:`, end: `${id};` });
function edgeOfKey(key: string, reversed: boolean): DepEdge {
  const [a, b, type] = key.split(SEP);
  const dep_type = type as DepType;
  return reversed ? { issue_id: b, target: a, dep_type } : { issue_id: a, target: b, dep_type };
}
/** Bumped when the dependency indexes change shape: an older store rebuilds them on open. */
const DEP_INDEX_VERSION = 1;

/** Keys of the issue→events index sort in SPEC §2 event order within an issue. */
function eventIndexKey(e: Event): string {
  return `${toHex(e.issue_id)}:${e.ts_unix_ms.toString().padStart(16, '0')}:${toHex(e.actor)}:${toHex(e.event_id)}`;
}

export class Store {
  readonly path: string;
  private readonly root: RootDatabase;
  private readonly events: Database<Buffer, Buffer>;
  private readonly issueEvents: Database<Buffer, string>;
  private readonly issues: Database<Issue, string>;
  private readonly labels: Database<true, string>;
  private readonly deps: Database<true, string>;
  private readonly rdeps: Database<true, string>;
  private readonly meta: Database<unknown, string>;
  /** File and project context (SPEC §2 last-writer-wins), kept apart from the issue tables. */
  readonly context: ContextTables;

  private constructor(path: string, root: RootDatabase) {
    this.path = path;
    this.root = root;
    this.events = root.openDB({ name: 'events', keyEncoding: 'binary', encoding: 'binary' });
    this.issueEvents = root.openDB({ name: 'issue_events', encoding: 'binary' });
    this.issues = root.openDB({ name: 'issues' });
    this.labels = root.openDB({ name: 'labels' });
    this.deps = root.openDB({ name: 'deps' });
    this.rdeps = root.openDB({ name: 'rdeps' });
    this.meta = root.openDB({ name: 'meta' });
    this.context = new ContextTables(root);
    this.ensureDepIndex();
  }

  /** A store written before the dependency indexes existed gets them from its issues, once. */
  private ensureDepIndex(): void {
    if (this.meta.get('dep_index') === DEP_INDEX_VERSION) return;
    this.root.transactionSync(() => {
      this.deps.clearSync();
      this.rdeps.clearSync();
      for (const { value } of this.issues.getRange()) this.indexDeps(value.issue_id, value, true);
      this.meta.putSync('dep_index', DEP_INDEX_VERSION);
    });
  }

  /**
   * Opens (creating) the store in an actor directory. A data file that could not be mapped safely
   * (truncated: see store-file.ts) is refused with an io_error whose details carry
   * `store_damaged: true`, before LMDB touches it; callers may discard it and build a new one.
   */
  static open(actorDir: string): Store {
    mkdirSync(actorDir, { recursive: true });
    const path = join(actorDir, 'store.mdb');
    const damage = storeFileDamage(path);
    if (damage) {
      throw new GritError('io_error', `the store at ${path} is damaged: ${damage}`, {
        details: { path, store_damaged: true, damage },
        suggestion: 'the store is a cache: run `grit doctor --fix` to rebuild it from the WAL',
      });
    }
    try {
      // noMetaSync: one fsync per commit instead of two. After a power cut the store may lack its
      // last transactions but is never corrupt (LMDB keeps ACI), and it records the WAL head it
      // reflects, so the next command replays what is missing from the WAL (docs/decisions.md).
      return new Store(path, open({ path, maxDbs: 16, compression: false, noMetaSync: true }));
    } catch (err) {
      throw new GritError('db_busy', `cannot open the store at ${path}: ${(err as Error).message}`, {
        details: { path },
        suggestion: 'run `grit doctor --fix` to rebuild the store from the WAL',
        exitCode: 5,
      });
    }
  }

  /** Deletes an actor's store files (the caller rebuilds from the WAL). Never while it is open. */
  static discard(actorDir: string): void {
    for (const f of ['store.mdb', 'store.mdb-lock']) rmSync(join(actorDir, f), { force: true });
  }

  getMeta(): StoreMeta {
    return { ...EMPTY_META, ...((this.meta.get('state') as Partial<StoreMeta>) ?? {}) };
  }

  getIssue(issueHex: string): Issue | undefined {
    return this.issues.get(issueHex);
  }

  *issueIds(): Iterable<string> {
    for (const key of this.issues.getKeys()) yield key;
  }

  listIssues(filter: { state?: string; label?: string } = {}): IssueSummary[] {
    const out: IssueSummary[] = [];
    const consider = (issue: Issue | undefined) => {
      if (issue && (!filter.state || issue.state === filter.state)) out.push(summarize(issue));
    };
    if (filter.label) {
      const prefix = `${filter.label}\u0000`;
      for (const key of this.labels.getKeys({ start: prefix, end: `${filter.label}\u0001` })) {
        consider(this.issues.get(key.slice(prefix.length)));
      }
    } else {
      for (const { value } of this.issues.getRange()) consider(value);
    }
    return out;
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

  /** Where the dependency indexes disagree with the issues' projected dependencies (for `db check`). */
  depIndexProblems(): string[] {
    const expected = new Set<string>();
    for (const { value } of this.issues.getRange()) {
      for (const d of value.dependencies) expected.add(depKey(value.issue_id, d.target, d.dep_type));
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

  issueEventsOf(issueHex: string): Event[] {
    const out: Event[] = [];
    for (const { value } of this.issueEvents.getRange({ start: `${issueHex}:`, end: `${issueHex};` })) {
      const bytes = this.events.get(value);
      if (bytes) out.push(decodeStored(bytes));
    }
    return out;
  }

  /** The newest event of an issue in event order, without decoding the others. */
  lastEventOf(issueHex: string): Event | undefined {
    for (const { value } of this.issueEvents.getRange({ start: `${issueHex};`, end: `${issueHex}:`, reverse: true, limit: 1 })) {
      const bytes = this.events.get(value);
      if (bytes) return decodeStored(bytes);
    }
    return undefined;
  }

  *allEvents(): Iterable<Event> {
    for (const { value } of this.events.getRange()) yield decodeStored(value);
  }

  /** Stored event records as raw bytes, by key: for `db check`, which must survive a bad record. */
  *rawEvents(): Iterable<{ key: Buffer; value: Buffer }> {
    for (const { key, value } of this.events.getRange()) yield { key, value };
  }

  hasEvent(eventId: Uint8Array): boolean {
    return this.events.doesExist(asBuffer(eventId));
  }

  /**
   * Applies events read from the WAL up to `walHead` in one write transaction. `fromHead` is
   * the head the caller started reading at: if another process moved the store meanwhile,
   * nothing is written and false is returned so the caller can read again.
   */
  apply(events: readonly Event[], fromHead: string | null, walHead: string | null): boolean {
    return this.root.transactionSync(() => {
      const meta = this.getMeta();
      if (meta.wal_head !== fromHead) return false;
      // Into an empty store (a rebuild's first batch) every event of an issue is among `events`:
      // issues fold from these, without reading their events back.
      const empty = meta.event_count === 0;
      // Into an empty store keys go in in key order: LMDB then fills its pages instead of
      // splitting them half empty (a store about a quarter smaller, written a little faster).
      const order = empty ? [...events].sort((a, b) => Buffer.compare(a.event_id, b.event_id)) : events;
      const index: [string, Buffer][] = [];
      const touched = new Map<string, Event[]>();
      let added = 0;
      for (const e of order) {
        const key = asBuffer(e.event_id);
        if (this.events.doesExist(key)) continue;
        this.events.putSync(key, asBuffer(recordBytes(e)));
        index.push([eventIndexKey(e), key]);
        added++;
        // Context events fold into their own tables; they never make an issue.
        if (ContextTables.isContextEvent(e)) {
          this.context.apply(e);
          continue;
        }
        const id = toHex(e.issue_id);
        const list = touched.get(id);
        if (list) list.push(e);
        else touched.set(id, [e]);
      }
      // Plain string order is the keys' byte order: they are ASCII.
      if (empty) index.sort((a, b) => (a[0] < b[0] ? -1 : 1));
      for (const [k, v] of index) this.issueEvents.putSync(k, v);
      for (const [id, fresh] of touched) this.refold(id, empty ? fresh : this.issueEventsOf(id));
      // Applying onto an empty store is a full build: the rebuild counters of `db stats` start here.
      const fresh = fromHead === null && meta.event_count === 0;
      this.meta.putSync('state', {
        ...meta,
        wal_head: walHead,
        event_count: meta.event_count + added,
        events_since_rebuild: fresh ? 0 : meta.events_since_rebuild + added,
        last_rebuild_ts: fresh ? Date.now() : meta.last_rebuild_ts,
      });
      return true;
    });
  }

  /** Stores the fold of `events` (all of the issue's events) as the issue's projection and index entries. */
  private refold(issueHex: string, events: readonly Event[]): void {
    const before = this.issues.get(issueHex);
    const after = foldIssue(events);
    for (const l of before?.labels ?? []) this.labels.removeSync(`${l}\u0000${issueHex}`);
    if (before) this.indexDeps(issueHex, before, false);
    if (!after) {
      if (before) this.issues.removeSync(issueHex);
      return;
    }
    this.issues.putSync(issueHex, after);
    for (const l of after.labels) this.labels.putSync(`${l}\u0000${issueHex}`, true);
    this.indexDeps(issueHex, after, true);
  }

  /** Adds (or removes) an issue's projected dependencies to (from) both indexes. */
  private indexDeps(issueHex: string, issue: Issue, present: boolean): void {
    for (const d of issue.dependencies) {
      const forward = depKey(issueHex, d.target, d.dep_type);
      const reverse = depKey(d.target, issueHex, d.dep_type);
      if (present) {
        this.deps.putSync(forward, true);
        this.rdeps.putSync(reverse, true);
      } else {
        this.deps.removeSync(forward);
        this.rdeps.removeSync(reverse);
      }
    }
  }

  /** Records that a rebuild has finished: the rebuild counters of `db stats` restart here. */
  markRebuilt(): void {
    this.root.transactionSync(() => {
      this.meta.putSync('state', { ...this.getMeta(), last_rebuild_ts: Date.now(), events_since_rebuild: 0 });
    });
  }

  /** Empties every table; the caller replays the WAL afterwards. */
  clear(): void {
    this.root.transactionSync(() => {
      for (const db of [this.events, this.issueEvents, this.issues, this.labels, this.deps, this.rdeps]) db.clearSync();
      this.context.clear();
      this.meta.putSync('state', { ...EMPTY_META, last_rebuild_ts: Date.now() });
    });
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * Stored events were verified when they were applied: decoding re-checks their shape, not their
 * ids (`db check` recomputes those).
 */
function decodeStored(bytes: Uint8Array): Event {
  return eventFromRecord(decodeStrict(bytes), { verifyId: false });
}
