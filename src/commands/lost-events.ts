/**
 * A store that outlived its WAL (docs/sync.md, "Plain git and refs/grit/*"): plain git overwrote
 * `refs/grit/wal` (`git fetch <remote> +refs/grit/*:refs/grit/*` replaces local-only commits with
 * the remote's) or deleted it (`git fetch --prune` with a refs/grit/* refspec), so the head the
 * store recorded is no longer on the WAL's chain. Its events that the WAL lacks would go with the
 * next rebuild and never reach a remote; they are appended to the WAL again, as sync's
 * auto-rebase re-appends local-only events. They are taken from the old commits while git still
 * has them (each commit's actor and chunk kept, events the signature policy keeps out of the store
 * included), else from the store's own copies. A deleted ref whose whole WAL git still has is just
 * set back to the store's head. A WAL with a hole (a commit git lacks) is replaced the same way by
 * `grit doctor --fix` (`replaceBrokenWal`).
 */
import { encodeChunk, MAX_CHUNK_BYTES } from '../core/chunk.js';
import { GritError } from '../core/errors.js';
import { compareEvents, type Event } from '../core/event.js';
import { toHex } from '../core/hex.js';
import { warnings } from '../core/warnings.js';
import { plural } from '../core/plural.js';
import type { Wal, ReappendSource, WalCommit } from '../git/wal.js';
import type { RepoContext } from './context.js';

/** Events a store-made commit holds at most (a commit written by one command holds far fewer). */
const COMMIT_EVENTS = 1000;

export interface LostEvents {
  /** Commits to append again, oldest first: none when the WAL holds every event of the store. */
  sources: ReappendSource[];
  /** Where they were found. */
  from: 'old WAL commits' | "the store's copies";
  count: number;
}

const idOf = (e: Event) => toHex(e.event_id);

/** What the WAL holds, by id: its commits (its whole history) and their events (hex). */
export interface WalIds {
  commits: ReadonlySet<string>;
  events: ReadonlySet<string>;
}

export function walIds(walCommits: readonly WalCommit[]): WalIds {
  const events = new Set<string>();
  for (const c of walCommits) for (const e of c.events) events.add(idOf(e));
  return { commits: new Set(walCommits.map((c) => c.oid)), events };
}

/**
 * The events of the store (built up to `storeHead`) that the WAL holding `inWal` lacks.
 * `storeEvents` is read only when the old commits are gone (`git gc` pruned them) or unreadable.
 */
export async function findLostEvents(wal: Wal, storeHead: string, inWal: WalIds, storeEvents: () => Iterable<Event>): Promise<LostEvents> {
  let sources: ReappendSource[];
  let from: LostEvents['from'] = 'old WAL commits';
  try {
    sources = await fromOldCommits(wal, storeHead, inWal);
  } catch {
    from = "the store's copies";
    sources = fromStore(storeEvents, inWal.events);
  }
  return { sources, from, count: sources.reduce((n, s) => n + s.events.length, 0) };
}

/** The old commits after the last one the WAL still has, less the events the WAL holds elsewhere. */
async function fromOldCommits(wal: Wal, storeHead: string, inWal: WalIds): Promise<ReappendSource[]> {
  let base: string | null = storeHead;
  try {
    while (base !== null && !inWal.commits.has(base)) base = wal.objects.readCommit(base).parents[0] ?? null;
  } finally {
    wal.objects.close();
  }
  const out: ReappendSource[] = [];
  for (const c of await wal.readSince(base, storeHead)) {
    const events = c.events.filter((e) => !inWal.events.has(idOf(e)));
    if (events.length) out.push({ actor: c.actor, events, commit: c });
  }
  return out;
}

/** The store's events that the WAL lacks, in event order, a commit per actor and up to COMMIT_EVENTS. */
function fromStore(storeEvents: () => Iterable<Event>, inWal: ReadonlySet<string>): ReappendSource[] {
  const byActor = new Map<string, Event[]>();
  for (const e of storeEvents()) {
    if (inWal.has(idOf(e))) continue;
    const actor = toHex(e.actor);
    let list = byActor.get(actor);
    if (!list) byActor.set(actor, (list = []));
    list.push(e);
  }
  const out: ReappendSource[] = [];
  for (const [actor, events] of byActor) {
    events.sort(compareEvents);
    for (let i = 0; i < events.length; i += COMMIT_EVENTS) {
      for (const part of fitting(events.slice(i, i + COMMIT_EVENTS))) out.push({ actor, events: part });
    }
  }
  return out;
}

