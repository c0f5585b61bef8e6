import { rmSync, writeFileSync } from 'node:fs';

/**
 * Writes a file that is not there yet (a temporary one, to be renamed into place). One that was
 * made but could not be filled (a full disk) is removed, instead of staying behind empty.
 */
export function writeNewFile(path: string, data: string): void {
  try {
    writeFileSync(path, data);
  } catch (err) {
    rmSync(path, { force: true });
    throw err;
  }
}
