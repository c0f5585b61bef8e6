/**
 * Files that processes which died left behind: lock files (judged where they block something: the
 * WAL's refs in wal_ref, the actor directory in actor_config) and temporary files (temp_files).
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { plural } from '../core/plural.js';
import { ok, type Finding, type Fix, type State } from './doctor-check.js';
import { judgeLock } from './lockfile.js';
import { actorInRepo } from './store-owner.js';
import { leftTempFiles, removeLeftTempFiles } from './temp-files.js';

/** `.lock` files under a directory (recursively), with whether each is stale and why. */
export function findLocks(dir: string, recursive: boolean): { path: string; stale: boolean; why: string }[] {
  const out: { path: string; stale: boolean; why: string }[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory() && recursive) walk(p);
      else if (e.isFile() && e.name.endsWith('.lock')) out.push({ path: p, ...judgeLock(p) });
    }
  };
  walk(dir);
  return out;
}

export function removeStaleLocks(paths: string[]): Fix {
  return {
    key: `locks:${paths.join(',')}`,
    run: async () => {
      const removed: string[] = [];
      for (const p of paths) {
        if (judgeLock(p).stale) {
          rmSync(p, { force: true });
          removed.push(p);
        }
      }
      return `removed stale lock file${removed.length === 1 ? '' : 's'} ${removed.join(', ') || '(none left)'}`;
    },
  };
}

/** Temporary files of killed writers (src/commands/temp-files.ts): only space, but nothing else removes them. */
export function checkTempFiles(s: State): Finding {
  // An actor's directory outside the repository (--data-dir, GRIT_HOME) is only found through the actor using it.
  const dataDir = s.actor && !actorInRepo(s.actor, s.repo!) ? s.actor.dir : undefined;
  const files = leftTempFiles(s.repo!, dataDir);
  if (files.length === 0) return ok('temp_files', 'no temporary files left by killed writers');
  const bytes = files.reduce((n, f) => n + f.bytes, 0);
  const shown = files.slice(0, 5).map((f) => f.path).join(', ');
  return {
    id: 'temp_files',
    status: 'warn',
    message: `${plural(files.length, 'temporary file')} (${plural(bytes, 'byte')}) left by writers that were killed: ${shown}${files.length > 5 ? ', …' : ''}`,
    plan: 'delete them (`grit doctor --fix`): their writers are gone, so nothing can use them',
    fixes: [
      {
        key: 'temp_files',
        run: async () => `deleted ${plural(removeLeftTempFiles(s.repo!, dataDir).length, 'temporary file')} left by killed writers`,
      },
    ],
  };
}
