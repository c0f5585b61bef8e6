import { rmSync, writeFileSync } from 'node:fs';
import { adjustSharedPerm } from './shared-files.js';

/**
 * Writes a file that is not there yet (a temporary one, to be renamed into place), its mode made
 * as core.sharedRepository's `perm` says (shared-files.ts) before anything renames it into place.
 * One that was made but could not be filled (a full disk) is removed, instead of staying behind empty.
 */
export function writeNewFile(path: string, data: string, perm = 0): void {
  try {
    writeFileSync(path, data);
    adjustSharedPerm(path, perm);
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
}
