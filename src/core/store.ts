/**
 * The materialized view of one actor: an LMDB environment holding every applied event,
 * the folded issue projections and the indexes that commands read. It is a cache of the
 * WAL: everything here can be rebuilt from `refs/grit/wal`.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { decodeStrict, encodeCanonical } from './cbor.js';
import { GritError } from './errors.js';
import { eventFromRecord, eventToRecord, type Event } from './event.js';
import { toHex } from './hex.js';
import { foldIssue, summarize, type Issue, type IssueSummary } from './projection.js';
import { storeFileDamage } from './store-file.js';

export interface StoreMeta {
  wal_head: string | null;
  event_count: number;
  last_rebuild_ts: number | null;
  events_since_rebuild: number;
}

const EMPTY_META: StoreMeta = { wal_head: null, event_count: 0, last_rebuild_ts: null, events_since_rebuild: 0 };

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
  private readonly meta: Database<unknown, string>;

  private constructor(path: string, root: RootDatabase) {
    this.path = path;
    this.root = root;
    this.events = root.openDB({ name: 'events', keyEncoding: 'binary', encoding: 'binary' });
    this.issueEvents = root.openDB({ name: 'issue_events', encoding: 'binary' });
    this.issues = root.openDB({ name: 'issues' });
    this.labels = root.openDB({ name: 'labels' });
    this.meta = root.openDB({ name: 'meta' });
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
      return new Store(path, open({ path, maxDbs: 16, compression: false }));
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

  issueEventsOf(issueHex: string): Event[] {
    const out: Event[] = [];
    for (const { value } of this.issueEvents.getRange({ start: `${issueHex}:`, end: `${issueHex};` })) {
      const bytes = this.events.get(value);
      if (bytes) out.push(decodeStored(bytes));
    }
    return out;
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
      const touched = new Set<string>();
      let added = 0;
      for (const e of events) {
        if (this.events.doesExist(asBuffer(e.event_id))) continue;
        this.events.putSync(asBuffer(e.event_id), Buffer.from(encodeCanonical(eventToRecord(e))));
        this.issueEvents.putSync(eventIndexKey(e), Buffer.from(e.event_id));
        touched.add(toHex(e.issue_id));
        added++;
      }
      for (const id of touched) this.refold(id);
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

  private refold(issueHex: string): void {
    const before = this.issues.get(issueHex);
    const after = foldIssue(this.issueEventsOf(issueHex));
    for (const l of before?.labels ?? []) this.labels.removeSync(`${l}\u0000${issueHex}`);
    if (!after) {
      if (before) this.issues.removeSync(issueHex);
      return;
    }
    this.issues.putSync(issueHex, after);
    for (const l of after.labels) this.labels.putSync(`${l}\u0000${issueHex}`, true);
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
      for (const db of [this.events, this.issueEvents, this.issues, this.labels]) db.clearSync();
      this.meta.putSync('state', { ...EMPTY_META, last_rebuild_ts: Date.now() });
    });
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Stored events were verified when they were applied; decoding re-checks their shape. */
function decodeStored(bytes: Uint8Array): Event {
  return eventFromRecord(decodeStrict(bytes));
}
