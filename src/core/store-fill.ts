/**
 * What `Store.fill` writes into an empty store, gathered chunk by chunk from a snapshot or a
 * replay: per event only its log key and where its record lies in its chunk, in typed arrays, and
 * per issue the numbers of its events. Decoded events are dropped at once (most of a replay's
 * records are not decoded at all: `addRecords`); the store decodes each issue's records when it
 * folds the issue. Whatever stays alive while 100k events are read is copied by every scavenge on
 * its way to the old generation: holding the events (or folding issues as they were read, which
 * kept the folds growing in the young generation) cost more than decoding twice
 * (docs/performance.md, "A rebuild gathers keys while reading and folds when writing").
 */
import { recordBytes } from './chunk.js';
import { decodeStrict } from './cbor.js';
import { eventFromRecord, type Event } from './event.js';
import { copyOrder, Keyring, type CompareCopies } from './integrity.js';
import { ISSUE_BYTES, LOG_KEY_BYTES, writeLogKey, writeRecordLogKey } from './log-key.js';

/** An issue in `StoreFill`'s table, with the next one whose id begins with the same bytes. */
interface Filed {
  /** Its events' numbers (`StoreFill.key`, `StoreFill.record`), in key order, each key once. */
  entries: number[];
  next: Filed | undefined;
}

/** `StoreFill.plan`: what a fill writes, in order. */
export interface FillPlan {
  /** The issues, by id (hex), in id order. */
  ids: string[];
  /** Event numbers, issue by issue, each issue's in key order. */
  order: Int32Array;
  /** Where each issue's events begin in `order`, and after the last, where they end. */
  starts: Int32Array;
}

/** Where the records of a fill lie (`StoreFill.recordSpans`). */
export interface RecordSpans {
  buffers: readonly ArrayBufferLike[];
  /** Per event: which of `buffers` holds its record, at which offset, how many bytes. */
  spans: Uint32Array;
}

/** The record of event `n` (`RecordSpans`). */
export function recordOf(buffers: RecordSpans['buffers'], spans: Uint32Array, n: number): Uint8Array {
  return new Uint8Array(buffers[spans[3 * n]], spans[3 * n + 1], spans[3 * n + 2]);
}

/** Span room for `events` events, in shared memory: a helper thread folding the fill reads it as is (src/core/fill-folds.ts). */
const sharedSpans = (events: number) => new Uint32Array(new SharedArrayBuffer(events * 3 * Uint32Array.BYTES_PER_ELEMENT));

export class StoreFill {
  /**
   * The issues by the first 30 bits of their ids, a small integer (no string made per event),
   * issues that share them chained. Issue ids are random: chains are almost always of one.
   */
  private readonly issues = new Map<number, Filed>();
  private count = 0;
  private keys: Buffer;
  /** Per event: which of `buffers` holds its record, at which offset, how many bytes. */
  private spans: Uint32Array;
  private readonly buffers: ArrayBufferLike[] = [];
  /** The issue of the event added last. */
  private lastIssue: Filed | undefined;

  /**
   * `expected`: how many events will come (the buffers are sized for them, and grow). `copies`:
   * which of two copies of one event to keep (`StoreOptions.copyOrder`).
   */
  constructor(
    expected = 1 << 16,
    private readonly copies: CompareCopies = copyOrder(() => new Keyring()),
  ) {
    const n = Math.max(1, expected);
    this.keys = Buffer.allocUnsafe(n * LOG_KEY_BYTES);
    this.spans = sharedSpans(n);
  }

  /** How many events were added. */
  get size(): number {
    return this.count;
  }

  add(events: readonly Event[]): void {
    for (const e of events) {
      const n = this.next();
      writeLogKey(this.keys, n * LOG_KEY_BYTES, e);
      this.place(n, recordBytes(e));
    }
  }

  /**
   * Adds chunk records that `scanChunkRecords` vouched for, not decoded: their log keys are read
   * off their bytes. The store decodes them when it folds their issues (`Store.fill`).
   */
  addRecords(records: readonly Uint8Array[]): void {
    for (const record of records) {
      const n = this.next();
      writeRecordLogKey(this.keys, n * LOG_KEY_BYTES, record);
      this.place(n, record);
    }
  }

  /** What the store writes, in the order it writes it: the issues in id order, each issue's events in key order, each key once. */
  plan(): FillPlan {
    const all: [string, Filed][] = [];
    for (const chain of this.issues.values()) {
      for (let issue: Filed | undefined = chain; issue; issue = issue.next) {
        const at = issue.entries[0] * LOG_KEY_BYTES;
        all.push([this.keys.toString('hex', at, at + ISSUE_BYTES), issue]);
      }
    }
    all.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const order = new Int32Array(this.count);
    const starts = new Int32Array(all.length + 1);
    let end = 0;
    all.forEach(([, { entries }], i) => {
      starts[i] = end;
      for (const n of entries) order[end++] = n;
    });
    starts[all.length] = end;
    return { ids: all.map(([id]) => id), order: order.subarray(0, end), starts };
  }

