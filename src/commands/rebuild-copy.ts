/**
 * The copy of an actor's store a rebuild makes before emptying it, put back if the replay fails
 * (rebuild.ts `rebuildStore`, docs/reliability.md). It is as large as the store, so one left
 * by a rebuild that was killed must not stay: it is named after the rebuilding process, and a
 * copy whose process is gone is deleted by the next rebuild of that store and by `doctor --fix`
 * (temp-files.ts). A live process's is never touched: two rebuilds of one store may run at once
 * (only a daemon holding the store keeps other processes' rebuilds out), and each keeps its own.
 * A daemon, which lives on when one of its worker threads ends, deletes its own copy then
 * (`removeOwnRebuildCopy`).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeOnSignal } from '../core/remove-on-signal.js';
import { rebuildCopyName, removeLeftRebuildCopies } from './temp-files.js';

export interface RebuildCopy {
  /** Where this rebuild's copy goes. */
  path: string;
  /** Deletes the copy (once the rebuild no longer needs it). */
  remove(): void;
}

/**
 * Deletes the copies killed rebuilds left in `actorDir`, then names this process's copy of the
 * store there; null when the store holds no event (`held`), which leaves nothing worth a copy. The
 * deleting comes first either way: a rebuild killed after emptying the store left an empty one.
 */
export function rebuildCopy(actorDir: string, held: number): RebuildCopy | null {
  removeLeftRebuildCopies(actorDir);
  if (held === 0) return null;
  const path = join(actorDir, rebuildCopyName(process.pid));
  // A Ctrl-C skips the rebuild's `finally` too; nothing would put the copy back after it (nor after a kill -9).
  const off = removeOnSignal(path);
  return {
    path,
    remove: () => {
      off();
      rmSync(path, { force: true });
    },
  };
}

/**
 * Deletes this process's copy in `actorDir`. A daemon calls it once the worker thread serving that
 * actor has ended (actor-worker-pool.ts): a thread that died or was stopped under its rebuild ran
 * no `finally`, and its copy is named after the daemon, which lives on, so no sweep would take it
 * for a leftover until the daemon is gone. No other thread of the daemon has the actor's store
 * then: the supervisor starts the next one only after.
 */
export function removeOwnRebuildCopy(actorDir: string): void {
  rmSync(join(actorDir, rebuildCopyName(process.pid)), { force: true });
}
