/**
 * Store and WAL maintenance (SPEC §3, §5): `rebuild [--from-snapshot]`, `db stats|check|verify`,
 * `snapshot`, `snapshot gc`, and `maybeAutoSnapshot` for callers that want the snapshot policy
 * applied (sync after a push). See docs/operations.md.
 */
import { statSync } from 'node:fs';
import { decodeStrict } from '../core/cbor.js';
import type { RepoConfig } from '../core/config.js';
import { GritError } from '../core/errors.js';
import { CopyCounter, eventFromRecord, extraCopies, type Event } from '../core/event.js';
import { loadFastHash } from '../core/hash.js';
import { fromHex, toHex } from '../core/hex.js';
import { loadKeyring, Verifier, type AdmitResult, type VerifyReport } from '../core/integrity.js';
import { terminalProgress, type ProgressSink } from '../core/progress.js';
import { foldIssue, type Issue } from '../core/projection.js';
import { decodeStored } from '../core/issue-rows.js';
import { ISSUE_BYTES } from '../core/log-key.js';
import { EMPTY_META, eventIdOfKey, isEmptyStore, keyMatches, type StoreMeta } from '../core/store.js';
import { StoreFill } from '../core/store-fill.js';
import { foldsOnHelper } from '../core/fill-folds.js';
import {
  createSnapshot,
  gcSnapshots,
  listSnapshots,
  newestFirst,
  offWalReason,
  presentChunkFiles,
  readSnapshotInto,
  readSnapshotMeta,
  SnapshotCopies,
  unusableSnapshots,
  type SnapshotMeta,
  type SnapshotRef,
  type SnapshotSink,
} from '../git/snapshot.js';
import { isTrusted, judgeSnapshot, readVerdicts, recordedCount, recordVerdict, refusedSnapshots, type VerdictRecord } from '../git/snapshot-trust.js';
import { openBase, planSnapshot, type SnapshotPlan } from '../git/snapshot-reuse.js';
import { decodeWalChunk, walChunkRecords, type WalChunk } from '../git/wal.js';
import { readWal, type ReadWalOptions } from '../git/wal-read-ahead.js';
import { readRef } from '../git/refs.js';
import { mergeBase, trackingPrefix } from '../git/transport.js';
import { bool, optInt, type Args } from './args.js';
import { SNAPSHOT_KEEP } from './ranges.js';
import type { ContextOptions, RepoContext } from './context.js';
import { refuseIfDaemonHolds } from './lockfile.js';
import { rebuildCopy } from './rebuild-copy.js';
import { StoreReplacement } from './store-replacement.js';
import { plural } from '../core/plural.js';
import { warnings } from '../core/warnings.js';

const DAY_MS = 86_400_000;
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
 * A rebuild of a store that held this many events starts the WAL reader thread with the walk
 * (`ReadWalOptions.expectLong`). That many events are at least the reader's 8,192 commits unless
 * the commits hold four events or more on average; a wrong guess costs the thread's start on the
 * other core, ~20 ms (docs/performance.md, Rebuild).
 */
const LONG_REPLAY_EVENTS = 32_768;

// ---------------------------------------------------------------------------------------------
// Reading the WAL in segments

/**
 * Walks the WAL commits after `fromExclusive` up to `head`, handing them to `fn` a segment at a
 * time and reporting its progress, labelled `label`, to `progress`. Segments come oldest first, `fn` given the last
 * commit of each (all up to it was handed over), unless `opts.newestFirstUpTo` let them come
 * newest first (`ReadWalOptions`): then it is given null. When `fromExclusive` is not on the
 * head's chain, the whole chain is walked. Returns false if `fn` asked to stop.
 */
