/**
 * The data dir `--data-dir` or GRIT_HOME names, as an absolute path. Small and free of the store
 * and config modules: the CLI's start-up bundle resolves it before handing a command to the daemon.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { GritError } from '../core/errors.js';

/**
 * A leading `~/` (or a bare `~`) is the home directory, as git reads its path settings: the shell
 * leaves `--data-dir=~/x` and a quoted `GRIT_HOME='~/x'` as they are, and taken literally they
 * would make a `~` directory in the repository, which `rm -rf ~` then "cleans up". `~name/` (another
 * user's home) is refused rather than taken as a directory named `~name`.
 */
function expandHome(path: string, named: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  if (path.startsWith('~')) {
    throw new GritError('invalid_args', `${named} ${path}: grit expands a leading ~/ (your home directory) only, not ~name`, {
      details: { data_dir: path },
      suggestion: `write the path out in full, or as ./${path} for a directory whose name starts with ~`,
    });
  }
  return path;
}

/** `sel.dataDir` (`--data-dir`), else GRIT_HOME, as an absolute path; undefined when neither is set. */
export function dataDirOf(sel: { dataDir?: string }): string | undefined {
  if (sel.dataDir) return resolve(expandHome(sel.dataDir, '--data-dir'));
  const env = process.env.GRIT_HOME;
  return env ? resolve(expandHome(env, 'GRIT_HOME')) : undefined;
}
