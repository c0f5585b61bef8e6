/**
 * `snapshot` and `snapshot gc` (SPEC §3), and `maybeAutoSnapshot` for callers that want the
 * snapshot policy applied (sync after a push). The snapshot refs themselves are src/git/snapshot.ts's.
 * See docs/operations.md.
 */
import { DAY_MS } from '../core/duration.js';
import { GritError } from '../core/errors.js';
import { plural } from '../core/plural.js';
import {
  createSnapshot,
  gcSnapshots,
  HeldRecords,
  listSnapshots,
  newestFirst,
  presentChunkFiles,
  readSnapshotMeta,
  SnapshotCopies,
  unusableSnapshots,
  type SnapshotSink,
  type SnapshotMeta,
  type SnapshotRef,
} from '../git/snapshot.js';
import { isTrusted, readVerdicts, recordedCount, recordVerdict, refusedSnapshots } from '../git/snapshot-trust.js';
import { openBase, planSnapshot, type SnapshotPlan } from '../git/snapshot-reuse.js';
import { decodeWalChunk } from '../git/wal.js';
import { readRef } from '../git/refs.js';
import { mergeBase, trackingPrefix } from '../git/transport.js';
import { optInt, type Args } from './args.js';
import { SNAPSHOT_KEEP } from './ranges.js';
import type { RepoContext } from './context.js';
import { walkWal } from './wal-replay.js';
import { GC_HINT, newestUsableSnapshot, snapshotsNewestFirst, warnSkipped, type LoadedSnapshot, type SkippedSnapshot } from './usable-snapshot.js';

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
        return planSnapshot(ctx.wal.objects, opened, await walAfter(ctx, meta.wal_head, head, new SnapshotCopies()));
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
  const plan = base?.sink ?? planFromWal(await walAfter(ctx, null, head, new HeldRecords()));
  const { ref, commit, meta } = await createSnapshot(ctx.repo.commonDir, ctx.wal.objects, plan.reused, plan.events, head, ctx.actorId, plan.baseBlobs);
  // Made of a trusted snapshot and the WAL after it: it needs no check of its own.
  recordVerdict(ctx.repo.commonDir, commit, { verdict: 'made', copies: plan.copies, events: meta.event_count });
  // `event_count` counts records (a snapshot holds every copy): `copies` says how many are further copies.
  return { snapshot_ref: ref, wal_head: head, event_count: meta.event_count, created: true, ...(plan.copies ? { copies: plan.copies } : {}), ...past };
}

/** Each copy the WAL holds once, of its commits after `fromExclusive` (null: all) up to `head`. */
async function walAfter<T extends SnapshotSink>(ctx: RepoContext, fromExclusive: string | null, head: string, events: T): Promise<T> {
  await walkWal(ctx, fromExclusive, head, 'reading WAL', (chunks) => {
    for (const c of chunks) events.take(decodeWalChunk(c).events);
    return true;
  });
  return events;
}

const planFromWal = (events: HeldRecords): SnapshotPlan => ({ reused: [], events, copies: events.copies(), baseBlobs: new Set() });

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
        const never = await unusableSnapshots(ctx.wal.objects, all, ctx.wal.ancestorTest(head), refusedSnapshots(ctx.repo.commonDir));
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
