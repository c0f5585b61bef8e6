/**
 * Group commit: while one WAL commit is being written, further writes queue up and then go out
 * together as the next commit. Nothing waits on a timer (only one turn of the event loop), so a
 * lone write is as fast as ever and a burst of N concurrent writes costs a few commits, not N.
 */
import type { WriteGroup, WriteItem, WriteResult } from './context.js';

type CommitGroups = (groups: WriteGroup[]) => Promise<Array<WriteResult | Error>>;

interface Pending {
  group: WriteGroup;
  bytes: number;
  resolve(r: WriteResult): void;
  reject(e: unknown): void;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Events per commit at most, so one chunk stays a reasonable size. */
const MAX_BATCH_EVENTS = 2000;

/**
 * Bytes of text and binary fields per commit at most, so that writes which each fit in a chunk
 * (MAX_CHUNK_BYTES, 16 MiB) are not refused together: a burst of 3 MB bodies would otherwise make
 * one chunk too large and fail every write in it.
 */
const MAX_BATCH_BYTES = 8 << 20;

/** About how many bytes a value adds to a chunk (its text and binary fields; a little for the rest). */
function sizeOf(value: unknown): number {
  if (typeof value === 'string') return value.length < 1024 ? value.length * 3 : Buffer.byteLength(value);
  if (value instanceof Uint8Array) return value.length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + sizeOf(v), 1);
  if (typeof value === 'object' && value !== null) return Object.values(value).reduce((n: number, v) => n + sizeOf(v), 1);
  return 9;
}

const itemsSize = (items: WriteItem[]): number => items.reduce((n, item) => n + 128 + sizeOf(item.kind), 0);

export class WriteBatcher {
  private queue: Pending[] = [];
  private running = false;

  constructor(private readonly commit: CommitGroups) {}

  submit(group: WriteGroup): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ group, bytes: itemsSize(group.items), resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      // A commit is written with synchronous file calls, during which requests pile up unseen in
      // the thread's message queue: yield once so they reach the queue and share the next commit.
      for (await yieldToEventLoop(); this.queue.length > 0; await yieldToEventLoop()) {
        const batch = this.take();
        let results: Array<WriteResult | Error>;
        try {
          results = await this.commit(batch.map((p) => p.group));
        } catch (err) {
          for (const p of batch) p.reject(err);
          continue;
        }
        batch.forEach((p, i) => {
          const r = results[i];
          if (r instanceof Error) p.reject(r);
          else p.resolve(r);
        });
      }
    } finally {
      this.running = false;
    }
  }

  private take(): Pending[] {
    let events = 0;
    let bytes = 0;
    let n = 0;
    for (; n < this.queue.length; n++) {
      const next = this.queue[n];
      if (n > 0 && (events + next.group.items.length > MAX_BATCH_EVENTS || bytes + next.bytes > MAX_BATCH_BYTES)) break;
      events += next.group.items.length;
      bytes += next.bytes;
    }
    return this.queue.splice(0, n);
  }
}
