/**
 * Replacing a file whole: the new content is written to a temporary file beside it and renamed
 * over it, so that a reader, or a crash, finds the old file or the new one, never half of one.
 * Every file grit replaces so goes through here: configs, AGENTS.md, exports, the unsynced-store
 * record, sync's record of what it saw, the lock-resource cache, the daemon's pid record (and,
 * through `tempBeside` and write-new-file.ts, the files linked into place: the lease, the
 * repository id).
 *
 * The temporary file is made exclusively (write-new-file.ts), under a name unique to the call:
 * what is at that name already, a link planted there too, is an error, never written through.
 * It is removed when anything fails before the rename; a process killed in between leaves it,
 * under a name doctor's temp_files check recognises (temp-files.ts) for `doctor --fix` to delete.
 * Only node:fs and node:path, and nothing that loads more: daemon-pid.ts is in the CLI's start-up
 * bundle. GRIT_FAULT=file:before-rename kills a process before its first rename (fault.ts).
 */
import { chmodSync, closeSync, constants, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { crashPoint } from './fault.js';
import { writeNewFile, type NewFileOptions } from './write-new-file.js';

/**
 * A number for a temporary name that no other call is likely to draw: the pid alone is not
 * unique, a daemon's worker threads share it and each runs many requests at once (an export
 * yields between pieces). Not a secret: the exclusive create is what keeps a link planted at a
 * guessed name from being written through (Math.random, not node:crypto, which the CLI's start-up
 * does not otherwise load).
 */
export const tempSerial = (): number => Math.floor(Math.random() * 2 ** 48);

/**
 * `<path>.<pid>.<n>.tmp`: the name of a temporary file beside `path`, of the form doctor's
 * temp_files check recognises after a killed writer (temp-files.ts RENAME_TMP) in `.git/grit`
 * and in actor directories.
 */
export const tempBeside = (path: string): string => `${path}.${process.pid}.${tempSerial()}.tmp`;

/** Writes `path` out to the disk: a file's content, a directory's entries (a rename into it). */
export function fsyncPath(path: string): void {
  // Non-blocking: by the time a store is closed, a named pipe may stand at its path, and a plain
  // open would wait forever for a writer (the daemon's retiring worker, and with it every stop).
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface ReplaceFileOptions extends NewFileOptions {
  /** core.sharedRepository's, for a file inside `.git/grit` (shared-files.ts). */
  perm?: number;
  /**
   * The new file is written out (fsync) before the rename, and the rename after it (its directory
   * is): for a record that must outlive a crash of the machine, not only of grit.
   */
  durable?: boolean;
  /** The temporary file's name, for one that must be known beforehand or named otherwise (exports); `tempBeside(path)` by default. */
  tmp?: string;
  /** The new file gets the mode of the regular file it replaces, as a shell's `>` keeps it (one made private stays private). */
  keepMode?: boolean;
  /** Called with the temporary file written and closed, just before the rename: it may check it, set its mode, or throw to leave the file as it was. */
  beforeRename?: (tmp: string) => void;
  /** A failure returns false, with the file as it was, instead of throwing: for a record or a cache that is only an optimisation. */
  bestEffort?: boolean;
}

/**
 * Replaces (or makes) the file `path` with `data`; true once it is in place. A failure leaves
 * the file as it was and no temporary file behind: it throws, or with `bestEffort` returns false.
 */
export function replaceFile(path: string, data: string | Uint8Array, opts: ReplaceFileOptions = {}): boolean {
  const tmp = opts.tmp ?? tempBeside(path);
  try {
    writeNewFile(tmp, data, opts.perm, opts); // removes what it made when it fails, and only that
  } catch (err) {
    if (opts.bestEffort) return false;
    throw err;
  }
  try {
    putInPlace(path, tmp, opts);
    return true;
  } catch (err) {
    discard(tmp);
    if (opts.bestEffort) return false;
    throw err;
  }
}

/**
 * `replaceFile` for content written a piece at a time by `write` into the open temporary file,
 * letting the event loop run in between (an export, which a Ctrl-C must be able to stop).
 */
export async function replaceFileWith(path: string, write: (fd: number) => Promise<void>, opts: Omit<ReplaceFileOptions, 'bestEffort' | 'perm'> = {}): Promise<void> {
  const tmp = opts.tmp ?? tempBeside(path);
  const fd = openSync(tmp, 'wx', opts.mode ?? 0o666); // exclusive, as writeNewFile makes it
  let open = true;
  try {
    await write(fd);
    if (opts.durable) fsyncSync(fd);
    open = false;
    closeSync(fd);
    putInPlace(path, tmp, opts);
  } catch (err) {
    if (open) closeSync(fd);
    discard(tmp);
    throw err;
  }
}

function putInPlace(path: string, tmp: string, opts: ReplaceFileOptions): void {
  if (opts.keepMode) {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isFile()) chmodSync(tmp, st.mode & 0o7777);
  }
  opts.beforeRename?.(tmp);
  crashPoint('file:before-rename');
  renameSync(tmp, path);
  if (opts.durable) fsyncPath(dirname(path));
}

/** Removes the temporary file after a failure: one to remove it (a directory that cannot be searched any more) must not hide why. */
function discard(tmp: string): void {
  try {
    rmSync(tmp, { force: true });
  } catch {
    // left for doctor's temp_files
  }
}
