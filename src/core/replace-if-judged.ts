/**
 * Replacing (or removing) a file if a judgement of exactly that file condemns it, at a path where
 * another process may rename a file of its own at any moment: a daemon's pid record
 * (daemon-pid.ts), an actor's lease (lease.ts), a ref's stale lock (refs.ts). A rename or removal
 * at the path would take whatever is there by the time it runs, a file put there after the
 * judgement too. So the file is moved aside first, which takes exactly the file that is judged;
 * the replacement is linked in, which fails rather than replace a file put there meanwhile; and a
 * file not condemned is put back the same way, unless a newer one took its place.
 */
import { linkSync, renameSync, rmSync } from 'node:fs';

export interface ReplaceOptions {
  /** The file linked in at the path in place of a file condemned; without it, that file is removed. */
  replacement?: string | null;
  /**
   * A file that cannot be moved aside is taken for one removed meanwhile, and one that cannot be
   * put back for one whose place another file took, whatever the error: for clearing up after
   * others, where what is left is judged again later. Otherwise only ENOENT and EEXIST are.
   */
  bestEffort?: boolean;
}

/**
 * Moves the file at `path` to `aside` and asks `condemned` of it there. True when it was
 * condemned, and removed or replaced by `replacement`; false when there was none, it was put
 * back, or another file took its place before the replacement was linked in.
 */
export function replaceIfJudged(path: string, aside: string, condemned: (aside: string) => boolean, opts: ReplaceOptions = {}): boolean {
  try {
    renameSync(path, aside);
  } catch (err) {
    if (opts.bestEffort || (err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  try {
    if (!condemned(aside)) {
      putBack(aside, path, opts.bestEffort);
      return false;
    }
    if (opts.replacement === undefined || opts.replacement === null) return true;
    try {
      linkSync(opts.replacement, path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      putBack(aside, path, opts.bestEffort);
      throw err;
    }
  } finally {
    rmSync(aside, { force: true });
  }
}

/** Puts the file moved aside back at `path`, unless another file is there already: that one is newer. */
function putBack(aside: string, path: string, bestEffort = false): void {
  try {
    linkSync(aside, path);
  } catch (err) {
    if (!bestEffort && (err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