  /** Where the records lie. */
  get recordSpans(): RecordSpans {
    return { buffers: this.buffers, spans: this.spans.subarray(0, 3 * this.count) };
  }

  /** The log key of event `n`. */
  key(n: number): Buffer {
    return this.keys.subarray(n * LOG_KEY_BYTES, (n + 1) * LOG_KEY_BYTES);
  }

  /**
   * Whether event `n` is the copy to keep rather than `m`, a copy of it filed before (the records
   * are decoded only for this). One that does not decode is never chosen here; the fill meets it
   * as it would have anyway.
   */
  private keepsCopy(n: number, m: number): boolean {
    const event = (k: number) => eventFromRecord(decodeStrict(this.record(k)), { verifyId: false });
    try {
      return this.copies(event(n), event(m)) < 0;
    } catch {
      return false;
    }
  }

  /** The chunk record of event `n`. */
  record(n: number): Uint8Array {
    return recordOf(this.buffers, this.spans, n);
  }

  /** The number of the next event, its key's room made. */
  private next(): number {
    const n = this.count++;
    if (n * LOG_KEY_BYTES === this.keys.length) this.grow();
    return n;
  }

  /** Records where event `n`'s record lies, and files it under its issue (its key is written). */
  private place(n: number, record: Uint8Array): void {
    if (this.buffers[this.buffers.length - 1] !== record.buffer) this.buffers.push(record.buffer);
    const spans = this.spans;
    spans[3 * n] = this.buffers.length - 1;
    spans[3 * n + 1] = record.byteOffset;
    spans[3 * n + 2] = record.byteLength;
    // Events of one issue often come one after another (a commit's few events): the issue found
    // for the previous event is tried before a look-up, which makes a string of the id.
    const last = this.lastIssue;
    const issue = last !== undefined && this.sameIssue(n, n - 1) ? last : this.issueOf(n);
    this.lastIssue = issue;
    this.file(issue.entries, n);
  }

  /** The issue of event `n` (a new one, without entries, if it is the first of its issue). */
  private issueOf(n: number): Filed {
    const k = this.keys;
    const at = n * LOG_KEY_BYTES;
    const head = (k[at] << 22) | (k[at + 1] << 14) | (k[at + 2] << 6) | (k[at + 3] >> 2);
    const first = this.issues.get(head);
    for (let issue = first; issue; issue = issue.next) if (this.sameIssue(n, issue.entries[0])) return issue;
    const issue: Filed = { entries: [], next: first };
    this.issues.set(head, issue);
    return issue;
  }

  /** Whether events `n` and `m` are of one issue. */
  private sameIssue(n: number, m: number): boolean {
    const keys = this.keys;
    const a = n * LOG_KEY_BYTES;
    const b = m * LOG_KEY_BYTES;
    for (let i = 0; i < ISSUE_BYTES; i++) if (keys[a + i] !== keys[b + i]) return false;
    return true;
  }

  /**
   * How the log keys of events `n` and `m` of one issue compare (negative: `n`'s sorts first),
   * without a view of either: from the timestamp on, as their first bytes, the issue id, are equal.
   */
  private compareInIssue(n: number, m: number): number {
    // A byte loop: the keys mostly differ in the timestamp; a call into Buffer#compare costs more
    // than those few steps.
    const keys = this.keys;
    const a = n * LOG_KEY_BYTES;
    const b = m * LOG_KEY_BYTES;
    for (let i = ISSUE_BYTES; i < LOG_KEY_BYTES; i++) if (keys[a + i] !== keys[b + i]) return keys[a + i] - keys[b + i];
    return 0;
  }

  /**
   * Files event `n` among its issue's `entries` in key order; when its key is there already (the
   * same event twice), `n` takes that place only if it is the copy to keep. Kept in order as they
   * come, the events need no sorting when the fill is written, on its one thread: a replay read
   * newest first brings most issues' events out of order, and sorting them there was most of
   * planning the fill. Most events come after the last one filed (in order) or before the first
   * (newest first).
   */
  private file(entries: number[], n: number): void {
    let hi = entries.length;
    if (hi === 0 || this.compareInIssue(n, entries[hi - 1]) > 0) {
      entries.push(n);
      return;
    }
    let lo = 0;
    if (this.compareInIssue(n, entries[0]) < 0) hi = 0;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.compareInIssue(n, entries[mid]);
      if (c === 0) {
        if (this.keepsCopy(n, entries[mid])) entries[mid] = n;
        return;
      }
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    entries.splice(lo, 0, n);
  }

  private grow(): void {
    const keys = Buffer.allocUnsafe(this.keys.length * 2);
    this.keys.copy(keys);
    this.keys = keys;
    const spans = sharedSpans((this.spans.length / 3) * 2);
    spans.set(this.spans);
    this.spans = spans;
  }
}
