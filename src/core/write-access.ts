/**
 * A directory or file grit must write but this user may not: the actor's directory holds the
 * store (a cache grit brings up to date, and LMDB's lock file, even to answer a read) and the
 * daemon's lease. git can read such a repository; grit says what is wrong instead of a store error.
 */
import { accessSync, constants } from 'node:fs';
import { GritError, isWriteRefused, readOnlyMountSuggestion } from './errors.js';

/**
 * The error for an actor directory this process cannot write, or for one of `files` in it that
 * it cannot write (the store's data and lock files: in a directory a group shares, made by
 * another member before the repository was shared, say), or null when it can (or the check itself
 * cannot tell; a missing file is made anew).
 */
export function writeDenied(dir: string, files: readonly string[] = []): GritError | null {
  for (const path of [dir, ...files]) {
    try {
      accessSync(path, constants.W_OK);
    } catch (err) {
      const errno = (err as NodeJS.ErrnoException).code;
      if (!isWriteRefused(errno)) continue;
      const why = errno === 'EROFS' ? 'is on a read-only file system' : 'is not writable by this user';
      const what = path === dir ? 'grit keeps its store (a cache) there and writes it' : 'it is part of the store (a cache), which grit writes';
      return new GritError('io_error', `${path} ${why}: ${what} even to answer a read`, {
        environment: true,
        details: { path, errno, store_unwritable: true },
        suggestion:
          errno === 'EROFS'
            ? readOnlyMountSuggestion(path)
            : `give this user write permission on ${path}, or run grit as its owner (a repository shared with a group: docs/troubleshooting.md)`,
      });
    }
  }
  return null;
}
