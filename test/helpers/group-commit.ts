import { RepoContext } from '../../src/commands/context.js';

/**
 * The writes `writes` starts, made at once on one context with group commit on, as a daemon
 * worker makes them (one WAL commit for all it accepts); how each settled, in order.
 */
export async function settledInOneGroup(cwd: string, writes: (ctx: RepoContext) => Promise<unknown>[]): Promise<PromiseSettledResult<any>[]> {
  const ctx = RepoContext.open({ cwd });
  try {
    ctx.enableGroupCommit();
    await ctx.refresh();
    return await Promise.allSettled(writes(ctx));
  } finally {
    await ctx.close();
  }
}
