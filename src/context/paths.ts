/**
 * File context is keyed by the path relative to the worktree root, with '/' separators, exactly
 * as `git ls-files` prints it. User input is turned into that form here.
 */
import { isAbsolute, posix, relative, resolve, sep } from 'node:path';
import { invalidArgs } from '../core/errors.js';
import { isWithin } from '../core/path-within.js';

/**
 * The repo-relative form of `input`: an absolute path must lie inside `root`; a relative one is
 * taken relative to `base` (the caller's directory; the root when absent). '' is the root itself.
 */
export function repoRelative(root: string, input: string, base: string = root): string {
  const abs = isAbsolute(input) ? input : resolve(base, input);
  if (!isWithin(root, abs)) {
    throw invalidArgs(`${input} is outside the worktree ${root}`, { path: input, root }, 'give a path inside the repository');
  }
  const rel = relative(root, abs);
  const norm = posix.normalize(rel.split(sep).join('/'));
  return norm === '.' ? '' : norm.replace(/\/$/, '');
}

/**
 * What a path a person typed may mean, in the order to try them: relative to their directory
 * (`cwd`), then to the worktree root (`grit context show store.ts` inside src/core, and `src/core/store.ts`
 * from anywhere). An absolute one means itself. None inside the worktree: the outside-the-worktree
 * error. Shared by `context show` and `context index --path`, so the two read a path alike.
 */
export function typedPathCandidates(root: string, input: string, cwd?: string): string[] {
  const within = (base?: string): string | null => {
    try {
      return repoRelative(root, input, base);
    } catch {
      return null;
    }
  };
  const candidates = new Set<string>();
  for (const c of [cwd === undefined ? null : within(cwd), isAbsolute(input) ? null : within()]) if (c !== null) candidates.add(c);
  if (candidates.size === 0) repoRelative(root, input, cwd); // throws the outside-the-worktree error
  return [...candidates];
}
