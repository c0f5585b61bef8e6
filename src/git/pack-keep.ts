/**
 * `.keep` files for the packs grit writes (docs/wal.md, "Packs and git's repack"). A pack holds
 * objects no ref reaches until its writer moves the ref: a `git repack -a -d` or `git gc
 * --prune=now` that lists the packs in that window would delete it, and the ref would then name a
 * missing commit. Git neither repacks nor deletes a pack with a `.keep` file, so each new pack
 * gets one before it is placed (as git's own index-pack does) and loses it once the ref is
 * written. The `.keep` is created exclusively and belongs to the writer that made it.
 *
 * The file names its writer (`grit <pid> on <host>`, the form of git's own `receive-pack <pid> on
 * <host>`): a writer killed in that window leaves it behind, and a kept pack is never folded into
 * git's repacks nor rolled up by grit's, so the next writer's roll-up and `doctor --fix` delete a
 * grit `.keep` whose process is gone. Other `.keep` files (a user's, git's) are never touched.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pidAlive } from '../core/pid-alive.js';
import { adjustSharedPerm } from '../core/shared-files.js';
import { QUIET_MS } from '../core/left-temp-files.js';

const MARK = /^grit (\d+) on /;

/**
 * Keeps `objects/pack/<name>.pack` from git's repack and gc, if no `.keep` of that name exists yet
 * (created exclusively: false when one does, another writer's, a user's or a killed writer's).
 * Not fsynced: after a crash it is left-over either way. Made as git makes its files (`perm`,
 * core.sharedRepository): another user of the group must read it to tell a left one.
 */
export function keepPack(packDir: string, name: string, perm: number): boolean {
  const path = join(packDir, `${name}.keep`);
  try {
    writeFileSync(path, `grit ${process.pid} on ${hostname()}\n`, { flag: 'wx' });
    adjustSharedPerm(path, perm);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Lets git repack `<name>.pack` again (its objects are reachable now, or it was deleted). Only the
 * writer whose `keepPack` made the `.keep` calls this: git honours any `.keep` of the name, so one
 * deleted by another writer would leave this one's pack unprotected (docs/wal.md, "Two writers of
 * the same objects").
 */
export function releasePack(packDir: string, name: string): void {
  rmSync(join(packDir, `${name}.keep`), { force: true });
}

/** The grit `.keep` files among `names` (a listing of `packDir`) whose writer is gone. */
export function leftKeeps(packDir: string, names: readonly string[], now = Date.now()): { path: string; bytes: number }[] {
  const out: { path: string; bytes: number }[] = [];
  for (const name of names) {
    if (!name.endsWith('.keep')) continue;
    const path = join(packDir, name);
    try {
      const m = MARK.exec(readFileSync(path, 'utf8'));
      if (!m || pidAlive(Number(m[1]))) continue;
      const st = statSync(path);
      if (now - st.mtimeMs >= QUIET_MS) out.push({ path, bytes: st.size });
    } catch {
      // released meanwhile
    }
  }
  return out;
}

/** Deletes the `.keep` files `leftKeeps` finds: their packs are ordinary packs again. */
export function removeLeftKeeps(packDir: string, names: readonly string[]): void {
  for (const { path } of leftKeeps(packDir, names)) rmSync(path, { force: true });
}
