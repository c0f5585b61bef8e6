/**
 * Group commit: while one WAL commit is being written, further writes queue up and then go out
 * together as the next commit. Nothing waits on a timer (only one turn of the event loop), so a
 * lone write is as fast as ever and a burst of N concurrent writes costs a few commits, not N.
 */
import type { WriteItem, WriteResult } from './context.js';

type CommitGroups = (groups: WriteItem[][]) => Promise<Array<WriteResult | Error>>;

interface Pending {
  items: WriteItem[];
  resolve(r: WriteResult): void;
  reject(e: unknown): void;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Events per commit at most, so one chunk stays a reasonable size. */
const MAX_BATCH_EVENTS = 2000;

export class WriteBatcher {
  private queue: Pending[] = [];
  private running = false;

  constructor(private readonly commit: CommitGroups) {}

  submit(items: WriteItem[]): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
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
          results = await this.commit(batch.map((p) => p.items));
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
    let n = 0;
    while (n < this.queue.length && (n === 0 || events + this.queue[n].items.length <= MAX_BATCH_EVENTS)) {
      events += this.queue[n].items.length;
      n++;
    }
    return this.queue.splice(0, n);
  }
}
