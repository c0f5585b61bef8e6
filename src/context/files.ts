/**
 * The files `context index` looks at: what `git ls-files` lists in the current worktree (tracked
 * files, so build output and ignored files never count), narrowed by `--path` and `--pattern`.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync } from 'node:fs';
import { GritError, invalidArgs } from '../core/errors.js';
import { gitEnv } from '../git/git-env.js';
import { spawnGit } from '../git/git-process.js';

const SYMLINK = '120000';
const GITLINK = '160000';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface TrackedFile {
  /** Repo-relative, with '/' separators; a name that is not UTF-8 has U+FFFD where it cannot be read. */
  path: string;
  /** Whether the name is UTF-8: an event's path is UTF-8 text, so a file whose name is not cannot be indexed. */
  utf8: boolean;
}

/**
 * Tracked regular files under `dir` (repo-relative, '' for the whole worktree), sorted by path.
 * Symlinks and submodules are left out: they have no content of their own. Names are read as
 * bytes, so a name that is not UTF-8 is told from one that holds U+FFFD itself.
 */
export async function lsFiles(root: string, dir: string): Promise<TrackedFile[]> {
  const args = ['ls-files', '-z', '--stage', '--full-name', '--', dir === '' ? '.' : dir];
  const { code, stdout, stderr } = await spawnGit({ args, env: gitEnv(), cwd: root, stdoutEncoding: 'latin1' });
  if (code !== 0) throw new GritError('git_error', `git ls-files failed: ${stderr.trim().split('\n')[0]}`, { details: { root } });
  const names = new Set<string>();
  // `--stage` lists "<mode> <oid> <stage>\t<path>"; a conflicted file appears once per stage.
  for (const entry of stdout.split('\0')) {
    const tab = entry.indexOf('\t');
    if (tab === -1) continue;
    const mode = entry.slice(0, 6);
    if (mode !== SYMLINK && mode !== GITLINK) names.add(entry.slice(tab + 1));
  }
  return [...names].map(trackedFile).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A name as git printed it, each byte one character (latin1). */
function trackedFile(name: string): TrackedFile {
  const bytes = Buffer.from(name, 'latin1');
  try {
    return { path: utf8.decode(bytes), utf8: true };
  } catch {
    return { path: bytes.toString('utf8'), utf8: false };
  }
}

/**
 * A tracked file's content as the worktree holds it: null when it is not there, 'unreadable' when it
 * cannot be read or is not a regular file inside the worktree. A symlink, or a file under a symlinked
 * directory, is not read: git's index may say "regular file" while the worktree holds a link, whose
 * target (anywhere, outside the repository too) would otherwise go into the synced WAL. The last
 * component is opened without following a link, and the directories on the way are checked after
 * the open, so a link swapped in before it is seen.
 */
export function readWorktreeFile(root: string, path: string): Buffer | null | 'unreadable' {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO standing where the file was would otherwise block the open forever.
    fd = openSync(`${root}/${path}`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : 'unreadable';
  }
  try {
    if (!fstatSync(fd).isFile() || !realDirectories(root, path)) return 'unreadable';
    // Synchronous: for thousands of small files it is several times faster than fs/promises.
    return readFileSync(fd);
  } catch {
    return 'unreadable';
  } finally {
    closeSync(fd);
  }
}

/** Whether every directory between `root` and the file `path` is one, not a symlink to one. */
function realDirectories(root: string, path: string): boolean {
  for (let slash = path.indexOf('/'); slash !== -1; slash = path.indexOf('/', slash + 1)) {
    if (!lstatSync(`${root}/${path.slice(0, slash)}`, { throwIfNoEntry: false })?.isDirectory()) return false;
  }
  return true;
}

/**
 * Whether git ignores the repo-relative `path` (.gitignore, info/exclude): `git add` then needs
 * `-f`. Asked only to word a warning, so a failing git counts as "not ignored".
 */
export async function isIgnored(root: string, path: string): Promise<boolean> {
  const { code } = await spawnGit({ args: ['check-ignore', '-q', '--', path], env: gitEnv(), cwd: root });
  return code === 0;
}

/**
 * A glob as a path test. `*` and `?` stay within one path segment, `**` spans segments, `[…]` and
 * `{a,b}` work as in shells (left unclosed, either is refused). A pattern without '/' matches the
 * file name in any directory (as in .gitignore); with a '/' it matches the whole repo-relative path.
 */
export function globMatcher(pattern: string): (path: string) => boolean {
  if (pattern.trim() === '') throw invalidArgs('--pattern must not be empty', { field: 'pattern' }, "for example --pattern 'src/**/*.ts', or leave it out to index every tracked file");
  const anchored = pattern.includes('/');
  const source = globToRegExp(pattern.replace(/^\//, ''));
  let re: RegExp;
  try {
    re = new RegExp(`^${source}$`);
  } catch (err) {
    // A class the regular expression refuses, such as `[z-a]`.
    throw invalidArgs(`--pattern is not a valid glob: ${pattern} (${(err as Error).message.replace(/^Invalid regular expression: \/.*\/: /, '')})`, { field: 'pattern', value: pattern }, 'see `grit context index --help` for the glob syntax');
  }
  return anchored ? (path) => re.test(path) : (path) => re.test(path.slice(path.lastIndexOf('/') + 1));
}

function globToRegExp(glob: string): string {
  let out = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          out += '(?:.*/)?';
        } else out += '.*';
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      // A ']' right after '[' or '[!' belongs to the class (as in shells): '[]a]', '[!]]'.
      const close = glob.indexOf(']', glob[i + 1] === '!' ? i + 3 : i + 2);
      if (close === -1) {
        // As an unclosed '{' is: a shell would take it literally, but it is more likely a typo.
        throw invalidArgs(`--pattern has an unclosed '[': ${glob}`, { field: 'pattern', value: glob }, "for a literal '[' write '[[]'");
      }
      const body = glob.slice(i + 1, close).replace(/\\/g, '\\\\').replace(/]/g, '\\]').replace(/^!/, '^');
      out += `[${body}]`;
      i = close;
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) out += '|';
    else out += c.replace(/[.+^$()|\\{}]/g, '\\$&');
  }
  if (braces > 0) throw invalidArgs(`--pattern has an unclosed '{': ${glob}`, { field: 'pattern', value: glob }, "close the braces, as in --pattern '*.{ts,js}'");
  return out;
}
