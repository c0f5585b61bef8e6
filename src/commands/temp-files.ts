/**
 * Temporary files that grit's writers leave behind when they are killed mid-write (kill -9, OOM,
 * a full disk): every one is named after the process writing it, so a file whose process is gone
 * can never be put in place and only takes space (so does a staging directory of an actor
 * being made, a `.keep` that keeps a pack out of git's repacks: pack-keep.ts, and a snapshot ref's
 * lock, which names no process but is never waited for). git's own gc
 * removes git's temporary files, not these; `doctor` lists them and `doctor --fix` deletes them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { mainWorktreeRoot, type RepoPaths } from '../git/repo.js';
import { actorsDir } from './actors.js';
import { STAGED_ACTOR } from './new-actor.js';
import { leftKeeps } from '../git/pack-keep.js';
import { leftBeside, removeLeft, scanLeft as scan, type LeftTempFile } from '../core/left-temp-files.js';
import { agentsMdPath } from './agents-md.js';
import { SNAPSHOT_PREFIX } from '../git/snapshot.js';

/** Object writes (pack-write.ts: `tmp_{pack,idx}_grit_<pid>_<hex>`; `tmp_obj_…`, an older grit's loose objects, may be left too). */
const OBJECT_TMP = /^tmp_(?:obj|pack|idx)_grit_(\d+)_[0-9a-f]+$/;
/** Files replaced by rename or linked into place (configs, the daemon's lease, the unsynced marker, the repository id): `<name>.<pid>.<n>.tmp` (replace-file.ts tempBeside; an older grit's had no `<n>`). */
export const RENAME_TMP = /\.(\d+)(?:\.\d+)?\.tmp$/;
/**
 * Exports (export.ts): `.<name>.grit-<pid>.<n>.tmp` beside the target, a name no user's file is
 * likely to have (`n` tells apart the exports a daemon's threads run at once; an older grit's
 * name had none). Found only in each worktree's `.grit/`, where exports go by default: one
 * written with `--output` elsewhere could be anywhere (docs/operations.md).
 */
const EXPORT_TMP = /^\..+\.grit-(\d+)(?:\.\d+)?\.tmp$/;
export const exportTempName = (name: string, pid: number, serial: number): string => `.${name}.grit-${pid}.${serial}.tmp`;
/**
 * A rebuild's copy of the store (rebuild-copy.ts): `store.mdb.before-rebuild-<pid>`, in the actor
 * directory. Without a pid, one an older grit made: nothing says whether its rebuild still runs,
 * so only its age does (as for a writer in another pid namespace).
 */
const REBUILD_COPY = /^store\.mdb\.before-rebuild(?:-(\d+))?$/;
export const rebuildCopyName = (pid: number): string => `store.mdb.before-rebuild-${pid}`;
/**
 * A snapshot ref's lock, `refs/grit/snapshots/<ms>.lock`, that a `grit snapshot` killed while it
 * created its ref left. It blocks no write (snapshot refs are new names, never updated: the next
 * snapshot takes another), so it is only clutter; it names no pid, so only its age tells.
 */
const SNAPSHOT_REF_LOCK = /^\d{1,16}\.lock$/;

/** A killed writer's `.keep` beside a pack (pack-keep.ts): deleting it makes the pack an ordinary one again. */
function leftKeepFiles(packDir: string, now: number): LeftTempFile[] {
  try {
    return leftKeeps(packDir, readdirSync(packDir), now);
  } catch {
    return []; // no packs yet
  }
}

/**
 * grit's temporary files in the repository whose writing process is gone; with `dataDir`, also in
 * that actor directory outside the repository (--data-dir, GRIT_HOME).
 */
export function leftTempFiles(repo: RepoPaths, dataDir?: string, now = Date.now()): LeftTempFile[] {
  const out: LeftTempFile[] = [];
  const objects = join(repo.commonDir, 'objects');
  scan(join(objects, 'pack'), OBJECT_TMP, now, out);
  out.push(...leftKeepFiles(join(objects, 'pack'), now));
  for (let i = 0; i < 256; i++) scan(join(objects, i.toString(16).padStart(2, '0')), OBJECT_TMP, now, out);
  scan(join(repo.commonDir, SNAPSHOT_PREFIX), SNAPSHOT_REF_LOCK, now, out);
  scan(repo.gritDir, RENAME_TMP, now, out);
  // An actor being made that was never renamed into actors/ (new-actor.ts): nothing ever saw its key.
  scan(repo.gritDir, STAGED_ACTOR, now, out, true);
  const actors = actorsDir(repo);
  let ids: string[] = [];
  try {
    ids = readdirSync(actors);
  } catch {
    // no actors yet
  }
  for (const dir of [...ids.map((id) => join(actors, id)), ...(dataDir ? [dataDir] : [])]) {
    scan(dir, RENAME_TMP, now, out);
    scan(dir, REBUILD_COPY, now, out);
  }
  for (const root of worktreeRoots(repo)) {
    scan(join(root, '.grit'), EXPORT_TMP, now, out);
    // A killed `grit init`'s AGENTS.md (or the file it links to), beside it in the working tree.
    const agentsMd = agentsMdPath(root);
    if (typeof agentsMd === 'string') out.push(...leftBeside(agentsMd, now));
  }
  return out;
}

/** The working trees of the repository: this one, the main one and each linked one git lists in `<commonDir>/worktrees/`. */
function worktreeRoots(repo: RepoPaths): Set<string> {
  const roots = new Set([repo.root]);
  const main = mainWorktreeRoot(repo.commonDir);
  if (main) roots.add(main);
  const linked = join(repo.commonDir, 'worktrees');
  let names: string[] = [];
  try {
    names = readdirSync(linked);
  } catch {
    // no linked worktrees
  }
  for (const name of names) {
    try {
      // `gitdir` names the worktree's `.git` file.
      roots.add(dirname(readFileSync(join(linked, name, 'gitdir'), 'utf8').trim()));
    } catch {
      // being added or removed
    }
  }
  return roots;
}

/** Deletes the files `leftTempFiles` finds now (a file whose writer came back to life is kept). */
export function removeLeftTempFiles(repo: RepoPaths, dataDir?: string): LeftTempFile[] {
  return removeLeft(leftTempFiles(repo, dataDir));
}

/** Deletes the copies of the store that killed rebuilds left in the actor directory `dir`. */
export function removeLeftRebuildCopies(dir: string): LeftTempFile[] {
  const out: LeftTempFile[] = [];
  scan(dir, REBUILD_COPY, Date.now(), out);
  return removeLeft(out);
}
