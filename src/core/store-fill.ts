/**
 * What `Store.fill` writes into an empty store, gathered chunk by chunk from a snapshot. Each
 * issue is folded as its events come (a snapshot holds them in event order), so the events
 * themselves are dropped at once: per event only its log key and where its record lies in its
 * chunk stay, in typed arrays. Whatever stays alive while a 100k-event snapshot is read is copied
 * by every scavenge on its way to the old generation: that copying was the largest single cost of
 * the rebuild (docs/performance.md, "Folding a snapshot as it is read").
 */
import { recordBytes } from './chunk.js';
import { ContextTables } from './context-store.js';
import { compareEvents, type Event } from './event.js';
import { ISSUE_BYTES, LOG_KEY_BYTES, writeLogKey } from './log-key.js';
import { IssueFold } from './projection.js';

/** One issue's share of a fill. */
export interface FillIssue {
  /** Its events' numbers (`StoreFill.key`, `StoreFill.record`), in the order they came. */
  entries: number[];
  /** Its fold so far; null once an event came out of event order (it is then folded from its records). */
  fold: IssueFold | null;
  previous: Event;
}

export class StoreFill {
  /** By issue id as a latin1 string of its bytes (no hex per event: taken from the key just written). */
  private readonly issues = new Map<string, FillIssue>();
  /** Context events, applied to their tables once everything else is written. */
  readonly context: Event[] = [];
  private count = 0;
  private keys: Buffer;
  /** Per event: which of `buffers` holds its record, at which offset, how many bytes. */
  private spans: Uint32Array;
  private readonly buffers: ArrayBufferLike[] = [];

  /** `expected`: how many events will come (the buffers are sized for them). */
  constructor(expected = 1024) {
    const n = Math.max(1, expected);
    this.keys = Buffer.allocUnsafe(n * LOG_KEY_BYTES);
    this.spans = new Uint32Array(n * 3);
  }

  /** How many events were added. */
  get size(): number {
    return this.count;
  }

  add(events: readonly Event[]): void {
    for (const e of events) this.addOne(e);
  }

  /** The issues by id (hex), in id order. */
  *byIssue(): Generator<[string, FillIssue]> {
    for (const id of [...this.issues.keys()].sort()) yield [Buffer.from(id, 'latin1').toString('hex'), this.issues.get(id)!];
  }

  /** The log key of event `n`. */
  key(n: number): Buffer {
    return this.keys.subarray(n * LOG_KEY_BYTES, (n + 1) * LOG_KEY_BYTES);
  }

  /** The chunk record of event `n`. */
  record(n: number): Uint8Array {
    const s = this.spans;
    return new Uint8Array(this.buffers[s[3 * n]], s[3 * n + 1], s[3 * n + 2]);
  }

  private addOne(e: Event): void {
    const n = this.count++;
    if (n * LOG_KEY_BYTES === this.keys.length) this.grow();
    const at = n * LOG_KEY_BYTES;
    writeLogKey(this.keys, at, e);
    const record = recordBytes(e);
    if (this.buffers[this.buffers.length - 1] !== record.buffer) this.buffers.push(record.buffer);
    const spans = this.spans;
    spans[3 * n] = this.buffers.length - 1;
    spans[3 * n + 1] = record.byteOffset;
    spans[3 * n + 2] = record.byteLength;
    const context = ContextTables.isContextEvent(e);
    if (context) this.context.push(e);
    const id = this.keys.toString('latin1', at, at + ISSUE_BYTES);
    let issue = this.issues.get(id);
    if (issue === undefined) {
      issue = { entries: [], fold: new IssueFold(), previous: e };
      this.issues.set(id, issue);
    } else if (issue.fold !== null && compareEvents(issue.previous, e) >= 0) {
      issue.fold = null;
    }
    issue.entries.push(n);
    issue.previous = e;
    if (!context) issue.fold?.add(e);
  }

  private grow(): void {
    const keys = Buffer.allocUnsafe(this.keys.length * 2);
    this.keys.copy(keys);
    this.keys = keys;
    const spans = new Uint32Array(this.spans.length * 2);
    spans.set(this.spans);
    this.spans = spans;
  }
}
