/**
 * Stamps of files, for caches of what was read from them (the supervisor's routes, `issue show`'s
 * labels of its authors): a write into a file moves its size or times, a rename over it its inode,
 * and a rewrite always its change time, which no user can set back.
 */
import { statSync, type BigIntStats } from 'node:fs';
import { isPermissionDenied } from './errors.js';

/**
 * `path`'s stat, or null when there is none: absent, or a file stands where a directory on its
 * path should (`.git/grit` a file), or a directory on its path this user may not search. Reading
 * the file then reports it with its path, as a command that reads it without a cache does.
 */
export function statIfThere(path: string): BigIntStats | null {
  try {
    return statSync(path, { throwIfNoEntry: false, bigint: true }) ?? null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || isPermissionDenied(code)) return null;
    throw err;
  }
}

/** What `path` is now (device, inode, size, modification and change times in ns), or null when `statIfThere` finds nothing. */
export function fileStamp(path: string): string | null {
  const st = statIfThere(path);
  return st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : null;
}
