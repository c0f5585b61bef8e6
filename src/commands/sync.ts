/** `grit sync` (SPEC §3, docs/sync.md): exchange WAL events, snapshots and locks with a remote. */
import { reportAdmitted } from '../core/integrity.js';
import type { Event } from '../core/event.js';
import { syncWal, type SyncOptions, type SyncResult } from '../git/sync.js';
import { checkRemote } from '../git/transport.js';
import { bool, optText, type Args } from './args.js';
import type { RepoContext } from './context.js';

export type SyncReply = SyncResult;

/**
 * Applies what a sync brought in. When the store was at `from` (the usual case) only the remote's
 * new events are applied; otherwise an ordinary refresh catches up.
 */
export async function applyAdvance(ctx: RepoContext, from: string | null, to: string, events: Event[]): Promise<void> {
  const meta = ctx.store.getMeta();
  if (meta.wal_head === from) {
    const admitted = ctx.admit(events);
    if (ctx.store.apply(admitted.events, from, to)) {
      reportAdmitted(admitted);
      return;
    }
  }
  await ctx.refresh();
}

export async function syncWith(ctx: RepoContext, opts: Omit<SyncOptions, 'onAdvance'>): Promise<SyncReply> {
  await ctx.refresh();
  const result = await syncWal(ctx.repo.commonDir, ctx.wal, { ...opts, onAdvance: (from, to, events) => applyAdvance(ctx, from, to, events) });
  await ctx.refresh();
  return result;
}

/** `Sync {pull, push, remote?}`: neither flag means both; the remote defaults to `origin`. */
export async function sync(ctx: RepoContext, args: Args): Promise<SyncReply> {
  let pull = bool(args, 'pull');
  let push = bool(args, 'push');
  if (!pull && !push) pull = push = true;
  const remote = optText(args, 'remote') ?? 'origin';
  checkRemote(remote);
  return syncWith(ctx, { remote, pull, push });
}
