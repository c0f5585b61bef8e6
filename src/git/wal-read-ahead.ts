/**
 * Reading a long stretch of the WAL (rebuild, snapshot, db check): with a core to spare, a reader
 * thread (src/workers/wal-reader.ts) reads and checks the git objects of the next segments while
 * this thread decodes and applies the current one. The thread is started once the walk of the
 * commit chain has shown the stretch to be long, so that its start-up overlaps the rest of that
 * walk, or with the walk when the caller expects it long (`expectLong`); short stretches, and
 * machines with one core, are read inline. A caller that takes the commits in any order has them
 * read newest first as the walk goes, by both threads (`newestFirstUpTo`); a large snapshot is
 * read by both threads at once (`readSnapshotChunks`).
 * See docs/performance.md (Rebuild).
 */
import { availableParallelism } from 'node:os';
import type { MessagePort, Worker } from 'node:worker_threads';
import { workerThreads } from '../core/builtins.js';
import { GritError } from '../core/errors.js';
import { loadFastHash } from '../core/hash.js';
import { chunksOf, inSharedMemory, linksTask, take, type Claim, type ReadResult, type ReadTask, type ReaderSetup, type SnapshotChunkRef, type Taken } from '../workers/wal-reader-messages.js';
import type { Wal, WalChunk, WalLink } from './wal.js';

/** The reader as one CommonJS file (scripts/bundle.js): it starts sooner than the ES module would. */
const READER_URL = new URL('../workers/wal-reader.bundle.cjs', import.meta.url);
/** A reader thread's setup, with the flag `stopReader` sets. */
function readerSetup(gitDir: string, warmUp: string, answers?: MessagePort): ReaderSetup {
  const stop = new SharedArrayBuffer(4);
  return answers ? { gitDir, warmUp, answers, stop } : { gitDir, warmUp, stop };
}

/**
 * Ends a reader thread without `terminate()`: a thread terminated in the middle of a zlib call
 * (it inflates objects all the time) makes node 20 abort the whole process as it tears the thread
 * down ("close before init", seen in a `rebuild --from-snapshot`). Told to stop, it ends after the
 * task it is on; the message wakes it if it is idle.
 */
function stopReader(worker: Worker, setup: ReaderSetup): void {
  Atomics.store(new Int32Array(setup.stop), 0, 1);
  worker.postMessage({ snapshotChunks: [] } satisfies ReadTask);
}

/** Below this many commits a reader thread costs more to start than it saves (docs/performance.md). */
const READ_AHEAD_FROM_COMMITS = 8192;
/** A reader thread started before (`ReadWalOptions.reader`) shares stretches from this many commits on: below, the messages cost more than they save. */
const KEPT_READER_FROM = 128;
/**
 * How far the reader may run ahead. A replay applies tens of thousands of events in one store
 * transaction, seconds in which this thread reads nothing: the reader should fill that time, so
 * it may hold many segments, but never more than this many chunk bytes not yet decoded.
 */
const AHEAD_SEGMENTS = 128;
const AHEAD_BYTES = 64 << 20;

export interface WalStretch {
  /** The stretch's commits, oldest first, as the walk read them. */
  chain: readonly WalLink[];
  /**
   * Whether `segments` come oldest first, each following the one before (else newest first: see
   * `ReadWalOptions.newestFirstUpTo`).
   */
  inOrder: boolean;
  /**
   * Its commits, read and checked down to their chunks, a segment at a time, each segment oldest
   * first; the events are not decoded yet (`decodeWalChunk`).
   */
  segments: AsyncGenerator<WalChunk[]>;
}

