import { RepoContext } from '../../src/commands/context.js';
import { fromHex } from '../../src/core/hex.js';
import type { EventKind } from '../../src/core/kinds.js';

/**
 * Writes one event as it stands, past the checks of the command functions: what another writer
 * (an older grit, another clone's) may have put in the WAL, and sync brings here.
 */
export async function writeRaw(repo: string, issueId: string, kind: EventKind): Promise<void> {
  const ctx = RepoContext.open({ cwd: repo });
  try {
    await ctx.write([{ issue_id: fromHex(issueId, 16)!, kind }]);
  } finally {
    ctx.wal.objects.close();
    await ctx.close();
  }
}
