/**
 * Which repository an actor's store was built from (docs/environment.md, "A data dir serves one
 * repository"). The store records it in its meta; a store used in another repository is never
 * caught up, and above all never "repaired" into this repository's WAL (src/commands/lost-events.ts).
 *
 * Two parts, because neither alone tells repositories apart:
 * - `git_dir`: the real path of the common git dir. Worktrees share it; a moved or copied
 *   repository has another one.
 * - `id`: random, kept in `<common git dir>/grit/repository-id`. It moves with the repository and
 *   `git clone` does not copy it, so a repository made anew at a path another one had (deleted,
 *   cloned again) has another id.
 * A store recorded under the same id at a path that no longer holds that id is the same
 * repository, moved (`movedHere`): the store only records the new path. At a path that still
 * holds it, this is a copy (`cp -r`), another repository.
 */
import { existsSync, linkSync, realpathSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { mkdirShared } from './shared-files.js';
import { writeNewFile } from './write-new-file.js';
import { tempBeside } from './replace-file.js';
import { readTextOrNull } from './read-text-or-null.js';

export interface RepoIdentity {
  id: string | null;
  git_dir: string;
}

const ID_FILE = 'repository-id';
const ID = /^[0-9a-f]{32}$/;

/** The file holding the id of the repository whose grit dir is `gritDir`. */
export const repoIdPath = (gritDir: string): string => join(gritDir, ID_FILE);

/** Whether `s` is a repository id as `grit/repository-id` holds it. */
export const isRepositoryId = (s: unknown): s is string => typeof s === 'string' && ID.test(s);

function readId(gritDir: string): string | null {
  const text = readTextOrNull(repoIdPath(gritDir))?.trim();
  return isRepositoryId(text) ? text : null;
}

/**
 * The repository's id, made on first use (created exclusively: of two processes making it at once,
 * both end up with the one that got there first). Null where it cannot be written (a read-only
 * repository): the path alone then tells the repository.
 */
function ensureId(gritDir: string, perm: number): string | null {
  const known = readId(gritDir);
  if (known) return known;
  const path = repoIdPath(gritDir);
  const tmp = tempBeside(path);
  try {
    mkdirShared(gritDir, perm);
    writeNewFile(tmp, `${randomBytes(16).toString('hex')}\n`, perm);
    linkSync(tmp, path);
  } catch {
    // EEXIST: another process made it first (read below); anything else: not writable here.
  } finally {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // A grit dir that cannot be searched (or is a file): nothing was made in it.
    }
  }
  return readId(gritDir);
}

/**
 * This repository's identity (`commonDir`, `gritDir` as in RepoPaths). `create: false` (doctor,
 * which only looks) makes no id: a repository without one yet has none that a store could record.
 * `perm`: core.sharedRepository's, for the id file and `.git/grit` (shared-files.ts).
 */
export function repoIdentity(commonDir: string, gritDir: string, { create = true, perm = 0 } = {}): RepoIdentity {
  return { id: create ? ensureId(gritDir, perm) : readId(gritDir), git_dir: realpathSync(commonDir) };
}

export function sameRepo(a: RepoIdentity, b: RepoIdentity): boolean {
  return a.id === b.id && a.git_dir === b.git_dir;
}

/** Whether the repository `recorded` names is still where it was, the same repository. */
export function stillThere(recorded: RepoIdentity): boolean {
  const id = readId(join(recorded.git_dir, 'grit'));
  return recorded.id === null ? id === null && existsSync(join(recorded.git_dir, 'HEAD')) : id === recorded.id;
}

/**
 * Whether the repository `recorded` names was moved to where `current` is: the same id, and its
 * old path no longer holds it (moved back and forth, each move is one).
 */
export function movedHere(recorded: RepoIdentity, current: RepoIdentity): boolean {
  return recorded.id !== null && recorded.id === current.id && recorded.git_dir !== current.git_dir && !stillThere(recorded);
}
