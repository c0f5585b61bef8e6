/**
 * Files and directories made as git makes its own under `core.sharedRepository` (git's
 * `adjust_shared_perm`): in a repository several users of one group work in, what one of them
 * makes must stay readable and writable by the others. `perm` is the setting in git's encoding
 * (src/git/shared-perm.ts `sharedPerm`); 0 leaves the umask alone, so all of this is a no-op then.
 */
import { appendFileSync, chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** git's `adjust_shared_perm` for what grit made at `path` (nothing when the setting is the umask). */
export function adjustSharedPerm(path: string, perm: number): void {
  if (perm === 0) return;
  const mode = statSync(path).mode;
  let tweak = Math.abs(perm);
  if (!(mode & 0o200)) tweak &= ~0o222;
  if (mode & 0o100) tweak |= (tweak & 0o444) >> 2;
  let next = perm < 0 ? (mode & ~0o777) | tweak : mode | tweak;
  if ((mode & 0o170000) === 0o040000) {
    next |= (next & 0o444) >> 2; // searchable wherever readable
    if (next & 0o060) next |= 0o2000; // setgid: what others make inside keeps the group (git: only when the group gains access)
  }
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

/**
 * Makes the empty file `path` (with `mode`, less the umask) unless it is there, and adjusts it.
 * Only the process that made a file adjusts it: a file another user made is theirs to adjust
 * (chmod is the owner's), and was adjusted when they made it.
 */
export function createShared(path: string, perm: number, mode = 0o666): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  closeSync(fd);
  adjustSharedPerm(path, perm);
}

/** Appends `text` to `path`, made (and adjusted) when it is not there yet. */
export function appendShared(path: string, text: string, perm: number): void {
  if (perm !== 0) createShared(path, perm);
  appendFileSync(path, text);
}
