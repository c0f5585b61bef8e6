/**
 * Reading the WAL into the store in bounded store transactions, with a progress bar: a rebuild's
 * replay, and the first build of an empty store (`RepoContext.refresh`), where the WAL can be long.
 * Its segmented walk (`walkWal`) is how the db and snapshot commands read the WAL too.
 */
import { GritError } from '../core/errors.js';
import type { Event } from '../core/event.js';
import type { AdmitResult } from '../core/integrity.js';
import { terminalProgress, type ProgressSink } from '../core/progress.js';
import { EMPTY_META, isEmptyStore } from '../core/store.js';
import { StoreFill } from '../core/store-fill.js';
import { foldsOnHelper } from '../core/fill-folds.js';
import type { SnapshotSink } from '../git/snapshot.js';
import { decodeWalChunk, walChunkRecords, type WalChunk } from '../git/wal.js';
import { readWal, type ReadWalOptions } from '../git/wal-read-ahead.js';
import type { RepoContext } from './context.js';
import type { StoreReplacement } from './store-replacement.js';

/** WAL commits read per step of a walk (progress granularity). */
const SEGMENT_COMMITS = 512;
/**
 * Events a replay applies per store transaction. Into an empty store the first transaction folds
 * issues from the batch alone, and later ones mostly fold onto the stored fold states, but each
 * transaction still has its own fixed costs: fewer, larger ones are cheaper; the bound only caps
 * memory on huge WALs.
 */
const APPLY_EVENTS = 50_000;
/**
 * Events a replay into an empty store gathers while reading them before its first transaction
 * (`StoreFill`): bounds what a huge WAL holds in memory (log keys and record spans, ~85 bytes an
 * event, and the chunks' bytes).
 */
const FILL_EVENTS = 250_000;

/**
 * Walks the WAL commits after `fromExclusive` up to `head`, handing them to `fn` a segment at a
 * time and reporting its progress, labelled `label`, to `progress`. Segments come oldest first, `fn` given the last
 * commit of each (all up to it was handed over), unless `opts.newestFirstUpTo` let them come
 * newest first (`ReadWalOptions`): then it is given null. When `fromExclusive` is not on the
 * head's chain, the whole chain is walked. Returns false if `fn` asked to stop.
 */
export async function walkWal(
  ctx: RepoContext,
  fromExclusive: string | null,
  head: string,
  label: string,
  fn: (chunks: WalChunk[], upTo: string | null) => boolean | Promise<boolean>,
  opts: ReadWalOptions = {},
  progress: ProgressSink = terminalProgress(),
): Promise<boolean> {
  const wal = ctx.wal;
  try {
    // First the chain of commits (commit objects only), so segments and progress have a total.
    const { chain, inOrder, segments } = await readWal(wal, fromExclusive, head, SEGMENT_COMMITS, opts);
    const bar = progress.bar(label, chain.length);
    try {
      let done = 0;
      for await (const segment of segments) {
        if (!(await fn(segment, inOrder ? segment[segment.length - 1].oid : null))) return false;
        done += segment.length;
        bar.update(done);
      }
      return true;
    } finally {
      bar.done();
    }
  } finally {
    wal.objects.close();
  }
}

/**
 * Brings the store up to the WAL head like `RepoContext.refresh`, with a progress bar while
 * reading, and in bounded store transactions: used for rebuilds, where the tail can be long. Into
 * an empty store the first `fillEvents` events are gathered as they are read and written at once,
 * as a snapshot's are (`StoreFill`); the rest go in batches of `APPLY_EVENTS`.
 */
export async function replayWal(ctx: RepoContext, opts: ReplayOptions = {}): Promise<string | null> {
  const head = await ctx.wal.head();
  if (head !== null && !(await replayTo(ctx, head, opts, true))) await replayTo(ctx, head, opts, false);
  // An empty WAL (or one the replay found nothing to write for) still replaces the store.
  await opts.replacing?.empty();
  return ctx.refresh();
}

export interface ReplayOptions {
  /** Events a fill may gather (default `FILL_EVENTS`; tests lower it). */
  fillEvents?: number;
  /** See `ReadWalOptions` (tests lower it). */
  readAheadFrom?: number;
  /** See `ReadWalOptions`. */
  expectLong?: boolean;
  /** See `FillOptions` (tests lower it). */
  foldThreadFrom?: number;
  /**
   * The store is replaced (`grit rebuild`): until the replay first writes, it reads as into an
   * empty store, and it empties the store just before that write.
   */
  replacing?: StoreReplacement;
  /** Where the replay's progress goes (default: this process's terminal). */
  progress?: ProgressSink;
}

