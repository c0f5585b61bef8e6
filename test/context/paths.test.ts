import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { globMatcher } from '../../src/context/files.js';
import { repoRelative, typedPathCandidates } from '../../src/context/paths.js';
import { GritError } from '../../src/core/errors.js';

test('globs: * and ? stay in a segment, ** spans them, no slash means any directory', () => {
  const cases: [string, string, boolean][] = [
    ['*.ts', 'a.ts', true],
    ['*.ts', 'src/deep/a.ts', true],
    ['*.ts', 'src/a.tsx', false],
    ['src/*.ts', 'src/a.ts', true],
    ['src/*.ts', 'src/x/a.ts', false],
    ['src/**/*.ts', 'src/a.ts', true],
    ['src/**/*.ts', 'src/x/y/a.ts', true],
    ['src/**', 'src/x/y/a.ts', true],
    ['/src/*.ts', 'src/a.ts', true],
    ['m?.py', 'm1.py', true],
    ['m?.py', 'm10.py', false],
    ['*.{rb,ex}', 'lib/a.ex', true],
    ['*.{rb,ex}', 'lib/a.exs', false],
    ['[ab]*.go', 'b_test.go', true],
    ['[!ab]*.go', 'b_test.go', false],
    ['a+b.(c).js', 'a+b.(c).js', true],
  ];
  for (const [glob, path, want] of cases) assert.equal(globMatcher(glob)(path), want, `${glob} ~ ${path}`);
  assert.throws(() => globMatcher('{a,b'), /unclosed/);
  assert.throws(() => globMatcher(' '), /must not be empty/);
  assert.throws(
    () => globMatcher('[z-a]*.ts'),
    (err: GritError) => err.code === 'invalid_args' && /^--pattern is not a valid glob: \[z-a\]\*\.ts \(Range out of order/.test(err.message),
  );
  // An unclosed '[' is refused as an unclosed '{' is; '[[]' is a literal '['; a ']' first in a class is a member.
  for (const glob of ['[', '*.[ch', '[!]']) {
    assert.throws(() => globMatcher(glob), (err: GritError) => err.code === 'invalid_args' && /unclosed '\['/.test(err.message) && /\[\[\]/.test(err.suggestion ?? ''), glob);
  }
  assert.equal(globMatcher('a[[]1].py')('a[1].py'), true);
  assert.equal(globMatcher('[]x].py')('].py'), true);
  assert.equal(globMatcher('[!]]*.py')(']a.py'), false);
  assert.equal(globMatcher('[!]]*.py')('ba.py'), true);
});

test('paths become repo-relative with / separators; outside paths are refused', () => {
  assert.equal(repoRelative('/r', '/r/src/a.ts'), 'src/a.ts');
  assert.equal(repoRelative('/r', 'src/./x/../a.ts'), 'src/a.ts');
  assert.equal(repoRelative('/r', 'a.ts', '/r/src'), 'src/a.ts');
  assert.equal(repoRelative('/r', '/r'), '');
  assert.equal(repoRelative('/r', 'src/', '/r'), 'src');
  assert.throws(() => repoRelative('/r', '/etc/passwd'), /outside the worktree/);
  assert.throws(() => repoRelative('/r', '../x', '/r'), /outside the worktree/);
});

test('a typed path: relative to the caller\'s directory, then to the root; an absolute one means itself, with or without a directory (MCP, the API)', () => {
  assert.deepEqual(typedPathCandidates('/r', 'a.ts', '/r/src'), ['src/a.ts', 'a.ts']);
  assert.deepEqual(typedPathCandidates('/r', 'a.ts'), ['a.ts']);
  assert.deepEqual(typedPathCandidates('/r', '/r/src/a.ts'), ['src/a.ts']);
  assert.deepEqual(typedPathCandidates('/r', '/r/src/a.ts', '/r/lib'), ['src/a.ts']);
  assert.deepEqual(typedPathCandidates('/r', '/r'), ['']);
  for (const cwd of [undefined, '/r']) {
    assert.throws(
      () => typedPathCandidates('/r', '/etc/passwd', cwd),
      (err: GritError) => err.code === 'invalid_args' && err.message === '/etc/passwd is outside the worktree /r',
      String(cwd),
    );
  }
});

test('an absolute path into the worktree through a symbolic link (a linked $PWD) is followed up to the worktree, not within it', () => {
  const base = realpathSync(mkdtempSync(join(tmpdir(), 'grit-paths-')));
  const root = join(base, 'repo');
  mkdirSync(join(root, 'src'), { recursive: true });
  writeFileSync(join(root, 'src', 'a.ts'), '');
  symlinkSync(root, join(base, 'linked'));
  symlinkSync('a.ts', join(root, 'src', 'alias.ts'));
  try {
    assert.equal(repoRelative(root, join(base, 'linked', 'src', 'a.ts')), 'src/a.ts');
    assert.equal(repoRelative(root, join(base, 'linked')), '');
    // A link inside the worktree stays itself (context index warns of it), and a file yet to be made is fine.
    assert.equal(repoRelative(root, join(base, 'linked', 'src', 'alias.ts')), 'src/alias.ts');
    assert.equal(repoRelative(root, join(base, 'linked', 'src', 'new.ts')), 'src/new.ts');
    symlinkSync('/etc', join(base, 'elsewhere'));
    assert.throws(() => repoRelative(root, join(base, 'elsewhere', 'passwd')), /outside the worktree/);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
