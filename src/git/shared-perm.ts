/**
 * `core.sharedRepository` (`git init --shared`): in a repository several users of one group work
 * in, git makes what it writes group-writable (`adjust_shared_perm`), and grit must too, or the
 * first user to write a ref or object directory owns it and the others' grit and git fail on it.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readRepoFormat, type RepoFormat } from './repo-format.js';

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

/** git's `adjust_shared_perm` for what grit made at `path` (nothing when the setting is the umask). */
export function adjustSharedPerm(path: string, perm: number): void {
  if (perm === 0) return;
  const mode = statSync(path).mode;
  let tweak = Math.abs(perm);
  if (!(mode & 0o200)) tweak &= ~0o222;
  if (mode & 0o100) tweak |= (tweak & 0o444) >> 2;
  let next = perm < 0 ? (mode & ~0o777) | tweak : mode | tweak;
  const isDir = (mode & 0o170000) === 0o040000;
  if (isDir) next |= ((next & 0o444) >> 2) | 0o2000; // searchable wherever readable; setgid keeps the group
  if ((next ^ mode) & 0o7777) chmodSync(path, next & 0o7777);
}

/** `mkdir -p path`, each directory it made adjusted as git adjusts its own. */
export function mkdirShared(path: string, perm: number): void {
  const first = mkdirSync(path, { recursive: true });
  if (first === undefined || perm === 0) return;
  for (let dir = path; ; dir = dirname(dir)) {
    adjustSharedPerm(dir, perm);
    if (dir === first || dirname(dir) === dir) break;
  }
}
