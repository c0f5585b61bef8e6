/**
 * Crash points for the reliability tests: when GRIT_FAULT names a point, the process kills itself
 * there with SIGKILL, exactly as a power cut or `kill -9` would. Unset, this is one env lookup.
 */
export type FaultPoint =
  /** WAL commit objects written, the ref not yet moved. */
  | 'wal:after-objects'
  /** The WAL ref moved, the store not yet updated. */
  | 'write:after-append'
  /** Small packs merged into one, the first old pack's index deleted, the rest not yet. */
  | 'pack:merged'
  /** Holding `<ref>.lock` (any ref grit moves), before the rename: leaves a stale lock behind. */
  | 'ref:locked'
  /** A new actor made whole in its staging directory, not yet renamed into `actors/`. */
  | 'actor:staged'
  /** A new actor renamed into `actors/`, not yet named the default by the repo config. */
  | 'actor:placed';

export function crashPoint(point: FaultPoint): void {
  if (process.env.GRIT_FAULT === point) process.kill(process.pid, 'SIGKILL');
}
