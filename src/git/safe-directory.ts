/**
 * git's ownership rule (CVE-2022-24765, git 2.39's `ensure_valid_ownership`): a repository that
 * another user owns is refused unless `safe.directory` in the protected config (system, global,
 * command line: never the repository's own) names it. grit must apply it itself: it passes
 * `--git-dir` to the git it spawns, which skips git's check, so the owner's config
 * (`remote.*.uploadpack`, `core.sshCommand`, …) would run as the caller (docs/decisions.md).
 */
import { lstatSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { childProcess } from '../core/builtins.js';
import { GritError } from '../core/errors.js';
import { gitEnv } from './git-env.js';
import { shellWord } from '../core/shell-word.js';

/**
 * Whether the current user owns `path` (lstat, as git): its owner is the effective uid, or, for
 * root, the `SUDO_UID` root came from (git ≥ 2.37: `sudo make install` in one's own checkout).
 */
function ownedByCaller(path: string, euid: number, env: NodeJS.ProcessEnv): { owned: boolean; owner: number | null } {
  let owner: number;
  try {
    owner = lstatSync(path).uid;
  } catch {
    return { owned: false, owner: null };
  }
  if (owner === euid) return { owned: true, owner };
  const sudoUid = env.SUDO_UID;
  return { owned: euid === 0 && sudoUid !== undefined && /^[0-9]+$/.test(sudoUid) && Number(sudoUid) === owner, owner };
}

/** `safe.directory` of the system, global and command-line config, in git's order (git reads them; none when git cannot). */
function safeDirectories(env: NodeJS.ProcessEnv): string[] {
  // Run from `/` and filtered by scope: a repository's own config never speaks for itself.
  // Loaded only here, when an owner differs: the CLI's start-up path (a daemon-served command) never loads child_process.
  const r = childProcess().spawnSync('git', ['config', '--show-scope', '-z', '--get-all', 'safe.directory'], { cwd: '/', env: gitEnv(env), encoding: 'utf8' });
  if (r.status !== 0 || typeof r.stdout !== 'string') return [];
  const fields = r.stdout.split('\0');
  const values: string[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) if (['system', 'global', 'command'].includes(fields[i])) values.push(fields[i + 1]);
  return values;
}

function realOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Whether `safe.directory` values allow `repoPath` (a work tree, or a bare repository's git dir):
 * `*` allows all, an empty value forgets those before it, a leading `~/` is the home directory,
 * and a value ending in `/*` allows what is below it (git 2.46; older gits compare the path only).
 */
export function allowedBy(values: readonly string[], repoPath: string, env: NodeJS.ProcessEnv): boolean {
  const real = realOrSelf(repoPath);
  let safe = false;
  for (const raw of values) {
    if (raw === '') safe = false;
    else if (raw === '*') safe = true;
    else {
      const value = raw === '~' || raw.startsWith('~/') ? (env.HOME ?? homedir()) + raw.slice(1) : raw;
      if (value.endsWith('/*')) safe ||= (real + '/').startsWith(realOrSelf(value.slice(0, -2)) + '/');
      else safe ||= realOrSelf(value) === real;
    }
  }
  return safe;
}

/**
 * Refuses (git_error, exit 5) a repository the caller does not own, unless `safe.directory`
 * allows it. `paths` are what git checks (the `.git` file of a worktree or submodule, the work
 * tree, the git dir) and the common git dir, whose config git would read as the caller.
 */
export function checkOwnership(repoPath: string, paths: readonly string[], env: NodeJS.ProcessEnv): void {
  const euid = process.geteuid?.();
  if (euid === undefined) return; // Windows: git checks ownership differently there
  const notOwned = paths.map((path) => ({ path, ...ownedByCaller(path, euid, env) })).find((p) => !p.owned);
  if (!notOwned || allowedBy(safeDirectories(env), repoPath, env)) return;
  const owner = notOwned.owner === null ? 'cannot be read' : `is owned by uid ${notOwned.owner}`;
  throw new GritError('git_error', `detected dubious ownership in repository at ${repoPath}: ${notOwned.path} ${owner}, grit runs as uid ${euid}`, {
    details: { path: repoPath, owned_by: notOwned.owner, uid: euid },
    suggestion: `if you trust the repository, run \`git config --global --add safe.directory ${shellWord(repoPath)}\``,
    environment: true,
  });
}
