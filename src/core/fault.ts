/**
 * Crash points for the reliability tests: when GRIT_FAULT names a point, the process kills itself
 * there with SIGKILL, exactly as a power cut or `kill -9` would. `GRIT_FAULT=<point>:pause:<file>`
 * stops there instead: the process creates `<file>` and waits until the test deletes it, so the
 * test can act (run `git gc`, say) at exactly that moment, every time, instead of hoping a loop
 * hits a window of a millisecond. `<point>:exit` ends the thread there (in a daemon's worker
 * thread, that thread alone, as one that crashed: the daemon lives on), and `<point>:throw`
 * throws there. Unset, this is one env lookup.
 */
import { existsSync, writeFileSync } from 'node:fs';

export type FaultPoint =
  /** WAL commit objects written, the ref not yet moved. */
  | 'wal:after-objects'
  /** The WAL ref moved, the store not yet updated. */
  | 'write:after-append'
  /** A pull's fetch done and validated, its snapshots and locks not yet taken in (git/sync.ts). */
  | 'sync:fetched'
  /** A pull's step applied to the store (`applyAdvance`), the steps after it not yet. */
  | 'sync:step-applied'
  /** Small packs merged into one, the first old pack's index deleted, the rest not yet. */
  | 'pack:merged'
  /** A new pack's temporary files written; its `.keep` not yet taken, nothing linked into place (pack-write.ts). */
  | 'pack:tmp-written'
  /** Holding `<ref>.lock` (any ref grit moves), before the rename: leaves a stale lock behind. */
  | 'ref:locked'
  /** Holding `<ref>.lock`, written and checked to be still ours, before the rename. */
  | 'ref:checked'
  /** A new actor made whole in its staging directory, not yet renamed into `actors/`. */
  | 'actor:staged'
  /** A new actor renamed into `actors/`, not yet named the default by the repo config. */
  | 'actor:placed'
  /** A daemon worker thread's module loaded and set up, before it takes its first task (actor-worker.ts). */
  | 'worker:start'
  /** A rebuild's copy of the store made, the store not yet emptied (store-replacement.ts). */
  | 'rebuild:copied'
  /** A lease renew, release or takeover has moved daemon.lock aside, the new record not yet linked in (lease.ts). */
  | 'lease:moved-aside'
  /** doctor --fix's repaired config written and checked, the broken one kept aside, the repaired one not yet in place (config-repair.ts). */
  | 'config:set-aside'
  /** A file being replaced whole: its temporary file written beside it, not yet renamed over it (replace-file.ts; the first such file a process replaces). */
  | 'file:before-rename';

/** How long a paused process waits for its test before it goes on by itself. */
const PAUSE_MAX_MS = 60_000;

export function crashPoint(point: FaultPoint): void {
  const fault = process.env.GRIT_FAULT;
  if (fault === undefined) return;
  if (fault === point) process.kill(process.pid, 'SIGKILL');
  if (fault === `${point}:exit`) process.exit(70);
  if (fault === `${point}:throw`) throw new Error(`GRIT_FAULT: failing at ${point}`);
  if (fault.startsWith(`${point}:pause:`)) pause(fault.slice(point.length + ':pause:'.length));
}

/** Blocks this thread (a daemon's worker, or a CLI's only one) until `file` is gone. */
function pause(file: string): void {
  writeFileSync(file, String(process.pid));
  const tick = new Int32Array(new SharedArrayBuffer(4));
  for (const end = Date.now() + PAUSE_MAX_MS; existsSync(file) && Date.now() < end; ) Atomics.wait(tick, 0, 0, 5);
}
