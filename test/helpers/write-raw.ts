import { join } from 'node:path';
import { RepoContext } from '../../src/commands/context.js';
import { makeEvent } from '../../src/core/event.js';
import { fromHex, toHex } from '../../src/core/hex.js';
import type { EventKind } from '../../src/core/kinds.js';
import { stamped } from '../../src/core/timestamp.js';
import { Wal } from '../../src/git/wal.js';

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

/**
 * Appends one event stamped `ts` (any u64) to the WAL of `repo`, as another implementation's
 * writer (actor 11…11) would: one with a nanosecond clock writes 1.8e18.
 */
export async function writeStamped(repo: string, ts: bigint, issueId: Uint8Array, kind: EventKind): Promise<void> {
  const actor = new Uint8Array(16).fill(0x11);
  const event = makeEvent({ issue_id: issueId, actor, ...stamped(ts), parent: null, kind });
  const wal = new Wal(join(repo, '.git'), { fsync: false });
  try {
    await wal.append([event], toHex(actor));
  } finally {
    wal.objects.close();
  }
}
