/**
 * A directory grit must write but this user may not: the actor's directory holds the store (a
 * cache grit brings up to date, and LMDB's lock file, even to answer a read) and the daemon's
 * lease. git can read such a repository; grit says what is wrong instead of a store error.
 */
import { accessSync, constants } from 'node:fs';
import { GritError } from './errors.js';

const DENIED = new Set(['EACCES', 'EPERM', 'EROFS']);

/** The error for an actor directory this process cannot write, or null when it can (or the check itself cannot tell). */
export function writeDenied(dir: string): GritError | null {
  try {
    accessSync(dir, constants.W_OK);
    return null;
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code;
    if (!errno || !DENIED.has(errno)) return null;
    const why = errno === 'EROFS' ? 'is on a read-only file system' : 'is not writable by this user';
    return new GritError('io_error', `${dir} ${why}: grit keeps its store (a cache) there and writes it even to answer a read`, {
      environment: true,
      details: { path: dir, errno, store_unwritable: true },
      suggestion: `give this user write permission on ${dir}, or run grit as its owner`,
    });
  }
}