async function walkWal(
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

// ---------------------------------------------------------------------------------------------
// Snapshots

export interface LoadedSnapshot<S> {
  ref: string;
  oid: string;
  meta: SnapshotMeta;
  /** What `load` made of it (`newestUsableSnapshot`). */
  sink: S;
}

/** A snapshot `newestUsableSnapshot` passed over, and why. */
export interface SkippedSnapshot {
  ref: string;
  reason: string;
  /** Its wal_head is off the WAL's chain: it can never be used (`snapshot gc` deletes it first). */
  offWal?: boolean;
}

/**
 * Every snapshot ref, newest first (`newestFirst`: by what it covers): a trusted one by the count
 * its verdict records, any other by its snapshot.json. Leaves `ctx.wal.objects` open.
 */
async function snapshotsNewestFirst(ctx: RepoContext, verdicts: ReadonlyMap<string, VerdictRecord>): Promise<SnapshotRef[]> {
  return newestFirst(ctx.wal.objects, await listSnapshots(ctx.repo.commonDir), recordedCount(verdicts));
}

/**
 * The newest snapshot that can stand in for a prefix of the current WAL: readable, valid as far
 * as `load` reads it, whose wal_head is on the chain of `head`, and trusted (src/git/snapshot-trust.ts: made here, or
 * checked against the WAL, which for a snapshot from elsewhere with no verdict yet happens here,
 * once), as `load` reads it (given its meta and verdict; a rebuild reads every chunk into a sink,
 * a new snapshot only what it does not reuse). Unusable snapshots, and those `load` throws for, are
 * skipped (and reported through `skipped`). Leaves `ctx.wal.objects` open for the caller to close:
 * a rebuild goes on to read the WAL after the snapshot with the pack indexes loaded here (a
 * 100k-event WAL's take ~30 ms to load again).
 */
export async function newestUsableSnapshot<S>(
  ctx: RepoContext,
  head: string | null,
  load: (oid: string, meta: SnapshotMeta, verdict: VerdictRecord) => S | Promise<S>,
  skipped: SkippedSnapshot[] = [],
): Promise<LoadedSnapshot<S> | null> {
  if (head === null) return null;
  const verdicts = readVerdicts(ctx.repo.commonDir);
  for (const s of await snapshotsNewestFirst(ctx, verdicts)) {
    try {
      const meta = readSnapshotMeta(ctx.wal.objects, s.oid);
      if (!(await ctx.wal.isAncestor(meta.wal_head, head))) {
        skipped.push({ ref: s.ref, reason: offWalReason(meta.wal_head), offWal: true });
        continue;
      }
      await loadFastHash(); // a snapshot holds thousands of events to verify
      const judged = await judgeSnapshot(ctx.wal, s.oid, verdicts);
      if (!isTrusted(judged)) {
        skipped.push({ ref: s.ref, reason: `it does not match the WAL: ${judged.reason}` });
        continue;
      }
      return { ref: s.ref, oid: s.oid, meta, sink: await load(s.oid, meta, judged) };
    } catch (err) {
      skipped.push({ ref: s.ref, reason: (err as Error).message });
    }
  }
  return null;
}

/**
 * Fills a `StoreFill` with the events (a snapshot's, or a replay's) that the signature policy
 * admits; the policy's findings are reported once, after the store was filled.
 */
class AdmittedFill implements SnapshotSink {
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

export interface SnapshotResult {
  snapshot_ref: string;
  /** The WAL commit the snapshot covers, up to and including. */
  wal_head: string;
  event_count: number;
  /** False when the newest snapshot already covered `wal_head` (no new ref was written). */
  created: boolean;
  /** Of `event_count`, the records that are further copies of an event (only when a new snapshot holds some). */
  copies?: number;
  /** The local WAL head when it is past `wal_head`: its commits after `wal_head` are not in the snapshot. */
  local_wal_head?: string;
}

/** The remote whose WAL, as last fetched, bounds a snapshot taken by hand: the one a plain `grit sync` uses. */
const SNAPSHOT_REMOTE = 'origin';

/**
 * The newest commit of the local WAL that `remote`'s WAL also held when it was last fetched, or
 * `local` when nothing was fetched from it (or nothing is shared). A sync rebases only the local
 * commits after that one, so a snapshot taken there stays on the WAL (docs/decisions.md,
 * "A snapshot taken by hand covers what the remote has").
 */
async function sharedHead(ctx: RepoContext, remote: string, local: string): Promise<string> {
  const fetched = await readRef(ctx.repo.commonDir, `${trackingPrefix(remote)}wal`);
  if (fetched === null || fetched === local) return local;
  // A tracking ref git cannot walk (its fetch was cut short) tells nothing about the remote.
  return (await mergeBase(ctx.repo.commonDir, local, fetched).catch(() => null)) ?? local;
}

/**
 * Writes a snapshot of the WAL up to its current head, or with `remote` up to the newest commit
 * that remote's WAL had too (`sharedHead`): the newest usable snapshot's events plus the WAL after
 * it (or the whole WAL). Built from git, never from the local store, so events this actor refused
 * under `signature_policy = reject` are still in it for others.
 */
export async function writeSnapshot(ctx: RepoContext, remote: string | null): Promise<SnapshotResult> {
  const local = await ctx.wal.head();
  if (local === null) {
    throw new GritError('not_found', 'nothing to snapshot: the WAL is empty', {
      suggestion: 'create an issue first (`grit issue create --title "…"`)',
    });
  }
  const head = remote === null ? local : await sharedHead(ctx, remote, local);
  const past = head === local ? {} : { local_wal_head: local };
  let base: LoadedSnapshot<SnapshotPlan> | null;
  const skipped: SkippedSnapshot[] = [];
  try {
    // Nothing new: found from snapshot.json alone, before decoding the snapshot's events (~1 s and
    // 190 MB for 100k: docs/performance.md).
    const newest = await newestTrusted(ctx);
    if (newest?.meta.wal_head === head) {
      return { snapshot_ref: newest.ref, wal_head: head, event_count: newest.meta.event_count, created: false, ...past };
    }
    // A base whose chunks cannot all be read is passed over for an older one, as a rebuild does.
    base = await newestUsableSnapshot(
      ctx,
      head,
      async (oid, meta, verdict) => {
        // Opened first: one that covers the head but lost objects is passed over too.
        const opened = openBase(ctx.wal.objects, oid, meta, verdict.copies ?? null);
        if (meta.wal_head === head) return { reused: [], events: [], copies: 0, baseBlobs: new Set<string>() }; // nothing to write: see below
        return planSnapshot(ctx.wal.objects, opened, await walAfter(ctx, meta.wal_head, head));
      },
      skipped,
    );
  } finally {
    ctx.wal.objects.close();
  }
  warnSkipped('snapshot', skipped, base ? `built on ${base.ref} instead` : 'wrote one from the whole WAL', GC_HINT);
  if (base && base.meta.wal_head === head) {
    return { snapshot_ref: base.ref, wal_head: head, event_count: base.meta.event_count, created: false, ...past };
  }
  const plan = base?.sink ?? planFromWal(await walAfter(ctx, null, head));
  const { ref, commit, meta } = await createSnapshot(ctx.repo.commonDir, ctx.wal.objects, plan.reused, plan.events, head, ctx.actorId, plan.baseBlobs);
  // Made of a trusted snapshot and the WAL after it: it needs no check of its own.
  recordVerdict(ctx.repo.commonDir, commit, { verdict: 'made', copies: plan.copies, events: meta.event_count });
  // `event_count` counts records (a snapshot holds every copy): `copies` says how many are further copies.
  return { snapshot_ref: ref, wal_head: head, event_count: meta.event_count, created: true, ...(plan.copies ? { copies: plan.copies } : {}), ...past };
}

/** Each copy the WAL holds once, of its commits after `fromExclusive` (null: all) up to `head`. */
async function walAfter(ctx: RepoContext, fromExclusive: string | null, head: string): Promise<SnapshotCopies> {
  const events = new SnapshotCopies();
  await walkWal(ctx, fromExclusive, head, 'reading WAL', (chunks) => {
    for (const c of chunks) events.take(decodeWalChunk(c).events);
    return true;
  });
  return events;
}

const planFromWal = (events: SnapshotCopies): SnapshotPlan => {
  const all = [...events.byKey.values()];
  return { reused: [], events: all, copies: extraCopies(all), baseBlobs: new Set() };
};

/**
 * The newest snapshot this repository trusts by its recorded verdict, its meta only (no event is
 * read, its objects checked to be there), or null when there is none or it cannot be read. Only a
 * trusted snapshot counts: one from elsewhere, unchecked or refused, may claim anything. Leaves
 * `ctx.wal.objects` open.
 */
async function newestTrusted(ctx: RepoContext): Promise<{ ref: string; meta: SnapshotMeta } | null> {
  try {
    const verdicts = readVerdicts(ctx.repo.commonDir);
    const all = await listSnapshots(ctx.repo.commonDir);
    const [trusted] = newestFirst(ctx.wal.objects, all.filter((s) => isTrusted(verdicts.get(s.oid))), recordedCount(verdicts));
    if (!trusted) return null;
    const meta = readSnapshotMeta(ctx.wal.objects, trusted.oid);
    presentChunkFiles(ctx.wal.objects, trusted.oid, meta);
    return { ref: trusted.ref, meta };
  } catch {
    return null; // an unreadable or incomplete newest snapshot: as if there were none
  }
}

/**
 * How a snapshot created at `createdTs` is past `maxAgeDays` by this clock ("9.0 days old"), or
 * null when it is not. A date ahead of this clock is the writer's clock running ahead (or this one
 * behind): it counts by how far ahead it is, so a date far ahead does not hold the age rule off
 * until this clock reaches it, and the snapshot written in its place is dated by this clock.
 */
function snapshotAge(createdTs: number, now: number, maxAgeDays: number): string | null {
  const days = Math.abs(now - createdTs) / DAY_MS;
  if (days <= maxAgeDays) return null;
  return createdTs > now ? `dated ${days.toFixed(1)} days ahead of this clock` : `${days.toFixed(1)} days old`;
}

/** Whether the snapshot policy (repo config `[snapshot]`) asks for a new snapshot now. */
export async function snapshotDue(
  ctx: RepoContext,
  now = Date.now(),
): Promise<{ due: boolean; reason: string; events_since: number }> {
  const head = await ctx.refresh();
  if (head === null) return { due: false, reason: 'the WAL is empty', events_since: 0 };
  const { max_events, max_age_days } = ctx.config.snapshot;
  const count = ctx.store.getMeta().event_count;
  let newest: SnapshotMeta | undefined;
  try {
    newest = (await newestTrusted(ctx))?.meta;
  } finally {
    ctx.wal.objects.close();
  }
  if (!newest) {
    return count > max_events
      ? { due: true, reason: `${plural(count, 'event')} and no snapshot (max_events = ${max_events})`, events_since: count }
      : { due: false, reason: `${plural(count, 'event')}, no snapshot needed yet`, events_since: count };
  }
  if (newest.wal_head === head) return { due: false, reason: 'the newest snapshot covers the WAL head', events_since: 0 };
  // The store's count stands in for the WAL's (they differ only by events refused locally).
  const since = Math.max(0, count - newest.event_count);
  if (since > max_events) return { due: true, reason: `${plural(since, 'event')} since the newest snapshot`, events_since: since };
  const age = snapshotAge(newest.created_ts, now, max_age_days);
  if (age) return { due: true, reason: `the newest snapshot is ${age}`, events_since: since };
  return { due: false, reason: 'within the snapshot policy', events_since: since };
}

/**
 * Writes a snapshot when the policy says one is due (more than `snapshot.max_events` events
 * since the newest snapshot, or the newest older than `snapshot.max_age_days` with new events
 * since). Returns the new snapshot, or null when none was due. Meant to be called after
 * `sync --push` to `remote`; never throws for a policy check, only for a failed write.
 */
export async function maybeAutoSnapshot(ctx: RepoContext, remote: string, now = Date.now()): Promise<SnapshotResult | null> {
  const { due } = await snapshotDue(ctx, now);
  // Up to what the push left on the remote (its tracking ref), not the local head: a write that
  // landed since (the daemon, another process) would be rebased away by a later sync, and the
  // snapshot, pushed and never rewritten, would name a head no clone's WAL ever holds.
  return due ? writeSnapshot(ctx, remote) : null;
}

export async function snapshot(ctx: RepoContext): Promise<SnapshotResult> {
  return writeSnapshot(ctx, SNAPSHOT_REMOTE);
}

export interface SnapshotGcResult {
  deleted: string[];
  kept: string[];
  /** Of `deleted`, the snapshots that could never be used (`unusableSnapshots`): deleted whatever `--keep` says. */
  unusable: string[];
}

/**
 * `snapshot gc [--keep N]`: keeps the N newest by what they cover (`newestFirst`), not by name.
 * Snapshots that can never be used (unreadable, or their wal_head off the WAL's chain) go first
 * and take no newest slot. Judging them walks the WAL's commits once a snapshot; with no WAL head, or a WAL
 * that cannot be walked, none is judged (a snapshot may then be the last copy of the events) and
 * only the count applies.
 */
export async function snapshotGc(ctx: RepoContext, args: Args): Promise<SnapshotGcResult> {
  const keep = optInt(args, 'keep', SNAPSHOT_KEEP) ?? SNAPSHOT_KEEP.default;
  const head = await ctx.wal.head();
  let unusable = new Set<string>();
  let all: SnapshotRef[];
  try {
    all = await snapshotsNewestFirst(ctx, readVerdicts(ctx.repo.commonDir));
    if (head !== null) {
      try {
        const never = await unusableSnapshots(ctx.wal.objects, all, (walHead) => ctx.wal.isAncestor(walHead, head), refusedSnapshots(ctx.repo.commonDir));
        unusable = new Set(never.map((s) => s.ref));
      } catch {
        // A WAL that cannot be walked: none is judged (the set is still empty).
      }
    }
  } finally {
    ctx.wal.objects.close();
  }
  const { deleted, kept } = await gcSnapshots(ctx.repo.commonDir, all, keep, unusable);
  return { deleted, kept, unusable: deleted.filter((ref) => unusable.has(ref)) };
}

// ---------------------------------------------------------------------------------------------
// Rebuild

export interface RebuildResult {
  wal_head: string | null;
  event_count: number;
  from_snapshot: boolean;
  /** The snapshot the rebuild started from (null for a full replay). */
  snapshot_ref: string | null;
  /** With `--from-snapshot`, the snapshots it passed over and why (absent when none was). */
  snapshots_skipped?: { snapshot_ref: string; reason: string }[];
}

/**
 * Empties the store and replays the WAL. With `fromSnapshot`, first loads the newest usable
 * snapshot and replays only the WAL after its wal_head; without a usable one this is a full replay
 * (`from_snapshot: false` says so). Both give the same state.
 */
export async function rebuildStore(ctx: RepoContext, fromSnapshot: boolean, progress?: ProgressSink): Promise<RebuildResult> {
  ctx.takeOverStore();
  await restoreLostFirst(ctx);
  const head = await ctx.wal.head();
  let snap: LoadedSnapshot<AdmittedFill> | null = null;
  const skipped: SkippedSnapshot[] = [];
  let wal_head: string | null;
  try {
    const held = ctx.store.getMeta().event_count;
    // The replay may find the WAL unreadable (objects lost) only once the store is emptied, and
    // the store may then be the last readable copy of those events: a copy of it goes back if so.
    // LMDB makes it on a thread of its own while the snapshot or the WAL is read here.
    const replacing = new StoreReplacement(ctx.store, rebuildCopy(ctx.actor.dir, held));
    try {
      const fill = (oid: string, meta: SnapshotMeta) => {
        const sink = new AdmittedFill(ctx, new StoreFill(meta.event_count, ctx.copyOrder()));
        // In shared memory when the fill will fold on a helper thread too (src/core/fill-folds.ts).
        readSnapshotInto(ctx.wal.objects, oid, sink, { sharedMemory: foldsOnHelper(meta.event_count) });
        return sink;
      };
      snap = fromSnapshot ? await newestUsableSnapshot(ctx, head, fill, skipped) : null;
      try {
        if (snap) {
          await replacing.empty();
          if (ctx.store.fill(snap.sink.fill, snap.meta.wal_head)) snap.sink.report();
        }
        // The store held about what the WAL holds: a long replay is known before the walk shows it.
        wal_head = await replayWal(ctx, { expectLong: !snap && held >= LONG_REPLAY_EVENTS, replacing, progress });
      } catch (err) {
        if (replacing.copy && replacing.emptied) await ctx.restoreStore(replacing.copy.path);
        throw err;
      }
    } finally {
      await replacing.discardCopy();
    }
  } finally {
    ctx.wal.objects.close();
  }
  ctx.store.markRebuilt();
  const result: RebuildResult = { wal_head, event_count: ctx.store.getMeta().event_count, from_snapshot: snap !== null, snapshot_ref: snap?.ref ?? null };
  // Asked for a snapshot and there is none at all: said, or the full replay looks like a bug.
  if (fromSnapshot && head !== null && !snap && skipped.length === 0) {
    warnings.send('rebuild --from-snapshot found no snapshot (refs/grit/snapshots/ is empty): rebuilt from the whole WAL; `grit snapshot` writes one');
  }
  if (skipped.length === 0) return result;
  // Asked for a snapshot, the user learns why one was passed over (else a full replay looks like a bug).
  warnSkipped('rebuild --from-snapshot', skipped, snap ? `used ${snap.ref} instead` : 'rebuilt from the whole WAL', `${GC_HINT}; \`grit snapshot\` writes a usable one`);
  return { ...result, snapshots_skipped: skipped.map((s) => ({ snapshot_ref: s.ref, reason: s.reason })) };
}

const GC_HINT = '`grit snapshot gc` deletes snapshots that can never be used';

/**
 * A warning for each snapshot `command` passed over (`newestUsableSnapshot`), and what it did
 * instead (`fellBack`); `offWalHint` once when one is off the WAL's chain.
 */
function warnSkipped(command: string, skipped: readonly SkippedSnapshot[], fellBack: string, offWalHint: string): void {
  for (const s of skipped) warnings.send(`${command} did not use ${s.ref}: ${s.reason}; ${fellBack}`);
  if (skipped.some((s) => s.offWal)) warnings.send(offWalHint);
}

/**
 * A rebuild reads only the WAL: a store built from a head that plain git since overwrote or
 * deleted is caught up first, which appends the events only it still has to the WAL again (lost-events.ts).
 * A store too damaged to say its head is not asked (it is what the rebuild replaces); a store at
 * or behind the WAL head, the usual case, costs a walk of the commits it is behind by.
 */
async function restoreLostFirst(ctx: RepoContext): Promise<void> {
  let offChain: boolean;
  try {
    const storeHead = ctx.store.getMeta().wal_head;
    const head = await ctx.wal.head();
    offChain = storeHead !== null && (head === null || !(await ctx.wal.isAncestor(storeHead, head)));
  } catch {
    return;
  }
  if (offChain) await ctx.refresh();
}

export async function rebuild(ctx: RepoContext, args: Args, options: ContextOptions = {}): Promise<RebuildResult> {
  const fromSnapshot = bool(args, 'from_snapshot');
  // As doctor --fix: a daemon's worker rebuilds the store it serves (this process holds the lease).
  refuseIfDaemonHolds(ctx.actor.dir, { line: 'grit rebuild', daemonDoes: 'rebuilds the store it serves' }, process.pid);
  return rebuildStore(ctx, fromSnapshot, options.progress);
}

// ---------------------------------------------------------------------------------------------
// db stats | check | verify

export interface DbStats {
  path: string;
  size_bytes: number;
  event_count: number;
  issue_count: number;
  last_rebuild_ts: number | null;
  events_since_rebuild: number;
  days_since_rebuild: number | null;
  rebuild_recommended: boolean;
}

/**
 * A rebuild is recommended once the store has taken in more than `snapshot.max_events` events
 * since its last rebuild, or was last rebuilt more than `snapshot.max_age_days` ago and has
 * changed since (the same thresholds as snapshots, so a rebuild can start from a recent one).
 */
export function rebuildAdvice(
  meta: StoreMeta,
  config: RepoConfig,
  now = Date.now(),
): { days_since_rebuild: number | null; rebuild_recommended: boolean; reason: string } {
  const days = meta.last_rebuild_ts === null ? null : Math.max(0, Math.round(((now - meta.last_rebuild_ts) / DAY_MS) * 100) / 100);
  const { max_events, max_age_days } = config.snapshot;
  if (meta.events_since_rebuild > max_events) {
    return { days_since_rebuild: days, rebuild_recommended: true, reason: `${plural(meta.events_since_rebuild, 'event')} since the last rebuild (max ${max_events})` };
  }
  if (days !== null && days > max_age_days && meta.events_since_rebuild > 0) {
    return { days_since_rebuild: days, rebuild_recommended: true, reason: `last rebuilt ${days} days ago (max ${max_age_days})` };
  }
  return { days_since_rebuild: days, rebuild_recommended: false, reason: 'within the rebuild thresholds' };
}

export async function dbStats(ctx: RepoContext): Promise<DbStats> {
  const store = ctx.store;
  const { meta, issue_count } = await ctx.read(() => ({ meta: store.getMeta(), issue_count: store.issueCount() }));
  let size_bytes = 0;
  try {
    size_bytes = statSync(store.path).size;
  } catch {
    /* not on disk yet */
  }
  const advice = rebuildAdvice(meta, ctx.config);
  return {
    path: store.path,
    size_bytes,
    event_count: meta.event_count,
    issue_count,
    last_rebuild_ts: meta.last_rebuild_ts,
    events_since_rebuild: meta.events_since_rebuild,
    days_since_rebuild: advice.days_since_rebuild,
    rebuild_recommended: advice.rebuild_recommended,
  };
}

export interface CheckError {
  problem: 'corrupt' | 'key_mismatch' | 'count_mismatch' | 'projection_mismatch' | 'projection_missing' | 'index_mismatch';
  message: string;
  event_id?: string;
  issue_id?: string;
}

export interface DbCheck {
  events_checked: number;
  events_valid: number;
  corrupt_count: number;
  errors: CheckError[];
}

/**
 * Checks the store as it is (no refresh): every stored event decodes and its id is recomputed
 * from its content; the event count matches the store's meta; every issue's stored projection
 * equals the fold of its stored events; the dependency indexes and the summary table match those
 * projections.
 *
 * One read of each record: the issue rows first, then the log, whose keys start with the issue id
 * (log-key.ts), so each issue's events are one run of it, folded as the run ends. Only the rows
 * and one issue's events are held. Problems keep their order: events, the count, issues in id
 * order, missing projections, indexes.
 */
export function checkStore(store: RepoContext['store']): DbCheck {
  const rows = readIssueRows(store);
  const errors: CheckError[] = [];
  let checked = 0;
  let valid = 0;
  const created = new Set<string>();
  // The fold each row is compared with: of its events as `Store.issueEventsOf` reads them.
  const mismatched = new Set<string>();
  const folded = new Set<string>();
  let run = null as { issue: string; events: Event[]; whole: boolean } | null;
  const endRun = () => {
    if (!run) return;
    folded.add(run.issue);
    const ids = rows.byIssue.get(run.issue);
    // An event of the issue does not decode: reported as corrupt, its fold is not judged.
    if (ids && run.whole) {
      let fold: string | null = null;
      try {
        fold = JSON.stringify(foldIssue(run.events));
      } catch {
        /* not judged, as an event that does not decode */
      }
      if (fold !== null) for (const id of ids) if (fold !== JSON.stringify(rows.stored.get(id) ?? null)) mismatched.add(id);
    }
    run = null;
  };
  for (const { key, value } of store.rawEvents()) {
    checked++;
    const issue = key.length >= ISSUE_BYTES ? toHex(key.subarray(0, ISSUE_BYTES)) : null;
    if (run?.issue !== issue) {
      endRun();
      if (issue !== null) run = { issue, events: [], whole: true };
    }
    const keyId = eventIdOfKey(key);
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    let e: Event;
    try {
      e = eventFromRecord(decodeStrict(bytes));
    } catch (err) {
      errors.push({ problem: 'corrupt', event_id: keyId, message: (err as Error).message });
      // What the store reads for the fold: it does not check the id.
      try {
        run?.events.push(decodeStored(bytes));
      } catch {
        if (run) run.whole = false;
      }
      continue;
    }
    run?.events.push(e);
    if (!keyMatches(key, e)) {
      const message = `stored under ${Buffer.from(key).toString('hex')}, not under the key of event ${toHex(e.event_id)}`;
      errors.push({ problem: 'key_mismatch', event_id: keyId, message });
      continue;
    }
    valid++;
    if (e.kind.type === 'IssueCreated') created.add(toHex(e.issue_id));
  }
  endRun();
  const meta = store.getMeta();
  if (meta.event_count !== checked) {
    errors.push({ problem: 'count_mismatch', message: `the store's meta counts ${plural(meta.event_count, 'event')}, it holds ${checked}` });
  }
  for (const row of rows.order) {
    if (row.error) errors.push(row.error);
    else if (folded.has(row.issue) ? mismatched.has(row.id) : rows.stored.get(row.id) !== undefined) {
      errors.push({ problem: 'projection_mismatch', issue_id: row.id, message: `issue ${row.id} differs from the fold of its events` });
    }
  }
  for (const id of created) {
    if (!rows.known.has(id)) errors.push({ problem: 'projection_missing', issue_id: id, message: `issue ${id} has events but no projection` });
  }
  const issues = [...rows.stored.values()].filter((i): i is Issue => i !== undefined);
  for (const message of [...store.depIndexProblems(issues), ...store.summaryProblems(issues)]) errors.push({ problem: 'index_mismatch', message });
  return { events_checked: checked, events_valid: valid, corrupt_count: checked - valid + rows.corrupt, errors };
}

/** The store's issue rows, in id order, each decoded once, for `checkStore`. */
function readIssueRows(store: RepoContext['store']) {
  const known = new Set<string>();
  const order: { id: string; issue: string; error?: CheckError }[] = [];
  /** Decoded rows by id (undefined: the row went missing while read). */
  const stored = new Map<string, Issue | undefined>();
  /** Row ids by the issue (lowercase hex) whose log range `Store.issueEventsOf` reads for them. */
  const byIssue = new Map<string, string[]>();
  let corrupt = 0;
  for (const id of store.issueIds()) {
    known.add(id);
    // A projection under a key that is no issue id, or that does not decode, is a corrupt record
    // like an event that does not decode (damage inside the store file).
    const bytes = fromHex(id, ISSUE_BYTES);
    if (!bytes) {
      corrupt++;
      order.push({ id, issue: '', error: { problem: 'corrupt', message: `an issue row is stored under ${JSON.stringify(id)}, which is not an issue id` } });
      continue;
    }
    const issue = toHex(bytes);
    try {
      stored.set(id, store.getIssue(id));
    } catch (err) {
      corrupt++;
      order.push({ id, issue, error: { problem: 'corrupt', issue_id: id, message: (err as Error).message } });
      continue;
    }
    order.push({ id, issue });
    const ids = byIssue.get(issue);
    if (ids) ids.push(id);
    else byIssue.set(issue, [id]);
  }
  return { known, order, stored, byIssue, corrupt };
}

/**
 * `db check`: the store's check, and `behind_wal` (beyond SPEC §6): how many events the WAL has
 * past the commit the store was built up to, which the store does not hold (a full disk kept it
 * from catching up, or no command ran since the WAL moved); null when that cannot be told (the
 * store's head is off the WAL's chain, or the WAL cannot be read: `doctor` says which).
 */
export async function dbCheck(ctx: RepoContext): Promise<DbCheck & { behind_wal: number | null }> {
  await loadFastHash(); // every stored event id is recomputed
  const check = checkStore(ctx.store);
  return { ...check, behind_wal: await eventsBehindWal(ctx, ctx.store.getMeta().wal_head) };
}

async function eventsBehindWal(ctx: RepoContext, storeHead: string | null): Promise<number | null> {
  try {
    const head = await ctx.wal.head();
    if (head === null || head === storeHead) return 0;
    // walkWal would walk the whole chain from a head off it.
    if (storeHead !== null && !(await ctx.wal.isAncestor(storeHead, head))) return null;
    let n = 0;
    await walkWal(ctx, storeHead, head, 'reading WAL', (chunks) => {
      for (const c of chunks) n += decodeWalChunk(c).events.length;
      return true;
    });
    return n;
  } catch {
    return null;
  }
}

/**
 * Verifies every event of the WAL (not only the store: events refused under `reject` are not in
 * the store) against the known public keys, as it reads them (none held); a WAL that cannot be
 * read to its end adds a `wal_error` ahead of the rest. Extra fields beyond SPEC §6: `policy`,
 * `unverified` (events whose actor's key is unknown) and `known_keys`.
 */
export async function dbVerify(ctx: RepoContext, _args: Args, options: ContextOptions): Promise<VerifyReport & { policy: string; known_keys: number }> {
  const keys = loadKeyring(ctx.repo.gritDir, ctx.actor);
  const verifier = new Verifier(keys);
  const head = await ctx.wal.head();
  const report: VerifyReport & { copies?: number } = verifier.report;
  const copies = new CopyCounter();
  try {
    if (head !== null) {
      const read = (chunks: WalChunk[]) => {
        for (const c of chunks) {
          for (const e of decodeWalChunk(c).events) {
            verifier.check(e);
            copies.add(e);
          }
        }
        return true;
      };
      await walkWal(ctx, null, head, 'reading WAL', read, {}, options.progress);
    }
  } catch (err) {
    report.errors.unshift({ problem: 'wal_error', message: (err as Error).message });
    report.error_count = report.errors.length;
  }
  // `events_checked` counts every copy (each has its own signature): `copies` says how many are further copies.
  if (copies.copies) report.copies = copies.copies;
  return { ...report, policy: ctx.config.signature_policy, known_keys: keys.size };
}
