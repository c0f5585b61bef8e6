/** Finds the repository around a directory without spawning git (start-up matters). */
import { existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { GritError } from '../core/errors.js';
import { checkRepoFormat, configBool, readPlainSections } from './repo-format.js';
import { checkOwnership } from './safe-directory.js';
import { shellWord } from '../core/shell-word.js';

export interface RepoPaths {
  /** The working tree root of the current worktree. */
  root: string;
  /** The git dir of the current worktree (differs from commonDir in a linked worktree). */
  gitDir: string;
  /** The main repository's git dir: objects, refs and all grit state live here. */
  commonDir: string;
  /** `<commonDir>/grit`. */
  gritDir: string;
}

/**
 * What every worktree of a repository shares: its git state and grit's. A context that serves
 * several worktrees (a daemon worker's) holds only this; the worktree is each command's own.
 */
export type RepoDirs = Pick<RepoPaths, 'commonDir' | 'gritDir'>;

/**
 * The root of the repository's main worktree: the directory that holds its common git dir when
 * that is a `.git` directory. Null for a git dir kept apart (`git init --separate-git-dir`), which
 * does not say where its main worktree is.
 */
export function mainWorktreeRoot(commonDir: string): string | null {
  return basename(commonDir) === '.git' ? dirname(commonDir) : null;
}

/** A worktree of each repository met whose git dir is kept apart (no main worktree to read off it). */
const worktreeOf = new Map<string, string>();

/** Remembers `root` as a worktree of the repository at `commonDir` (the first one met is kept). */
export function noteWorktree(commonDir: string, root: string): void {
  if (!worktreeOf.has(commonDir)) worktreeOf.set(commonDir, root);
}

/**
 * Where git runs for the repository at `commonDir`, as it would for its user: the main
 * worktree's root; for a git dir kept apart (`git init --separate-git-dir`, a submodule's), the
 * worktree grit was run in (noteWorktree); for a bare one, the git dir. A remote whose
 * configured URL is a relative path then means what it means to git there, whatever this
 * process's working directory (a daemon's is wherever it was started).
 */
export function gitWorkDir(commonDir: string): string {
  return mainWorktreeRoot(commonDir) ?? worktreeOf.get(commonDir) ?? commonDir;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/**
 * The common git dir of `gitDir` (itself, or what its `commondir` names: a linked worktree's), or
 * null when git would not take `gitDir` as a repository: its HEAD names no ref or commit, or the
 * common dir has no `objects` and `refs` (git's is_git_directory).
 */
function gitDirCommon(gitDir: string): string | null {
  try {
    const commonFile = join(gitDir, 'commondir');
    const commonDir = isFile(commonFile) ? resolve(gitDir, readFileSync(commonFile, 'utf8').trim()) : gitDir;
    const head = join(gitDir, 'HEAD');
    const headOk = lstatSync(head).isSymbolicLink() || /^(ref:\s*refs\/|[0-9a-f]{40})/.test(readFileSync(head, 'utf8'));
    return headOk && isDir(join(commonDir, 'objects')) && isDir(join(commonDir, 'refs')) ? commonDir : null;
  } catch {
    return null;
  }
}

/** The git dir the `.git` file `gitFile` names (a relative one from the file's directory, as git takes it), or null when it names none. */
function gitDirNamedBy(gitFile: string): string | null {
  const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(gitFile, 'utf8'));
  return m ? resolve(dirname(gitFile), m[1].trim()) : null;
}

/**
 * The git dir of the worktree at `root`: its `.git` directory, or the one its `.git` file names
 * (a linked worktree's admin directory; a submodule's). The worktree was found by `findRepo`.
 */
export function worktreeGitDir(root: string): string {
  const dotGit = join(root, '.git');
  return (isFile(dotGit) ? gitDirNamedBy(dotGit) : null) ?? dotGit;
}

/** A bare repository's own directory (its config says so: a `.git` directory's says `bare = false`). */
function isBareRepo(dir: string): boolean {
  if (!existsSync(join(dir, 'HEAD')) || !existsSync(join(dir, 'objects'))) return false;
  try {
    return configBool(readPlainSections(readFileSync(join(dir, 'config'), 'utf8')).get('core.bare'));
  } catch {
    return false;
  }
}

/**
 * Why `dir` cannot be a directory to find a repository from: it does not exist, or is not a
 * directory (a file, or a path through one); null when it is one.
 */
export function notADirectory(dir: string): 'no such directory' | 'not a directory' | null {
  try {
    return statSync(dir).isDirectory() ? null : 'not a directory';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'not a directory' : 'no such directory';
  }
}

/**
 * The repository around `cwd`. grit finds it from the working directory, as the daemon does from a
 * request's: a GIT_DIR, GIT_WORK_TREE or GIT_COMMON_DIR in the environment that names another
 * repository is refused rather than quietly ignored (docs/decisions.md, "GIT_DIR"). Git's hooks
 * set GIT_DIR to the repository they run in, which agrees. A repository another user owns
 * (safe-directory.ts) or whose format grit cannot handle (repo-format.ts) is refused here, before
 * anything reads or writes it.
 */
export function findRepo(cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env, named = 'cwd'): RepoPaths {
  // A directory that is not there is not walked up from, as git's `-C` refuses it: a request's
  // repo_root or the API's cwd with a typo (`~/src/projx`) would otherwise act on the repository
  // around it (a dotfiles repository in the home directory, say). `named`: the argument it came in.
  const start = resolve(cwd);
  const why = notADirectory(start);
  if (why) {
    throw new GritError('invalid_args', `${named} ${start}: ${why}`, {
      details: { field: named, path: start },
      suggestion: `give ${named} the directory of a git repository, or one inside it`,
    });
  }
  const { found, gitFile } = discoverRepo(cwd, env);
  // Before grit reads the repository's config or runs git there: git's own order.
  checkOwnership(found.root, [...new Set([gitFile ?? found.gitDir, found.root, found.gitDir, found.commonDir])], env);
  checkGitEnv(found, cwd, env);
  checkRepoFormat(found.commonDir);
  noteWorktree(found.commonDir, found.root);
  return found;
}

function checkGitEnv(found: RepoPaths, cwd: string, env: NodeJS.ProcessEnv): void {
  const named: [string, string, string[]][] = [];
  // A linked worktree's own git dir, or its repository's common one.
  if (env.GIT_DIR) named.push(['GIT_DIR', env.GIT_DIR, [found.gitDir, found.commonDir]]);
  if (env.GIT_WORK_TREE) named.push(['GIT_WORK_TREE', env.GIT_WORK_TREE, [found.root]]);
  if (env.GIT_COMMON_DIR) named.push(['GIT_COMMON_DIR', env.GIT_COMMON_DIR, [found.commonDir]]);
  for (const [name, value, accepted] of named) {
    if (accepted.some((path) => samePath(resolve(cwd, value), path))) continue;
    // A path to nothing (a typo, a stale export) names no other repository to go to: unset it.
    if (!existsSync(resolve(cwd, value))) {
      throw new GritError('git_error', `${name} names ${value}, which does not exist (grit works on the repository of the working directory, ${found.root})`, {
        details: { [name.toLowerCase()]: value, repo_root: found.root },
        suggestion: `unset ${name} (\`unset ${name}\`): git fails with it too`,
        environment: true,
      });
    }
    throw new GritError('git_error', `${name} names ${value}, but grit works on the repository of the working directory (${found.root})`, {
      details: { [name.toLowerCase()]: value, repo_root: found.root },
      suggestion: `run grit from inside the repository ${name} names, without ${name} set`,
      environment: true,
    });
  }
}

function samePath(a: string, b: string): boolean {
  try {
    return a === b || realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** The repository around `cwd`, and the `.git` file that points to its git dir (a linked worktree's, a submodule's) if any. */
function discoverRepo(cwd: string, env: NodeJS.ProcessEnv): { found: RepoPaths; gitFile: string | null } {
  let dir = resolve(cwd);
  for (;;) {
    if (isBareRepo(dir)) throw bareRepository(dir);
    const dotGit = join(dir, '.git');
    const gitFile = isFile(dotGit) ? dotGit : null;
    if (gitFile) {
      const gitDir = gitDirNamedBy(gitFile);
      const commonDir = gitDir === null ? null : gitDirCommon(gitDir);
      // git stops here too: a `.git` file that names no repository (a worktree whose admin
      // directory was pruned or moved) is not skipped for the repository around it.
      if (gitDir === null || commonDir === null) {
        throw new GritError('git_error', `not a git repository: ${gitDir ?? gitFile}, which ${gitFile} names`, {
          details: { path: gitDir ?? gitFile, git_file: gitFile },
          suggestion: `if its repository moved, run \`git worktree repair <worktree>\` from the repository; else correct or remove ${gitFile}`,
          environment: true,
        });
      }
      return { found: { root: dir, gitDir, commonDir, gritDir: join(commonDir, 'grit') }, gitFile };
    }
    // A `.git` directory git would not take (empty, half made) is passed over, as git does.
    const commonDir = gitDirCommon(dotGit);
    if (commonDir !== null) {
      if (isBareRepo(dotGit)) throw bareRepository(dir, dotGit);
      return { found: { root: dir, gitDir: dotGit, commonDir, gritDir: join(commonDir, 'grit') }, gitFile: null };
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const hint = env.GIT_DIR ? `; grit finds the repository from the working directory, not from GIT_DIR (${env.GIT_DIR})` : '';
  throw new GritError('git_error', `not a git repository: ${resolve(cwd)}${hint}`, {
    suggestion: env.GIT_DIR ? 'run grit from inside the repository\'s working tree' : 'run grit inside a git repository (`git init` creates one)',
    environment: true,
  });
}

/**
 * A bare repository, or (`dotGit`) a working tree whose `.git` says `core.bare = true`, which git
 * too then gives no work tree ("must be run in a work tree"): a setting made by mistake, most
 * likely, whose plan is to unset it rather than to clone the repository the user is standing in.
 */
function bareRepository(dir: string, dotGit?: string): GritError {
  if (dotGit) {
    return new GritError('git_error', `${dir} is a bare repository to git: ${join(dotGit, 'config')} sets core.bare = true, so it has no working tree`, {
      details: { path: dir, git_dir: dotGit },
      suggestion: `if ${shellWord(dir)} is its working tree, run \`git -C ${shellWord(dir)} config core.bare false\` (git status fails there too until then)`,
      environment: true,
    });
  }
  return new GritError('git_error', `${dir} is a bare repository: grit works in a clone with a working tree`, {
    details: { path: dir },
    suggestion: `run grit in a clone (\`git clone ${shellWord(dir)}\`); it syncs with this repository as its remote`,
    environment: true,
  });
}
