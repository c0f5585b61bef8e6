/**
 * After every fetch git starts `git maintenance run --auto`, a process of its own at the end of
 * the fetch (~7-10 ms of every pull), which almost always finds nothing to do. Sync's fetch skips
 * it (`--no-auto-maintenance`) only when it can tell that git would find nothing to do, with git's
 * default settings and the counts git's `gc --auto` checks:
 * - no configuration file git reads mentions `gc`, `maintenance` or `include` (config-mentions.ts),
 *   so the defaults hold: only the `gc` task runs, when there are more than 6,700 loose objects
 *   (`gc.auto`) or more than 50 packs not marked `.keep` (`gc.autoPackLimit`);
 * - the loose objects, estimated as git does from `objects/17` (times 256), and the packs are
 *   below those thresholds with a margin.
 * Otherwise git runs its maintenance as it always did (docs/decisions.md, "Sync's fetch and git's
 * automatic maintenance").
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { configMayMention, MAINTENANCE_KEYS } from './config-mentions.js';
import type { GitCall, GitRun } from './git-process.js';

/** git gcs over `gc.auto` / 256 = 26.2 loose objects in `objects/17` (rounded up: 27); below this, certainly not. */
const LOOSE_IN_17 = 24;
/** git gcs over `gc.autoPackLimit` = 50 packs; below this, certainly not. */
const PACKS = 45;

const LOOSE_NAME = /^[0-9a-f]{38}$/;

/** Entries of `dir`, or null when it cannot be listed for another reason than its absence. */
function entries(dir: string): string[] | null {
  try {
    return readdirSync(dir);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? [] : null;
  }
}

/** Whether `git maintenance run --auto` in `gitDir` (a common git dir) would surely do nothing. */
export async function autoMaintenanceIdle(gitDir: string, run: (call: GitCall) => Promise<GitRun>, env: NodeJS.ProcessEnv): Promise<boolean> {
  const objects = join(gitDir, 'objects');
  const loose = entries(join(objects, '17'));
  if (loose === null || loose.filter((name) => LOOSE_NAME.test(name)).length > LOOSE_IN_17) return false;
  const packDir = entries(join(objects, 'pack'));
  if (packDir === null) return false;
  const kept = new Set(packDir.filter((n) => n.endsWith('.keep')).map((n) => n.slice(0, -'.keep'.length)));
  const packs = packDir.filter((n) => n.endsWith('.idx') && !kept.has(n.slice(0, -'.idx'.length)));
  if (packs.length > PACKS) return false;
  return !(await configMayMention(gitDir, MAINTENANCE_KEYS, run, env));
}
