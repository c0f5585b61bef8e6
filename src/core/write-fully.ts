import { writeSync } from 'node:fs';

/**
 * Writes all of `bytes`: a single write(2) may store only part of them when the disk fills up or
 * a file-size limit is hit, and says so only through its return value (the next one fails).
 */
export function writeFully(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}
