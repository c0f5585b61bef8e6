/**
 * Which snapshot a rebuild or a new snapshot starts from: the newest one that can stand in for a
 * prefix of the WAL, and a warning for each passed over. `snapshot gc` orders snapshots the same
 * way (`snapshotsNewestFirst`).
 */
import { loadFastHash } from '../core/hash.js';
import { warnings } from '../core/warnings.js';
import { listSnapshots, newestFirst, offWalReason, readSnapshotMeta, type SnapshotMeta, type SnapshotRef } from '../git/snapshot.js';
import { isTrusted, judgeSnapshot, readVerdicts, recordedCount, type VerdictRecord } from '../git/snapshot-trust.js';
import type { RepoContext } from './context.js';

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
export async function snapshotsNewestFirst(ctx: RepoContext, verdicts: ReadonlyMap<string, VerdictRecord>): Promise<SnapshotRef[]> {
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
  // One walk of the WAL for all of them: many snapshots off it (after a sync rebased) each walked it all.
  const onWal = ctx.wal.ancestorTest(head);
  for (const s of await snapshotsNewestFirst(ctx, verdicts)) {
    try {
      const meta = readSnapshotMeta(ctx.wal.objects, s.oid);
      if (!(await onWal(meta.wal_head))) {
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

export const GC_HINT = '`grit snapshot gc` deletes snapshots that can never be used';

/**
 * A warning for each snapshot `command` passed over (`newestUsableSnapshot`), and what it did
 * instead (`fellBack`); `offWalHint` once when one is off the WAL's chain.
 */
export function warnSkipped(command: string, skipped: readonly SkippedSnapshot[], fellBack: string, offWalHint: string): void {
  for (const s of skipped) warnings.send(`${command} did not use ${s.ref}: ${s.reason}; ${fellBack}`);
  if (skipped.some((s) => s.offWal)) warnings.send(offWalHint);
}
