/**
 * Whether git's configuration can set some keys, asked before every fetch: whether it can name a
 * push URL for a remote (`remote.<name>.pushurl`, `url.<base>.pushInsteadOf`: transport.ts
 * `readSide`), and whether it can change git's automatic maintenance (auto-maintenance.ts).
 * Asking git is a process (~4 ms, serial before the fetch); this reads the files `git config`
 * would read instead, and only ever answers "no" when none of them can hold any of the keys: none
 * mentions their names or `include` (an included file is not followed), in any case, not even in
 * a comment. Everything else, and anything it cannot tell (a file it cannot read, configuration
 * passed in the environment, an unknown system file), is "maybe", and git is asked as before.
 * Nothing is cached but the system file's path: every call reads the files as they are now.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitEnv } from './git-env.js';
import type { GitCall, GitRun } from './git-process.js';

/** How git is started here (transport.ts: through the daemon's spawn helper when there is one). */
type RunGit = (call: GitCall) => Promise<GitRun>;

/**
 * What a file that may set a push URL mentions. A variable name is letters, digits and dashes (no
 * escapes, no line continuation): none of these keys can be set without its name in the file.
 */
export const PUSH_URL_KEYS = /pushurl|pushinsteadof|include/i;
/** What a file that may change git's automatic maintenance mentions: a `gc` or `maintenance` section or key. */
export const MAINTENANCE_KEYS = /\bgc\b|maintenance|include/i;
/** Configuration that `git config` takes from the environment rather than from the files below. */
const ENV_CONFIG = ['GIT_CONFIG', 'GIT_CONFIG_PARAMETERS', 'GIT_CONFIG_COUNT'];

/**
 * The system file (`git config --system`) is wherever the git binary was built to look, which only
 * git can say: asked once per process, as its origin or, when it does not exist, the file it could
 * not read. Null when git does not say (an existing empty file names no origin): then git is asked
 * each time, as before.
 */
let systemFile: Promise<string | null> | null = null;

async function learnSystemFile(run: RunGit, env: NodeJS.ProcessEnv): Promise<string | null> {
  const r = await run({ args: ['config', '--system', '--show-origin', '--list'], env: gitEnv(env) }).catch(() => null);
  return r && systemFileOf(r);
}

/** The system file `git config --system --show-origin --list` names: its entries' origin, or the file it could not read. */
export function systemFileOf(r: GitRun): string | null {
  const origin = /^file:([^\t"][^\t]*)\t/.exec(r.stdout);
  if (origin) return origin[1];
  const missing = /unable to read config file '([^']+)'/.exec(r.stderr);
  return r.code !== 0 && missing ? missing[1] : null;
}

/** The files `git --git-dir <gitDir> config` reads, or null when they cannot all be named. */
async function configFiles(gitDir: string, env: NodeJS.ProcessEnv, run: RunGit): Promise<string[] | null> {
  if (ENV_CONFIG.some((k) => env[k] !== undefined)) return null;
  const system = env.GIT_CONFIG_SYSTEM || (await (systemFile ??= learnSystemFile(run, env)));
  if (!system) return null;
  let global: string[];
  if (env.GIT_CONFIG_GLOBAL) global = [env.GIT_CONFIG_GLOBAL];
  else if (env.HOME) global = [join(env.XDG_CONFIG_HOME || join(env.HOME, '.config'), 'git', 'config'), join(env.HOME, '.gitconfig')];
  else return null;
  return [system, ...global, join(gitDir, 'config'), join(gitDir, 'config.worktree')];
}

/**
 * False when no file that git reads for `gitDir` mentions `keys` (see above); true when one may.
 * `run` starts git, once per process, to learn the system file; `env` is the one git's config
 * lookup runs with.
 */
export async function configMayMention(gitDir: string, keys: RegExp, run: RunGit, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const files = await configFiles(gitDir, env, run);
  if (files === null) return true;
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue; // git skips a file that is not there
      return true;
    }
    if (keys.test(text)) return true;
  }
  return false;
}
