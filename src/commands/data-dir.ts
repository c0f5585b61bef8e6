/**
 * What a command's actor selection gives (SPEC §4): the data dir `--data-dir` or GRIT_HOME names,
 * as an absolute path, and the `--actor` selector. Small and free of the store and config modules:
 * the CLI's start-up bundle resolves them before handing a command to the daemon.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { GritError, invalidArgs } from '../core/errors.js';
import { text } from './args.js';

/** How a command is told which actor to act as: `--data-dir` (`dataDir`) and `--actor`. */
export interface ActorSelection {
  dataDir?: string;
  actor?: string;
}

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

/**
 * A given selector must say something: `--actor "$AGENT_ID"` or `--data-dir "$AGENT_HOME"` with
 * the variable unset would otherwise act as the repository's default actor, and its events cannot
 * be taken back (docs/decisions.md). Absent (or null, from the API) is not given.
 */
const given = (v: unknown, key: string): string | undefined => (v === undefined || v === null ? undefined : text({ [key]: v }, key, { nonEmpty: true }));

/** `--actor` as given (an id, a prefix or a label), undefined when it is not; empty, refused. */
export const givenActor = (sel: ActorSelection): string | undefined => given(sel.actor, 'actor');

/**
 * The data dir as given, `--data-dir` else GRIT_HOME, and which of the two gave it. An empty
 * GRIT_HOME is refused as an empty `--data-dir` is, not taken as unset (as git takes an empty
 * variable): `GRIT_HOME=$AGENT_HOME grit …` is the same slip (docs/decisions.md).
 */
function givenDataDir(sel: ActorSelection): { path: string; named: string } | undefined {
  const flag = given(sel.dataDir, 'data_dir');
  if (flag !== undefined) return { path: flag, named: '--data-dir' };
  const env = process.env.GRIT_HOME;
  if (env === undefined) return undefined;
  if (env.trim() === '') {
    throw invalidArgs('GRIT_HOME is set but empty', { variable: 'GRIT_HOME' }, "set GRIT_HOME to an actor's data dir, or unset it (`unset GRIT_HOME`) to act as --actor or the repository's default selects");
  }
  return { path: env, named: 'GRIT_HOME' };
}

/** `sel.dataDir` (`--data-dir`), else GRIT_HOME, as an absolute path; undefined when neither is set. */
export function dataDirOf(sel: ActorSelection): string | undefined {
  const dir = givenDataDir(sel);
  return dir && resolve(expandHome(dir.path, dir.named));
}

/**
 * Refuses an empty selector of either kind, for doctor: what it cannot select it reports as a
 * finding, but an empty one is a slip in the command line, refused as every command refuses it.
 */
export function refuseEmptySelection(sel: ActorSelection): void {
  givenActor(sel);
  givenDataDir(sel);
}
