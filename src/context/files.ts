/**
 * The files `context index` looks at: what `git ls-files` lists in the current worktree (tracked
 * files, so build output and ignored files never count), narrowed by `--path` and `--pattern`.
 */
import { spawn } from 'node:child_process';
import { GritError, invalidArgs } from '../core/errors.js';
import { gitEnv } from '../git/transport.js';

const SYMLINK = '120000';
const GITLINK = '160000';

/**
 * Tracked regular files under `dir` (repo-relative, '' for the whole worktree), as repo-relative
 * paths with '/' separators. Symlinks and submodules are left out: they have no content of their own.
 */
export function lsFiles(root: string, dir: string): Promise<string[]> {
  const args = ['ls-files', '-z', '--stage', '--full-name', '--', dir === '' ? '.' : dir];
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: gitEnv() });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) =>
      reject(new GritError('git_error', `cannot run git: ${e.message}`, { suggestion: 'install git and make sure it is on PATH' })),
    );
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new GritError('git_error', `git ls-files failed: ${stderr.trim().split('\n')[0]}`, { details: { root } }));
        return;
      }
      const paths = new Set<string>();
      // `--stage` lists "<mode> <oid> <stage>\t<path>"; a conflicted file appears once per stage.
      for (const entry of Buffer.concat(chunks).toString('utf8').split('\0')) {
        const tab = entry.indexOf('\t');
        if (tab === -1) continue;
        const mode = entry.slice(0, 6);
        if (mode !== SYMLINK && mode !== GITLINK) paths.add(entry.slice(tab + 1));
      }
      resolve([...paths].sort());
    });
  });
}

/**
 * A glob as a path test. `*` and `?` stay within one path segment, `**` spans segments, `[…]` and
 * `{a,b}` work as in shells. A pattern without '/' matches the file name in any directory
 * (as in .gitignore); with a '/' it matches the whole repo-relative path.
 */
export function globMatcher(pattern: string): (path: string) => boolean {
  if (pattern.trim() === '') throw invalidArgs('--pattern must not be empty', { field: 'pattern' });
  const anchored = pattern.includes('/');
  const source = globToRegExp(pattern.replace(/^\//, ''));
  const re = new RegExp(`^${source}$`);
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
      const close = glob.indexOf(']', i + 2);
      if (close === -1) out += '\\[';
      else {
        const body = glob.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\');
        out += `[${body}]`;
        i = close;
      }
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) out += '|';
    else out += c.replace(/[.+^$()|\\{}]/g, '\\$&');
  }
  if (braces > 0) throw invalidArgs(`--pattern has an unclosed '{': ${glob}`, { field: 'pattern', value: glob });
  return out;
}
