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
 * `doctor --fix`, which may delete and rebuild the actor's store: a daemon runs it in a fresh
 * worker that has not opened the store and does not hold the actor's lease (the repair would
 * otherwise refuse to pull the store out from under a live daemon: its own), while the actor's
 * other requests wait.
 */
export function repairsStore(name: string, args: Args): boolean {
  return name === 'Doctor' && args.fix === true;
}
