/**
 * `rebuild [--from-snapshot]` (SPEC §3, §4): the store emptied and built again from the WAL, or
 * from the newest usable snapshot and the WAL after it; its copy of the store goes back if the
 * replay fails. See docs/operations.md.
 */
import type { ProgressSink } from '../core/progress.js';
import { StoreFill } from '../core/store-fill.js';
import { foldsOnHelper } from '../core/fill-folds.js';
import { warnings } from '../core/warnings.js';
import { readSnapshotInto, type SnapshotMeta } from '../git/snapshot.js';
import { bool, type Args } from './args.js';
import type { ContextOptions, RepoContext } from './context.js';
import { refuseIfDaemonHolds } from './lockfile.js';
import { rebuildCopy } from './rebuild-copy.js';
import { StoreReplacement } from './store-replacement.js';
import { AdmittedFill, replayWal } from './wal-replay.js';
import { GC_HINT, newestUsableSnapshot, warnSkipped, type LoadedSnapshot, type SkippedSnapshot } from './usable-snapshot.js';

/**
 * A rebuild of a store that held this many events starts the WAL reader thread with the walk
 * (`ReadWalOptions.expectLong`). That many events are at least the reader's 8,192 commits unless
 * the commits hold four events or more on average; a wrong guess costs the thread's start on the
 * other core, ~20 ms (docs/performance.md, Rebuild).
 */
const LONG_REPLAY_EVENTS = 32_768;

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
