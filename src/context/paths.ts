/**
 * File context is keyed by the path relative to the worktree root, with '/' separators, exactly
 * as `git ls-files` prints it. User input is turned into that form here.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { invalidArgs } from '../core/errors.js';
import { isWithin } from '../core/path-within.js';

/**
 * The repo-relative form of `input`: an absolute path must lie inside `root`; a relative one is
 * taken relative to `base` (the caller's directory; the root when absent). '' is the root itself.
 */
export function repoRelative(root: string, input: string, base: string = root): string {
  const written = isAbsolute(input) ? input : resolve(base, input);
  const abs = isWithin(root, written) ? written : throughLinks(root, written);
  if (abs === null) {
    throw invalidArgs(`${input} is outside the worktree ${root}`, { path: input, root }, 'give a path inside the repository');
  }
  const rel = relative(root, abs);
  const norm = posix.normalize(rel.split(sep).join('/'));
  return norm === '.' ? '' : norm.replace(/\/$/, '');
}

/**
 * `abs` (outside `root` as written) with the symbolic links on its way into the worktree followed,
 * as git follows them: `$PWD` through a linked directory (a linked home, macOS's /tmp) names the
 * worktree's files by another path. Followed only up to the first directory inside the worktree,
 * so that a link within it is still seen as one. Null when it does not lead inside.
 */
function throughLinks(root: string, abs: string): string | null {
  const parts = abs.split(sep);
  for (let i = 2; i <= parts.length; i++) {
    let real: string;
    try {
      real = realpathSync(parts.slice(0, i).join(sep));
    } catch {
      return null;
    }
    if (isWithin(root, real)) return join(real, ...parts.slice(i));
  }
  return null;
}

/**
 * What a path a person typed may mean, in the order to try them: relative to their directory
 * (`cwd`), then to the worktree root (`grit context show store.ts` inside src/core, and `src/core/store.ts`
 * from anywhere). An absolute one means itself, with or without a `cwd`. None inside the worktree:
 * the outside-the-worktree error. Shared by `context show` and `context index --path`, so the two read a path alike.
 */
export function typedPathCandidates(root: string, input: string, cwd?: string): string[] {
  if (isAbsolute(input)) return [repoRelative(root, input)];
  const within = (base?: string): string | null => {
    try {
      return repoRelative(root, input, base);
    } catch {
      return null;
    }
  };
  const candidates = new Set<string>();
  for (const c of [cwd === undefined ? null : within(cwd), within()]) if (c !== null) candidates.add(c);
  if (candidates.size === 0) repoRelative(root, input, cwd); // throws the outside-the-worktree error
  return [...candidates];
}
