/** `grit sync` (SPEC §3, docs/sync.md): exchange WAL events, snapshots and locks with a remote. */
import { GritError, toGritError } from '../core/errors.js';
import { crashPoint } from '../core/fault.js';
import { isEmptyStore } from '../core/store.js';
import { warnings } from '../core/warnings.js';
import { redactUrls } from '../core/redact-url.js';
import { syncWal, type AdvanceStep, type SyncOptions, type SyncResult } from '../git/sync.js';
import { pushRefs, resolveRemote } from '../git/transport.js';
import { bool, optText, type Args } from './args.js';
import type { ContextOptions, RepoContext } from './context.js';
import { maybeAutoSnapshot } from './snapshot-commands.js';

export interface AutoSnapshot {
  snapshot_ref: string;
  event_count: number;
  /** Whether the new snapshot ref was pushed to the remote too (teammates import it on pull). */
  pushed: boolean;
}

export interface SyncReply extends SyncResult {
  /**
   * Events this sync brought in whose signature is bad or missing although their actor's key is
   * known (docs/signing.md): `refused` under signature_policy = reject, `kept` under warn.
   */
  signature_problems: { refused: number; kept: number };
  /** The snapshot the policy asked for after a push (docs/operations.md), or null. */
  snapshot: AutoSnapshot | null;
}

/**
 * Applies what a sync brought in. When the store was at `from` (the usual case) only the remote's
 * new events are applied, a step at a time, each in its own store transaction that records the
 * step's head: a pull killed half-way leaves the store at a commit whose events it holds, and the
 * next command catches up from there. A store that was not at `from` (another process moved it)
 * is brought up to `to` by an ordinary refresh.
 */
export async function applyAdvance(ctx: RepoContext, from: string | null, to: string, steps: AsyncIterable<AdvanceStep>): Promise<void> {
  let at = from;
  const meta = ctx.store.getMeta();
  if (meta.wal_head === from) {
    // An empty store that this pull fills whole (a new clone's first sync) holds what a rebuild
    // would build: it counts as one (`db stats`), as the first step alone already does.
    const filling = isEmptyStore(meta);
    for await (const { head, events } of steps) {
      const admitted = ctx.admit(events);
      if (!ctx.store.apply(admitted.events, at, head)) break;
      ctx.reportAdmitted(admitted);
      at = head;
      crashPoint('sync:step-applied');
    }
    if (filling && at === to) ctx.store.markRebuilt();
  }
  if (at !== to) await ctx.refresh();
}

/**
 * After a push, writes the snapshot the policy asks for (`[snapshot]` thresholds) and offers it
 * to the remote. The sync has succeeded by then, so a failure here is a warning, not an error.
 */
async function autoSnapshot(ctx: RepoContext, remote: string, env?: NodeJS.ProcessEnv): Promise<AutoSnapshot | null> {
  try {
    const snap = await maybeAutoSnapshot(ctx, remote);
    if (!snap) return null;
    // Create-only (lease: must not exist): snapshot refs are never rewritten.
    const out = await pushRefs(ctx.repo.commonDir, remote, [{ src: snap.snapshot_ref, dst: snap.snapshot_ref, lease: null }], { env }).catch(() => ({ ok: false }));
    return { snapshot_ref: snap.snapshot_ref, event_count: snap.event_count, pushed: out.ok };
  } catch (err) {
    warnings.send(`the sync succeeded, but the automatic snapshot failed: ${toGritError(err).message}`);
    return null;
  }
}

export async function syncWith(ctx: RepoContext, opts: Omit<SyncOptions, 'onAdvance' | 'alongFetch' | 'reader'>): Promise<SyncReply> {
  let before = { ...ctx.signatureProblems };
  // The store is a cache of the WAL (docs/reliability.md, "Acknowledged means the WAL ref moved"):
  // one that cannot be written (a full disk) must not stop the sync, whose work is the WAL's. Its
  // pull lands in the local WAL and its push needs no room here; failing at the store, a sync that
  // had rebased the local WAL never pushed, nor did any retry, so the events could not leave a
  // machine whose disk was full. The next command catches the store up once there is room.
  let storeFailed: GritError | null = null;
  const storeMayLag = (err: unknown): void => {
    if (!(err instanceof GritError) || err.details.store_unwritable !== true) throw err;
    storeFailed ??= err;
  };
  const result = await syncWal(ctx.repo.commonDir, ctx.wal, {
    ...opts,
    // A daemon worker's: shares the reading of a long pull (src/git/kept-wal-reader.ts).
    reader: ctx.keptReader ?? undefined,
    // The store catches up with the local WAL while git fetches, so that applying the pull is
    // incremental; problems it meets there are not this sync's.
    alongFetch: async () => {
      await ctx.refresh().catch(storeMayLag);
      before = { ...ctx.signatureProblems };
    },
    onAdvance: (from, to, steps) => applyAdvance(ctx, from, to, steps).catch(storeMayLag),
    // The store holds the local WAL's events: caught up while git fetched (unless it could not
    // be: then only `pulled` may count a few the local WAL had already).
    known: (e) => ctx.store.holds(e),
  });
  await ctx.refresh().catch(storeMayLag);
  if (storeFailed !== null) {
    warnings.send(`the sync succeeded, but the store could not be updated (${(storeFailed as GritError).message}); the next command catches it up`);
  }
  // The remote as shown: a URL's credentials stay out of the reply and the warnings (src/core/redact-url.ts).
  const remote = redactUrls(opts.remote);
  for (const r of result.snapshots_refused) warnings.send(`snapshot ${r.ref} from ${remote} was not imported: ${r.reason}`);
  const signature_problems = {
    refused: ctx.signatureProblems.refused - before.refused,
    kept: ctx.signatureProblems.kept - before.kept,
  };
  const snapshot = opts.push ? await autoSnapshot(ctx, opts.remote, opts.env) : null;
  return { ...result, remote, signature_problems, snapshot };
}

/** `Sync {pull, push, remote?}`: neither flag means both; the remote defaults to `origin`. */
export async function sync(ctx: RepoContext, args: Args, options: ContextOptions = {}): Promise<SyncReply> {
  let pull = bool(args, 'pull');
  let push = bool(args, 'push');
  if (!pull && !push) pull = push = true;
  const remote = await resolveRemote(ctx.repo.commonDir, optText(args, 'remote') ?? 'origin', options.cwd ?? process.cwd());
  return syncWith(ctx, { remote, pull, push, env: options.env, progress: options.progress });
}
