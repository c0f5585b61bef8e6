/**
 * The other WALs doctor can point a person (or wal_ref's repair) to: remote-tracking copies of
 * refs/grit/wal, and a commit a store was built from, each described by what it holds when it
 * reads and validates whole.
 */
import { plural } from '../core/plural.js';
import { listRefs } from '../git/refs.js';
import type { Wal } from '../git/wal.js';

/** A WAL other than refs/grit/wal that reads and validates whole. */
export interface WalCopy {
  ref: string;
  oid: string;
  events: number;
}

/** Remote-tracking WAL refs (`refs/grit-remote/<remote>/wal`) that read as a valid WAL, the one holding the most events first. */
export async function validCopies(wal: Wal, gitDir: string): Promise<WalCopy[]> {
  const out: WalCopy[] = [];
  for (const { ref, oid } of await listRefs(gitDir, 'refs/grit-remote/')) {
    if (!ref.endsWith('/wal')) continue;
    const events = await wholeWalEvents(wal, oid);
    if (events !== null) out.push({ ref, oid, events });
  }
  return out.sort((a, b) => b.events - a.events);
}

export const describeCopy = (c: { oid: string; events: number }) => `commit ${c.oid}, ${plural(c.events, 'event')}`;

/** What a person does about a WAL that does not read, with the valid copies there are. */
export function restorePlan(copies: readonly WalCopy[]): string {
  return (
    'inspect it with `git log refs/grit/wal`. ' +
    (copies.length
      ? `Valid copies: ${copies.map((c) => `${c.ref} (${describeCopy(c)})`).join('; ')}; \`git update-ref refs/grit/wal <commit>\` restores one, ` +
        "and the next grit command appends to it again the events this clone's store holds that it lacks (docs/sync.md, \"Plain git and refs/grit/*\"); " +
        'events after it that neither the store nor a remote holds are lost. '
      : '') +
    'If a remote has a good copy, fetch it to another ref (`git fetch <remote> refs/grit/wal:refs/grit/wal-remote`) and compare'
  );
}

/** How many events the WAL ending at `oid` holds when it reads and validates, else null. */
async function wholeWalEvents(wal: Wal, oid: string): Promise<number | null> {
  try {
    return (await wal.readSince(null, oid)).reduce((n, c) => n + c.events.length, 0);
  } catch {
    return null;
  }
}

/** `commit <oid>, N events` when the WAL ending at `oid` reads and validates, else null. */
export async function describeWal(wal: Wal, oid: string): Promise<string | null> {
  const events = await wholeWalEvents(wal, oid);
  return events === null ? null : describeCopy({ oid, events });
}