export interface ReadWalOptions {
  /** A chain this long gets a reader thread (default 8,192; tests lower it). */
  readAheadFrom?: number;
  /**
   * The caller expects a chain that long (a rebuild of a store that held many events): the
   * reader thread starts with the walk instead of once the walk has shown the chain long, so its
   * start-up (~0.1 s) is over when the first commits are there to read. A chain that turns out
   * short stops it unused.
   */
  expectLong?: boolean;
  /**
   * With a reader thread, start reading while the chain is walked (newest first) as long as the
   * commits walked state (`WalLink.statedEvents`) at most this many events; when they all do,
   * the segments come newest first (`inOrder` false). For a caller that holds all the events
   * anyway (a fill) and wants them sooner: the walk is serial, and the reading no longer waits
   * for it. Default 0: oldest first.
   */
  newestFirstUpTo?: number;
  /**
   * Read newest first, whether the segments this thread reads go into shared memory as the
   * reader thread's do, given the events the commits state: for a fill whose helper thread will
   * read the records there (src/core/fill-folds.ts). Default: no.
   */
  sharedMemory?: (statedEvents: number) => boolean;
  /**
   * Where a reader thread kept between reads comes from (`ReaderSource`): with `newestFirstUpTo`,
   * one running already shares any stretch of `KEPT_READER_FROM` commits or more, instead of a
   * thread started for stretches of `readAheadFrom`; a stretch that long starts one for the reads
   * after it. For a caller whose stretches are short but whose time counts (a daemon's pulls).
   */
  reader?: ReaderSource;
  /** Commits per segment read newest first (`newestFirstUpTo`); default `size`. */
  newestFirstCommits?: number;
}

/** The commits after `fromExclusive` up to `head` (see `Wal.chain`), to be read `size` at a time. */
export async function readWal(wal: Wal, fromExclusive: string | null, head: string, size: number, opts: ReadWalOptions = {}): Promise<WalStretch> {
  const parallel = availableParallelism() > 1;
  const threadFrom = parallel ? (opts.readAheadFrom ?? READ_AHEAD_FROM_COMMITS) : Infinity;
  const start = () => new ReaderThread(readerSetup(wal.gitDir, head));
  // A kept thread only shares what is read newest first: reading in order, it would keep on with
  // segments nobody wants any more once its reader stops early (an error, a break).
  const kept = parallel && opts.newestFirstUpTo ? (opts.reader?.running() ?? null) : null;
  let reader: ReaderThread | null = kept ?? (opts.expectLong && threadFrom < Infinity ? start() : null);
  const from = kept ? KEPT_READER_FROM : threadFrom;
  let early: EarlyReads | null = null;
  const stopOwn = () => {
    if (reader !== kept) reader?.stop();
    reader = null;
  };
  try {
    const chain = await wal.chain(fromExclusive, head, (walked, done) => {
      if (walked.length < from) return;
      reader ??= start();
      if (opts.newestFirstUpTo) (early ??= new EarlyReads(reader, opts.newestFirstCommits ?? size, opts.newestFirstUpTo)).post(walked, done);
    });
    // Long enough to share: a thread for the next such read, if none runs (this one is under way).
    if (parallel && chain.length >= KEPT_READER_FROM) opts.reader?.start(head);
    const e = early as EarlyReads | null;
    if (chain.length >= from && reader && e?.whole) return { chain, inOrder: false, segments: reader.shared(wal, e.tasks, e.pending, opts.sharedMemory?.(e.statedEvents) ?? false) };
    // In order: a thread of its own for a long chain (one started on a wrong guess, `expectLong`, is stopped).
    if (chain.length < threadFrom || reader === kept) stopOwn();
    if (!reader && chain.length >= threadFrom) reader = start();
    const r = reader as ReaderThread | null;
    return { chain, inOrder: true, segments: r ? r.segments(chain, size) : inline(wal, chain, size) };
  } catch (err) {
    if (reader !== kept) await (reader as ReaderThread | null)?.close();
    else (early as EarlyReads | null)?.cancel();
    throw err;
  }
}

/**
 * Reads asked for while the chain is still walked, newest first, `size` commits at a time, until
 * the commits asked for state more than `upTo` events. Those asked for then are not used
 * (the stretch is read again in order): their answers are dropped as they come.
 */
