import { closeSync, fsyncSync, openSync, rmSync } from 'node:fs';
import { adjustSharedPerm } from './shared-files.js';
import { writeFully } from './write-fully.js';

export interface NewFileOptions {
  /** The mode it is made with, less the umask (as open(2) takes it); 0o666 by default. */
  mode?: number;
  /** Written out to the disk (fsync) before it is closed. */
  durable?: boolean;
}

/**
 * Writes a file that is not there yet (a temporary one, to be renamed into place), its mode made
 * as core.sharedRepository's `perm` says (shared-files.ts) before anything renames it into place.
 * Made exclusively (O_EXCL): whatever is at the name already, a link planted there included, is
 * an error, never written through or over. One that was made but could not be filled (a full
 * disk) is removed, instead of staying behind empty.
 */
export function writeNewFile(path: string, data: string | Uint8Array, perm = 0, opts: NewFileOptions = {}): void {
  const fd = openSync(path, 'wx', opts.mode ?? 0o666);
  let open = true;
  try {
    writeFully(fd, typeof data === 'string' ? Buffer.from(data) : data);
    adjustSharedPerm(path, perm);
    if (opts.durable) fsyncSync(fd);
    open = false;
    closeSync(fd);
  } catch (err) {
    if (open) closeSync(fd);
    rmSync(path, { force: true });
    throw err;
  }
}