/**
 * `replayWal`'s work. With `newestFirst`, a fill of the whole WAL (its commits state at most
 * `fillEvents` events) is read newest first, its reading started while the chain is walked;
 * returns false, having written nothing, when the commits hold more events than they state.
 */
async function replayTo(ctx: RepoContext, head: string, { fillEvents = FILL_EVENTS, readAheadFrom, expectLong, foldThreadFrom, replacing, progress }: ReplayOptions, newestFirst: boolean): Promise<boolean> {
  const meta = replacing && !replacing.emptied ? EMPTY_META : ctx.store.getMeta();
  let applied = meta.wal_head;
  if (applied === head) return true;
  // Sized for all it may gather (up to FILL_EVENTS: a test may lift the bound): memory never
  // written to costs nothing, and growing copies.
  let fill = isEmptyStore(meta) ? new AdmittedFill(ctx, new StoreFill(Math.min(fillEvents, FILL_EVENTS), ctx.copyOrder())) : null;
  // Read newest first, a fill takes records undecoded where no signature is checked; the store
  // decodes them as it writes them, and one that does not decode makes the replay start over in
  // order, reading every event decoded, which reports it as the WAL commit it is in.
  const undecoded = newestFirst && fill !== null && !ctx.checksSignatures();
  let pending: Event[] = [];
  const flush = async (to: string): Promise<boolean> => {
    await replacing?.empty();
    if (fill) {
      let filled: boolean;
      try {
        filled = ctx.store.fill(fill.fill, to, { foldThreadFrom });
      } catch (err) {
        if (!undecoded || !(err instanceof GritError) || err.code !== 'wal_error') throw err;
        startOver = true;
        return false;
      }
      if (filled) fill.report();
      fill = null;
      if (!filled) return false; // someone else moved the store
    } else {
      const admitted = ctx.admit(pending);
      pending = [];
      if (!ctx.store.apply(admitted.events, applied, to)) return false;
      ctx.reportAdmitted(admitted);
    }
    applied = to;
    return true;
  };
  let startOver = false;
  const read = (chunks: WalChunk[], upTo: string | null): boolean | Promise<boolean> => {
    if (fill) {
      fill.takeChunks(chunks, undecoded);
      if (upTo === null) {
        // Read newest first on the word of the commits' messages: holding more events than
        // they state, the WAL is read again, in order.
        startOver = fill.fill.size > fillEvents;
        return !startOver;
      }
      return fill.fill.size < fillEvents || flush(upTo);
    }
    for (const c of chunks) for (const e of decodeWalChunk(c).events) pending.push(e);
    return pending.length < APPLY_EVENTS || flush(upTo!);
  };
  const done = await walkWal(ctx, applied, head, 'replaying WAL', read, {
    readAheadFrom,
    expectLong,
    newestFirstUpTo: fill && newestFirst ? fillEvents : 0,
    // In shared memory when the fill will fold on a helper thread too (src/core/fill-folds.ts).
    sharedMemory: (events) => foldsOnHelper(events, foldThreadFrom),
  }, progress);
  if (!startOver && done && applied !== head) await flush(head);
  return !startOver;
}

/**
 * Fills a `StoreFill` with the events (a snapshot's, or a replay's) that the signature policy
 * admits; the policy's findings are reported once, after the store was filled.
 */
export class AdmittedFill implements SnapshotSink {
  readonly problems: AdmitResult['problems'] = [];
  private refused = false;
  constructor(
    private readonly ctx: RepoContext,
    readonly fill: StoreFill,
  ) {}
  take(events: Event[]): void {
    const admitted = this.ctx.admit(events);
    for (const p of admitted.problems) this.problems.push(p);
    this.refused ||= admitted.refused;
    this.fill.add(admitted.events);
  }
  /**
   * A segment's events: with `undecoded` (no signature is checked), as records where
   * `scanChunkRecords` vouches for them; the rest decoded and admitted in one call (admitting
   * loads the keyring: once per chunk, that was most of a signed replay's time).
   */
  takeChunks(chunks: readonly WalChunk[], undecoded: boolean): void {
    const decoded: Event[] = [];
    for (const chunk of chunks) {
      const records = undecoded ? walChunkRecords(chunk) : null;
      if (records) this.fill.addRecords(records);
      else for (const e of decodeWalChunk(chunk).events) decoded.push(e);
    }
    if (decoded.length > 0) this.take(decoded);
  }
  report(): void {
    this.ctx.reportAdmitted({ events: [], problems: this.problems, refused: this.refused });
  }
}
