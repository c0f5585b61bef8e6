/**
 * `core.sharedRepository` (`git init --shared`): in a repository several users of one group work
 * in, git makes what it writes group-writable (`adjust_shared_perm`), and grit must too, or the
 * first user to write a ref or object directory owns it and the others' grit and git fail on it.
 * The chmod arithmetic is src/core/shared-files.ts; this reads the setting.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { isWithin } from '../core/path-within.js';
import { readRepoFormat, type RepoFormat } from './repo-format.js';
import type { RepoDirs } from './repo.js';

/**
 * git's encoding (`git_config_perm`): 0 leaves the umask alone; a positive mode is added to what
 * the umask gives (`group` 0660, `all` 0664); a negative one replaces it (`0640`: exactly that).
 */
export function sharedPerm(value: RepoFormat['sharedRepository']): number {
  if (value === undefined || value === 'umask' || value === 'false' || value === 'no' || value === 'off' || value === '') return 0;
  if (value === true || value === 'group' || value === 'true' || value === 'yes' || value === 'on') return 0o660;
  if (value === 'all' || value === 'world' || value === 'everybody') return 0o664;
  if (!/^[0-7]+$/.test(value)) return 0o660; // git takes any other true-ish text as true
  const mode = parseInt(value, 8);
  if (mode === 0) return 0;
  if (mode === 1) return 0o660;
  if (mode === 2) return 0o664;
  // git refuses a mode that takes the owner's read or write away; grit leaves the umask then.
  return (mode & 0o600) === 0o600 ? -(mode & 0o666) : 0;
}

/** The setting per common git dir, read again when its config changes (one stat per use). */
const cache = new Map<string, { stamp: string; perm: number }>();

export function sharedPermOf(commonDir: string): number {
  let stamp = '-';
  try {
    const st = statSync(join(commonDir, 'config'));
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    /* no config: git's defaults */
  }
  const hit = cache.get(commonDir);
  if (hit?.stamp === stamp) return hit.perm;
  const perm = sharedPerm(readRepoFormat(commonDir).sharedRepository);
  cache.set(commonDir, { stamp, perm });
  return perm;
}

/**
 * The setting for what grit makes at `path`: the repository's inside its `.git/grit` (SPEC's local
 * state: config, actors, stores, caches), none elsewhere (a data dir outside is its user's own).
 */
export function sharedPermAt(repo: RepoDirs, path: string): number {
  return isWithin(repo.gritDir, path) ? sharedPermOf(repo.commonDir) : 0;
}