/** `events` in parts that each fit one chunk (every event fitted one when it was first appended). */
function fitting(events: Event[]): Event[][] {
  if (events.length <= 1 || encodeChunk(events).bytes.length <= MAX_CHUNK_BYTES) return [events];
  const mid = events.length >> 1;
  return [...fitting(events.slice(0, mid)), ...fitting(events.slice(mid))];
}

/**
 * For `RepoContext.refresh`, which found the store's head `storeHead` off the chain of the WAL head
 * `head` (whose whole history is `walCommits`), or no WAL at all (`head` null: refs/grit/wal was
 * deleted): appends the store's lost events to the WAL again, with a warning. Returns the WAL head
 * to catch the store up to and the events appended (none when the WAL lacks nothing: e.g. sync
 * rebased the commits the store was built from; head null when there is no WAL and nothing to
 * put in one), or null when the caller is to read the WAL again (it moved meanwhile, or the ref
 * was set back to `storeHead`).
 */
export async function restoreLostEvents(ctx: RepoContext, storeHead: string, head: string | null, walCommits: readonly WalCommit[]): Promise<{ head: string | null; events: Event[] } | null> {
  if (head === null) {
    const back = await setBack(ctx.wal, storeHead);
    if (back !== 'gone') return null;
  }
  const lost = await findLostEvents(ctx.wal, storeHead, walIds(walCommits), () => ctx.store.allEvents());
  if (lost.count === 0) return { head, events: [] };
  const tip = await ctx.wal.reappend(lost.sources, head);
  if (tip === null) return null;
  const n = plural(lost.count, 'event');
  warnings.send(
    head === null
      ? `${walDeleted(storeHead)}, and git no longer has all of that WAL (\`git gc\` pruned it): ${n} (found in ${lost.from}) started a new WAL; \`grit sync\` publishes those a remote lacks`
      : `refs/grit/wal no longer held WAL commit ${storeHead}, which this store was built from (plain git overwrote it, ` +
          `e.g. \`git fetch <remote> +refs/grit/*:refs/grit/*\`): ${n} that only it had ` +
          `(found in ${lost.from}) went back into the WAL; \`grit sync\` publishes them`,
  );
  return { head: tip, events: lost.sources.flatMap((s) => s.events) };
}

const walDeleted = (storeHead: string) =>
  `refs/grit/wal was deleted (\`git update-ref -d\`, or \`git fetch --prune\` with a refs/grit/* refspec) while this store was built from WAL commit ${storeHead}`;

/**
 * Sets a deleted refs/grit/wal back to `storeHead` when git still holds that whole WAL, read and
 * checked as a replay would: the very commits, so nothing is rewritten and a remote that has them
 * stays on the same chain. 'raced': the ref exists again by now.
 */
async function setBack(wal: Wal, storeHead: string): Promise<'restored' | 'raced' | 'gone'> {
  let commits: WalCommit[];
  try {
    commits = await wal.readSince(null, storeHead);
  } catch {
    return 'gone';
  }
  if (!(await wal.restoreHead(storeHead))) return 'raced';
  const n = plural(commits.reduce((k, c) => k + c.events.length, 0), 'event');
  warnings.send(`${walDeleted(storeHead)}: it points at that commit again (git still had it, ${n}); \`grit sync\` publishes what a remote lacks`);
  return 'restored';
}

/**
 * For `grit doctor --fix`: the WAL ending at `head` has a hole (a commit git lacks: wal.ts
 * `isWalHole`), and the store holds every event of it (built up to a commit above the hole).
 * Catches the store up to `head` (the commits above the hole read), then moves refs/grit/wal from
 * `head` to `base` (a WAL git has whole; null: none) with the store's events that it lacks
 * appended on it, in one compare-and-swap: what the next command does after plain git overwrote
 * the WAL (`restoreLostEvents`). Returns how many events were appended.
 */
export async function replaceBrokenWal(ctx: RepoContext, head: string, base: string | null): Promise<number> {
  await ctx.refresh();
  const moved = () =>
    new GritError('conflict', `refs/grit/wal moved from ${head} while it was repaired`, { suggestion: 'run `grit doctor --fix` again' });
  if (ctx.store.getMeta().wal_head !== head) throw moved();
  const inBase = walIds(base === null ? [] : await ctx.wal.readSince(null, base));
  const lost = await findLostEvents(ctx.wal, head, inBase, () => ctx.store.allEvents());
  if ((await ctx.wal.reappend(lost.sources, base, head)) === null) throw moved();
  await ctx.refresh();
  return lost.count;
}