class EarlyReads {
  /** The segments asked for, and their answers. */
  readonly tasks: SharedTask[] = [];
  readonly pending: Promise<ReadResult | Taken>[] = [];
  /** The claim flags of the segments asked for, a block of `CLAIMS_PER_BLOCK` at a time. */
  private claims: SharedArrayBuffer[] = [];
  private asked = 0;
  private stated = 0;
  private stopped = false;

  constructor(
    private readonly reader: ReaderThread,
    private readonly size: number,
    private readonly upTo: number,
  ) {}

  /** The events the commits asked for state. */
  get statedEvents(): number {
    return this.stated;
  }

  /** Whether every commit walked was asked for. */
  get whole(): boolean {
    return !this.stopped;
  }

  post(walked: readonly WalLink[], done: boolean): void {
    while (!this.stopped && (walked.length - this.asked >= this.size || (done && this.asked < walked.length))) {
      const links = walked.slice(this.asked, this.asked + this.size).reverse(); // each segment oldest first
      for (const l of links) this.stated += l.statedEvents ?? Infinity;
      if (this.stated > this.upTo) {
        this.stopped = true;
        this.cancel();
        return;
      }
      const index = this.tasks.length;
      if (index % CLAIMS_PER_BLOCK === 0) this.claims.push(new SharedArrayBuffer(4 * CLAIMS_PER_BLOCK));
      const claim = { flags: this.claims[this.claims.length - 1], index: index % CLAIMS_PER_BLOCK };
      this.tasks.push({ links, claim });
      this.pending.push(this.reader.read(links, claim));
      this.asked += links.length;
    }
  }

  /** Drops the reads asked for: what the thread has not started on it skips (a kept thread goes on to its next read). */
  cancel(): void {
    for (const t of this.tasks) take(t.claim);
    for (const p of this.pending.splice(0)) p.catch(() => undefined);
  }
}

/** A segment both threads may read (`EarlyReads`): whichever takes its claim first. */
interface SharedTask {
  links: WalLink[];
  claim: Claim;
}

const CLAIMS_PER_BLOCK = 1024;

async function* inline(wal: Wal, chain: readonly WalLink[], size: number): AsyncGenerator<WalChunk[]> {
  for (let i = 0; i < chain.length; i += size) yield await wal.readChunks(chain.slice(i, i + size));
}

export class ReaderThread {
  private readonly worker: Worker;
  private readonly exited: Promise<unknown>;
  /** One per segment asked for, in order: the thread answers in the order it was asked. */
  private readonly waiting: { resolve: (r: ReadResult | Taken) => void; reject: (e: unknown) => void }[] = [];
  /** Set once the thread failed or ended: what is asked of it then fails at once. */
  private ended: unknown = null;

  /** `kept`: started ahead and stopped by its owner (`startKeptReader`), not by the read that used it. */
  constructor(
    private readonly setup: ReaderSetup,
    readonly kept = false,
  ) {
    this.worker = new (workerThreads().Worker)(READER_URL, { workerData: setup });
    this.exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.on('message', (r: ReadResult | Taken) => {
      this.waiting.shift()?.resolve(r);
      if (this.kept && this.waiting.length === 0) this.worker.unref();
    });
    this.worker.on('error', (err) => this.failAll(err));
    this.worker.on('exit', (code) => this.failAll(new GritError('internal_error', `the WAL reader thread stopped (exit code ${code})`)));
    // A kept thread waits for work between reads: it must not keep the process alive then.
    if (kept) this.worker.unref();
  }

  /** False once the thread failed or was stopped. */
  get alive(): boolean {
    return this.ended === null;
  }

  private failAll(err: unknown): void {
    this.ended ??= err;
    for (const a of this.waiting.splice(0)) a.reject(err);
  }

  read(links: WalLink[]): Promise<ReadResult>;
  read(links: WalLink[], claim: Claim): Promise<ReadResult | Taken>;
  read(links: WalLink[], claim?: Claim): Promise<ReadResult | Taken> {
    if (this.ended !== null) return Promise.reject(this.ended);
    const answer = new Promise<ReadResult | Taken>((resolve, reject) => this.waiting.push({ resolve, reject }));
    answer.catch(() => undefined); // failed before its reader awaits it (`failAll`): not an unhandled rejection
    this.worker.ref(); // while an answer is awaited
    this.worker.postMessage(linksTask(links, claim));
    return answer;
  }

