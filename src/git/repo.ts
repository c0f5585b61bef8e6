/** Finds the repository around a directory without spawning git (start-up matters). */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { GritError, ENV_EXIT } from '../core/errors.js';

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

function readGitFile(path: string): string | null {
  const text = readFileSync(path, 'utf8');
  const m = /^gitdir:\s*(.+)$/m.exec(text);
  return m ? m[1].trim() : null;
}

/** A bare repository's own directory (its config says so: a `.git` directory's says `bare = false`). */
function isBareRepo(dir: string): boolean {
  if (!existsSync(join(dir, 'HEAD')) || !existsSync(join(dir, 'objects'))) return false;
  try {
    return /^\s*bare\s*=\s*true\s*$/im.test(readFileSync(join(dir, 'config'), 'utf8'));
  } catch {
    return false;
  }
}

export function findRepo(cwd: string = process.cwd()): RepoPaths {
  let dir = resolve(cwd);
  for (;;) {
    if (isBareRepo(dir)) {
      throw new GritError('git_error', `${dir} is a bare repository: grit works in a clone with a working tree`, {
        details: { path: dir },
        suggestion: `run grit in a clone (\`git clone ${dir}\`); it syncs with this repository as its remote`,
        exitCode: ENV_EXIT,
      });
    }
    const dotGit = join(dir, '.git');
    if (existsSync(dotGit)) {
      let gitDir = dotGit;
      if (statSync(dotGit).isFile()) {
        const target = readGitFile(dotGit);
        if (!target) break;
        gitDir = isAbsolute(target) ? target : resolve(dir, target);
      }
      let commonDir = gitDir;
      const commonFile = join(gitDir, 'commondir');
      if (existsSync(commonFile)) commonDir = resolve(gitDir, readFileSync(commonFile, 'utf8').trim());
      return { root: dir, gitDir, commonDir, gritDir: join(commonDir, 'grit') };
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new GritError('git_error', `not a git repository: ${resolve(cwd)}`, {
    suggestion: 'run grit inside a git repository (`git init` creates one)',
    exitCode: ENV_EXIT,
  });
}
