import type { Args } from './args.js';

/**
 * Which commands a daemon worker runs. Setting up a repository or an actor, and talking about
 * the daemon itself, never go to a worker: the CLI runs them in its own process.
 */
const UNROUTED = new Set([
  'Init',
  'ActorInit',
  'ActorList',
  'ActorShow',
  'ActorCurrent',
  'ActorUse',
  'DaemonStart',
  'DaemonStatus',
  'DaemonStop',
]);

export function runsInWorker(name: string): boolean {
  return !UNROUTED.has(name);
}

/** Commands about the daemon itself, which its supervisor answers: they are for no repository. */
const ABOUT_THE_DAEMON = new Set(['DaemonStart', 'DaemonStatus', 'DaemonStop']);

export function answeredBySupervisor(name: string): boolean {
  return ABOUT_THE_DAEMON.has(name);
}

/**
 * Commands that only read: one the daemon dropped mid-way (it died) can run again in process. A
 * write cannot, since the daemon may have written it before it died.
 */
const READS = new Set(['IssueList', 'IssueShow', 'IssueDepList', 'IssueDepTopo', 'IssueDepGraph', 'Export', 'ContextQuery', 'ContextShow', 'ContextProject', 'DbStats', 'DbCheck', 'DbVerify', 'LockStatus']);

export function onlyReads(name: string, args: Args): boolean {
  return READS.has(name) || (name === 'Doctor' && args.fix !== true);
}

/**
 * Writes that leave the same whether they ran once or twice, so one whose outcome is unknown (the
 * daemon died, or its drain deadline cut it short) can simply run again: a sync fetches, rebases
 * and pushes only what is missing; a lock acquire or renew by its owner keeps its lock and sets
 * the expiry from now, a release by it sets it expired again; a snapshot of a WAL head one covers already makes none; the others set a
 * state rather than add to one. Issue writes are not: each run appends an event.
 */
const REPEATABLE = new Set(['Sync', 'Snapshot', 'SnapshotGc', 'Rebuild', 'Doctor', 'LockAcquire', 'LockRenew', 'LockRelease', 'LockGc', 'ContextIndex', 'ContextSet']);

/** What to do about a request that may have run (messages.ts `mayHaveRun`): the suggestion for `name`. */
export function afterMaybeRun(name: string, args: Args): string {
  if (name === 'Sync') return 'run `grit sync` again: it pulls and pushes only what is still missing, so nothing is written twice';
  if (onlyReads(name, args)) return 'run it again';
  if (REPEATABLE.has(name)) return 'run it again: a second run leaves what one would';
  return 'look before running it again (`grit issue list`, `grit issue show <id>`): a second run may write it twice';
}

/**
 * `doctor --fix`, which may delete and rebuild the actor's store: a daemon runs it in a fresh
 * worker that has not opened the store and does not hold the actor's lease (the repair would
 * otherwise refuse to pull the store out from under a live daemon: its own), while the actor's
 * other requests wait.
 */
export function repairsStore(name: string, args: Args): boolean {
  return name === 'Doctor' && args.fix === true;
}

/**
 * Commands that report progress (a bar, git's fetch meter, a wait for another sync): the CLI asks
 * the daemon for theirs on a terminal (docs/daemon.md, "Progress"), and for no other's.
 */
const REPORTS_PROGRESS = new Set(['Sync', 'Rebuild', 'DbVerify', 'ContextIndex', 'Export']);

export function reportsProgress(name: string): boolean {
  return REPORTS_PROGRESS.has(name);
}
