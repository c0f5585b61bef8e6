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

/**
 * `doctor --fix`, which may delete and rebuild the actor's store: a daemon runs it in a fresh
 * worker that has not opened the store and does not hold the actor's lease (the repair would
 * otherwise refuse to pull the store out from under a live daemon: its own), while the actor's
 * other requests wait.
 */
export function repairsStore(name: string, args: Args): boolean {
  return name === 'Doctor' && args.fix === true;
}
