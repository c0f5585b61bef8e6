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
