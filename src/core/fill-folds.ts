/**
 * The issue side of a long fill on two threads. Folding a fill's issues (decoding their records,
 * folding them, encoding the rows: `foldBatch`) is about half of the store transaction, and the
 * transaction runs on one thread, the rebuild's reading done, with the other core idle. Here a
 * helper thread (src/workers/fold-thread.ts), started before the fill is planned, takes batches
 * while this thread appends the log and writes the batches answered so far; then both take
 * batches from one shared counter until none is left. This thread folds only what is left when
 * its own writing is done: folding here too would make this thread's JIT compile the fold again,
 * on the core the two threads share with it. The records stay where the reading put
 * them: in shared memory, which both threads read (docs/performance.md, "Folding on two threads").
 *
 * The helper only ever saves time: what it does not answer (it failed, or is gone) this thread
 * folds itself, and an issue the helper cannot fold (a context event, a record that does not
 * decode) comes back marked for this thread, whose own path applies or reports it.
 */
import { availableParallelism } from 'node:os';
import type { MessagePort, Worker } from 'node:worker_threads';
import { workerThreads } from './builtins.js';
import { batchCount, foldBatch, type FoldedBatch, type FoldJob } from './issue-rows.js';

/** The helper as one CommonJS file (scripts/bundle.js): it starts sooner than the ES module would. */
const THREAD_URL = new URL('../workers/fold-thread.bundle.cjs', import.meta.url);
/**
 * Fills of fewer events are folded here alone. Paired CLI rebuilds on 2 cores, helper against
 * none: 40k events +50 ms, 70k +11 ms, 100k -41 to -73 ms (from a snapshot -72 ms). A second
 * isolate's start, its JIT and its collections cost the store's thread more than a small fill's
 * folds (docs/performance.md, "Folding on two threads").
 */
const THREAD_FROM_EVENTS = 80_000;
/** With no answer for this long the helper is taken to be gone, and what it took is folded here. */
const HELPER_SILENCE_MS = 10_000;

/** `claims`, shared with the helper: the next batch to take, whether the helper stopped, how many batches it answered. */
const NEXT = 0;
const STOPPED = 1;
const ANSWERED = 2;

export interface FoldThreadSetup {
  claims: Int32Array;
  answers: MessagePort;
}

/** Whether a fill of `events` events folds on a helper thread too (when its records are in shared memory). */
export function foldsOnHelper(events: number, threadFrom = THREAD_FROM_EVENTS): boolean {
  return events >= threadFrom && availableParallelism() > 1;
}

/** Takes the next batch off `claims`. */
export const claimBatch = (claims: Int32Array): number => Atomics.add(claims, NEXT, 1);

/** Tells this thread the helper answered a batch, or (`stopped`) will answer no more. */
export function helperDid(claims: Int32Array, stopped: boolean): void {
  if (stopped) Atomics.store(claims, STOPPED, 1);
  else Atomics.add(claims, ANSWERED, 1);
  Atomics.notify(claims, ANSWERED);
}

export class FillFolds {
  private readonly claims = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  private helper: { worker: Worker; answers: MessagePort } | null = null;
  private job: FoldJob | null = null;
  /** Per batch, whether it was folded (here or by the helper). */
  private folded = new Uint8Array(0);
  /** Batches folded ahead of one not folded yet: `write` takes them in order. */
  private readonly waiting = new Map<number, FoldedBatch>();
  private nextToWrite = 0;
  /** Batches the helper folded. */
  helped = 0;

  /**
   * Starts the helper for a fill of `events` events whose records are in shared memory (`buffers`),
   * when it has `threadFrom` events or more: it boots while the fill is planned (`begin`).
   */
  constructor(events: number, buffers: readonly ArrayBufferLike[], threadFrom = THREAD_FROM_EVENTS) {
    if (foldsOnHelper(events, threadFrom) && buffers.every((b) => b instanceof SharedArrayBuffer)) {
      const { MessageChannel, Worker } = workerThreads();
      const { port1: answers, port2 } = new MessageChannel();
      const setup: FoldThreadSetup = { claims: this.claims, answers: port2 };
      const worker = new Worker(THREAD_URL, { workerData: setup, transferList: [port2] });
      worker.on('error', () => undefined); // what it did not answer is folded here
      worker.unref();
      this.helper = { worker, answers };
    }
  }

  /** Gives the helper the fill's issue side. */
  begin(job: FoldJob): void {
    this.job = job;
    this.folded = new Uint8Array(batchCount(job.plan));
    this.helper?.worker.postMessage(job);
  }

  /** Gives `write` the batches the helper answered so far, as far as they follow in order. */
  poll(write: (batch: FoldedBatch) => void): void {
    const answers = this.helper?.answers;
    if (!answers) return;
    const { receiveMessageOnPort } = workerThreads();
    for (let m = receiveMessageOnPort(answers); m; m = receiveMessageOnPort(answers)) {
      this.helped++;
      this.take(m.message as FoldedBatch, write);
    }
  }

  /** Folds what the helper has not taken here and gives `write` every batch not written yet, in order. */
  finish(write: (batch: FoldedBatch) => void): void {
    const job = this.job!;
    const batches = this.folded.length;
    for (let b = claimBatch(this.claims); b < batches; b = claimBatch(this.claims)) {
      this.poll(write);
      this.take(foldBatch(job, b), write);
    }
    if (this.helper) this.awaitHelper(write);
    // Whatever the helper took and never answered.
    this.folded.forEach((done, b) => done || this.take(foldBatch(job, b), write));
  }

  private take(batch: FoldedBatch, write: (batch: FoldedBatch) => void): void {
    if (this.folded[batch.batch]) return;
    this.folded[batch.batch] = 1;
    this.waiting.set(batch.batch, batch);
    for (let next = this.waiting.get(this.nextToWrite); next; next = this.waiting.get(this.nextToWrite)) {
      this.waiting.delete(this.nextToWrite++);
      write(next);
    }
  }

  /** Waits until every batch is folded, the helper stopped, or it was silent too long. */
  private awaitHelper(write: (batch: FoldedBatch) => void): void {
    const all = () => this.folded.every((w) => w === 1);
    let silentSince = performance.now();
    for (;;) {
      const seen = Atomics.load(this.claims, ANSWERED);
      const stopped = Atomics.load(this.claims, STOPPED) === 1;
      this.poll(write);
      if (all() || stopped || performance.now() - silentSince > HELPER_SILENCE_MS) return;
      if (Atomics.wait(this.claims, ANSWERED, seen, 100) !== 'timed-out') silentSince = performance.now();
    }
  }

  stop(): void {
    if (!this.helper) return;
    this.helper.answers.close();
    void this.helper.worker.terminate();
    this.helper = null;
  }
}
