/**
 * File context is keyed by the path relative to the worktree root, with '/' separators, exactly
 * as `git ls-files` prints it. User input is turned into that form here.
 */
import { isAbsolute, posix, relative, resolve, sep } from 'node:path';
import { invalidArgs } from '../core/errors.js';

/**
 * The repo-relative form of `input`: an absolute path must lie inside `root`; a relative one is
 * taken relative to `base` (the caller's directory; the root when absent). '' is the root itself.
 */
export function repoRelative(root: string, input: string, base: string = root): string {
  const abs = isAbsolute(input) ? input : resolve(base, input);
  const rel = relative(root, abs);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw invalidArgs(`${input} is outside the worktree ${root}`, { path: input, root }, 'give a path inside the repository');
  }
  const norm = posix.normalize(rel.split(sep).join('/'));
  return norm === '.' ? '' : norm.replace(/\/$/, '');
}