  async close(): Promise<void> {
    this.stop();
    await this.exited;
  }

  /**
   * Stops the thread without waiting for it to be gone: its isolate takes ~25 ms to tear down,
   * which the caller's next step (a fill) need not wait for.
   */
  stop(): void {
    // What is still awaited is read by the thread that awaits it (`shared`).
    this.failAll(new GritError('internal_error', 'the WAL reader thread was stopped'));
    this.worker.removeAllListeners('exit');
    stopReader(this.worker, this.setup);
  }

  /**
   * `tasks`, read, in any order, `pending` being the thread's answers to them: the thread takes
   * them from the first, this thread from the last, each task's claim
   * deciding who reads it, and this thread takes the answers as they come. After walking the
   * chain, this thread would otherwise wait for the reader (docs/performance.md, Rebuild). What
   * this thread reads goes into shared memory as the thread's answers are in with `sharedMemory`
   * (`ReadWalOptions.sharedMemory`). Stops the reader thread after, unless it is `kept`.
   */
  async *shared(wal: Wal, tasks: readonly SharedTask[], pending: readonly Promise<ReadResult | Taken>[], sharedMemory: boolean): AsyncGenerator<WalChunk[]> {
    const answered: (ReadResult | Taken | null | undefined)[] = [];
    // A failed thread (null) leaves the tasks it did not answer to this one.
    pending.forEach((p, i) => p.then((r) => (answered[i] = r)).catch(() => (answered[i] = null)));
    const readHere = async (i: number): Promise<WalChunk[]> => {
      const chunks = await wal.readChunks(tasks[i].links);
      return sharedMemory ? inSharedMemory(chunks) : chunks;
    };
    try {
      await loadFastHash(); // for the event ids this thread checks
      for (let next = 0, end = tasks.length; next < end; ) {
        const result = answered[next];
        if (result?.ok === true) {
          answered[next] = undefined;
          next++;
          yield chunksOf(result.chunks);
        } else if (result?.ok === false) {
          throw GritError.fromJSON(result.error);
        } else if (result !== undefined) {
          yield await readHere(next++); // the thread failed, or (never expected) found it taken
        } else if (take(tasks[end - 1].claim)) {
          yield await readHere(--end);
          await new Promise((r) => setImmediate(r)); // lets the thread's answers in
        } else {
          // The thread took it, and every task before it: its answers are all that is left.
          await pending[next].catch(() => undefined);
          await new Promise((r) => setImmediate(r)); // the answer's own callback runs first
        }
      }
    } finally {
      // Left early (an error, a break): a kept thread skips what it has not started on.
      if (this.kept) for (const t of tasks) take(t.claim);
      else this.stop();
    }
  }

  async *segments(chain: readonly WalLink[], size: number): AsyncGenerator<WalChunk[]> {
    const pending: Promise<ReadResult>[] = [];
    let next = 0;
    let ahead = 0; // chunk bytes read and not yet decoded
    const readAhead = () => {
      while (next < chain.length && pending.length < AHEAD_SEGMENTS && ahead < AHEAD_BYTES) {
        const answer = this.read(chain.slice(next, next + size)).then((r) => {
          if (r.ok) ahead += r.chunks.bytes.byteLength;
          return r;
        });
        answer.catch(() => undefined); // awaited in order below; abandoned when an earlier one fails
        pending.push(answer);
        next += size;
      }
    };
    try {
      await loadFastHash(); // for the event ids this thread checks
      readAhead();
      while (pending.length > 0) {
        const result = await pending.shift()!;
        if (!result.ok) throw GritError.fromJSON(result.error);
        ahead -= result.chunks.bytes.byteLength;
        readAhead();
        yield chunksOf(result.chunks);
      }
    } finally {
      if (!this.kept) this.stop();
    }
  }
}

