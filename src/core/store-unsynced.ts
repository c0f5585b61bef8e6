/**
 * A daemon's store commits without fsync (docs/decisions.md, "The daemon's store commits without
 * fsync"). LMDB stays consistent through a crash of the process, whose writes are all in the page
 * cache, but not through a crash of the machine. So before its first unsynced commit the daemon
 * records durably which boot of the machine it writes in (`store.unsynced` beside the store); a
 * clean close flushes the store and removes the record. A record from another boot means the
 * machine went down with commits perhaps never written out: the store may be incomplete or
 * corrupt, and is rebuilt from the WAL, which is always fsynced.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncPath, replaceFile } from './replace-file.js';
import { readTextOrNull } from './read-text-or-null.js';

export const UNSYNCED_MARKER = 'store.unsynced';
const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

let boot: string | null | undefined;

/** This boot of the machine (Linux's boot id); null where there is none to read. */
function currentBoot(): string | null {
  if (boot === undefined) {
    boot = readTextOrNull(BOOT_ID_FILE)?.trim() || null;
  }
  return boot;
}

/** The boot a store's record names: undefined without a record, null for one that cannot be read. */
function markedBoot(actorDir: string): string | null | undefined {
  const text = readTextOrNull(join(actorDir, UNSYNCED_MARKER));
  if (text === null) return undefined;
  try {
    const bootId = (JSON.parse(text) as { boot_id?: unknown }).boot_id;
    return typeof bootId === 'string' ? bootId : null;
  } catch {
    return null; // a record cut short by the crash it is there for
  }
}

/**
 * Why the store in `actorDir` may lack commits it took without fsync, or null: it took them in an
 * earlier boot and was never flushed, or its record cannot be read (so which boot is unknown, and
 * the store is not trusted either).
 */
export function unflushedReason(actorDir: string): string | null {
  const marked = markedBoot(actorDir);
  if (marked === undefined || marked === currentBoot()) return null;
  if (marked === null) return `its record of commits without fsync (${UNSYNCED_MARKER}) cannot be read, so they may never have been written out`;
  return 'it committed without fsync, and the machine restarted since';
}

/**
 * Records, durably, that the store in `actorDir` takes unsynced commits in this boot. False where
 * the boot cannot be told (not Linux) or the record cannot be written: the store then stays synced.
 * `perm`: core.sharedRepository's (shared-files.ts): another user's grit that could not read the
 * record would take the store for damaged and rebuild it.
 */
export function markUnsynced(actorDir: string, perm: number): boolean {
  const bootId = currentBoot();
  if (bootId === null) return false;
  if (markedBoot(actorDir) === bootId) return true;
  const record = JSON.stringify({ boot_id: bootId, pid: process.pid, since_ts: Date.now() }) + '\n';
  return replaceFile(join(actorDir, UNSYNCED_MARKER), record, { perm, durable: true, bestEffort: true });
}

/** After a clean close: writes the store file out and drops the record. */
export function flushAndUnmark(actorDir: string, dataPath: string): void {
  fsyncPath(dataPath);
  rmSync(join(actorDir, UNSYNCED_MARKER), { force: true });
}