/** Commits a kept thread reads as it starts, to have its code compiled before a pull needs it. */
const WARM_COMMITS = 256;

/** Where `readWal` finds a reader thread kept between reads (src/git/kept-wal-reader.ts). */
export interface ReaderSource {
  /** The thread running now, if any (`startKeptReader`'s). */
  running(): ReaderThread | null;
  /** Starts one, unless one runs, for the reads to come; `warmUp`: a WAL commit to read from. */
  start(warmUp: string): void;
}

/**
 * A reader thread started before the reads that use it and kept between them (`ReaderSource`),
 * for one repository: a daemon worker's pulls, each too short to start one for. `warmUp` (a WAL
 * commit) and the commits below it are read first. Its owner stops it; once it is not `alive`,
 * the owner starts another.
 */
export function startKeptReader(gitDir: string, warmUp: string): ReaderThread {
  return new ReaderThread({ ...readerSetup(gitDir, warmUp), warmCommits: WARM_COMMITS }, true);
}

export interface ReadSnapshotOptions {
  /** A snapshot of this many chunks or more gets a reader thread (default 16; tests lower it). */
  threadFrom?: number;
  /**
   * The chunks in shared memory, as the reader thread's are, those read on this thread too: for a
   * fill, whose helper thread reads the records there (src/core/fill-folds.ts).
   */
  sharedMemory?: boolean;
}

/** Fewer chunks (of 1,000 events) are read here before the thread's start-up is over. */
const SNAPSHOT_THREAD_FROM_CHUNKS = 16;

/**
 * A snapshot's chunks, made into parts in order (the i-th from chunk i): a reader thread reads and
 * checks them (hashes and event ids: `verifyChunk`) from the last one down while this thread takes
 * `inline(i)` (which must read and check chunk i itself) from the first one up until the two meet;
 * then this thread makes `verified(i, bytes)` of each the other checked. So this thread never waits
 * for the other (whose start-up is ~130 ms), gains as much as the other thread gets done, and does
 * it all itself on one core or if the thread fails or finds a chunk bad: the thread only ever saves
 * time, and every error is one this thread found.
 */
export function* readSnapshotChunks<T>(
  gitDir: string,
  snapshot: string,
  refs: readonly SnapshotChunkRef[],
  inline: (i: number) => T,
  verified: (i: number, bytes: Uint8Array) => T,
  opts: ReadSnapshotOptions = {},
): Generator<T> {
  if (availableParallelism() < 2 || refs.length < (opts.threadFrom ?? SNAPSHOT_THREAD_FROM_CHUNKS)) {
    for (let i = 0; i < refs.length; i++) yield inline(i);
    return;
  }
  const { MessageChannel, Worker, receiveMessageOnPort } = workerThreads();
  const { port1: answers, port2 } = new MessageChannel();
  const setup = readerSetup(gitDir, snapshot, port2);
  const worker = new Worker(READER_URL, { workerData: setup, transferList: [port2] });
  worker.on('error', () => undefined); // what it did not answer is read here
  worker.unref();
  const checked: Uint8Array[] = new Array(refs.length);
  let low = refs.length; // chunks from here up were checked by the thread
  try {
    for (let j = refs.length - 1; j >= 0; j--) worker.postMessage({ snapshotChunks: [refs[j]] } satisfies ReadTask);
    let listening = true;
    for (let i = 0; i < low; ) {
      const answer = listening ? (receiveMessageOnPort(answers)?.message as ReadResult | undefined) : undefined;
      if (answer?.ok) {
        checked[--low] = new Uint8Array(answer.chunks.bytes);
      } else {
        // A chunk the thread found bad is read here too, and the error is this thread's own.
        if (answer) listening = false;
        yield inline(i++);
      }
    }
  } finally {
    answers.close();
    stopReader(worker, setup);
  }
  for (let i = low; i < refs.length; i++) yield verified(i, checked[i]);
}
