import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { encodeCommit, encodeTree, hashObject, type TreeEntry } from '../../src/git/object-encoding.js';
import { ObjectStore } from '../../src/git/objects.js';
import { writeObjects } from '../helpers/objects.js';
import { fsckClean, git, gitRun, isGritError, tempRepo } from './_util.js';

test('objects written by grit are what git writes: ids, content, tree order, fsck --strict', () => {
  const { dir, gitDir } = tempRepo();
  const store = new ObjectStore(gitDir);
  // Names chosen so that git's "a subtree sorts as name/" rule matters.
  const who = { name: 'grit', email: 'x@grit.invalid', timestamp: 1_700_000_000, tzOffsetMinutes: -90 };
  const { blob, entries, tree, commit } = writeObjects(gitDir, (sink) => {
    const blob = sink.write('blob', Buffer.from('hello\n'));
    const sub = sink.write('tree', encodeTree([{ mode: '100644', name: 'x', oid: blob }]));
    const entries: TreeEntry[] = [
      { mode: '100644', name: 'a.b', oid: blob },
      { mode: '40000', name: 'a', oid: sub },
      { mode: '100644', name: 'a-b', oid: blob },
      { mode: '100644', name: 'a0', oid: blob },
      { mode: '100755', name: 'Z', oid: blob },
    ];
    const tree = sink.write('tree', encodeTree(entries));
    return { blob, entries, tree, commit: sink.write('commit', encodeCommit({ tree, parents: [], author: who, committer: who, message: 'm\n' })) };
  });
  assert.equal(blob, git(dir, ['hash-object', '--stdin'], 'hello\n').trim());
  assert.equal(hashObject('blob', Buffer.from('hello\n')), blob);
  const mktree = entries.map((e) => `${e.mode.padStart(6, '0')} ${e.mode === '40000' ? 'tree' : 'blob'} ${e.oid}\t${e.name}`).join('\n');
  assert.equal(tree, git(dir, ['mktree'], `${mktree}\n`).trim(), 'same id as git mktree');
  assert.deepEqual(
    git(dir, ['ls-tree', tree]).trim().split('\n').map((l) => l.split('\t')[1]),
    ['Z', 'a-b', 'a.b', 'a', 'a0'],
  );
  assert.deepEqual(store.readTree(tree).map((e) => e.name), ['Z', 'a-b', 'a.b', 'a', 'a0']);
  assert.equal(git(dir, ['cat-file', '-t', commit]).trim(), 'commit');
  assert.match(git(dir, ['cat-file', '-p', commit]), /^author grit <x@grit\.invalid> 1700000000 -0130$/m);
  const parsed = store.readCommit(commit);
  assert.equal(parsed.tree, tree);
  assert.deepEqual(parsed.parents, []);
  // The pack is written atomically: no temp files are left behind.
  assert.deepEqual(readdirSync(join(gitDir, 'objects', 'pack')).filter((n) => n.startsWith('tmp')), []);
  fsckClean(dir);
});

test('reads commits git wrote: parents, multi-line headers, names and messages beyond ASCII', () => {
  const { dir, gitDir } = tempRepo();
  const tree = git(dir, ['mktree'], '').trim();
  const a = git(dir, ['commit-tree', tree, '-m', 'a']).trim();
  const b = git(dir, ['commit-tree', tree, '-m', 'b']).trim();
  // A signature-like header whose continuation lines hold "tree" and "parent" lines of their own,
  // which are not the commit's; then a message with blank lines and no final newline.
  const raw =
    `tree ${tree}\nparent ${a}\nparent ${b}\n` +
    'author Zoë Ünal <z@example.org> 1700000000 +0100\ncommitter Ça Va <c@example.org> 1700000001 -0130\n' +
    `gpgsig -----BEGIN PGP SIGNATURE-----\n tree ${'f'.repeat(40)}\n parent ${'e'.repeat(40)}\n -----END PGP SIGNATURE-----\n` +
    '\nsubject ü\n\nbody\n\nend';
  const merge = git(dir, ['hash-object', '-t', 'commit', '-w', '--stdin'], raw).trim();
  const parsed = new ObjectStore(gitDir).readCommit(merge);
  assert.deepEqual(parsed, {
    tree,
    parents: [a, b],
    author: 'Zoë Ünal <z@example.org> 1700000000 +0100',
    committer: 'Ça Va <c@example.org> 1700000001 -0130',
    message: 'subject ü\n\nbody\n\nend',
  });
  const bare = git(dir, ['hash-object', '-t', 'commit', '-w', '--literally', '--stdin'], `tree ${tree}\nauthor x <x> 1 +0000\ncommitter x <x> 1 +0000`).trim();
  assert.deepEqual(new ObjectStore(gitDir).readCommit(bare), { tree, parents: [], author: 'x <x> 1 +0000', committer: 'x <x> 1 +0000', message: '' });
  const treeless = git(dir, ['hash-object', '-t', 'commit', '-w', '--literally', '--stdin'], `parent ${a}\nauthor x <x> 1 +0000\n\nm`).trim();
  assert.throws(() => new ObjectStore(gitDir).readCommit(treeless), (err) => isGritError('git_error')(err) && /malformed commit/.test((err as Error).message));
});

test('reads objects git wrote, loose and packed (OFS and REF deltas), and refuses corrupt ones', () => {
  const { dir, gitDir } = tempRepo();
  // A file growing line by line over 40 commits gives git plenty of deltas to make.
  const expected = new Map<string, string>();
  let text = '';
  let parent: string | null = null;
  const commits: string[] = [];
  for (let i = 0; i < 40; i++) {
    text += `line ${i} ${'lorem ipsum '.repeat(20)}\n`;
    const blob = git(dir, ['hash-object', '-w', '--stdin'], text).trim();
    expected.set(blob, text);
    const tree = git(dir, ['mktree'], `100644 blob ${blob}\tfile.txt\n`).trim();
    const c: string = git(dir, ['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', `c${i}`]).trim();
    commits.push(c);
    parent = c;
  }
  // Big objects, two incompressible, cross the reader's 64 KiB windows.
  const bigs = [randomBytes(300_000), Buffer.from('abc'.repeat(400_000)), randomBytes(70_000)].map((big, i) => {
    const oid = git(dir, ['hash-object', '-w', '--stdin'], big).trim();
    expected.set(oid, big.toString('latin1'));
    return `100644 blob ${oid}\tbig${i}\n`;
  });
  const top = git(dir, ['commit-tree', git(dir, ['mktree'], bigs.join('')).trim(), '-p', parent!, '-m', 'big']).trim();
  git(dir, ['update-ref', 'refs/heads/main', top]);
  const check = (label: string) => {
    const store = new ObjectStore(gitDir);
    for (const [oid, content] of expected) assert.equal(store.readBlob(oid).toString('latin1'), content, `${label}: blob ${oid}`);
    for (let i = 0; i < commits.length; i++) {
      const c = store.readCommit(commits[i]);
      assert.equal(c.message, `c${i}\n`);
      assert.deepEqual(c.parents, i ? [commits[i - 1]] : []);
    }
    store.close();
  };
  check('loose');
  git(dir, ['repack', '-adf', '--depth=50', '--window=50', '-q']);
  assert.equal(readdirSync(join(gitDir, 'objects')).filter((n) => n.length === 2).length, 0, 'everything is packed');
  assert.match(git(dir, ['verify-pack', '-v', ...packIdx(gitDir)]), /chain length = \d+/, 'the pack holds deltas');
  check('packed, OFS_DELTA');
  git(dir, ['-c', 'repack.useDeltaBaseOffset=false', 'repack', '-adf', '--depth=50', '--window=50', '-q']);
  check('packed, REF_DELTA');

  const store = new ObjectStore(gitDir);
  assert.throws(() => store.read('0'.repeat(40)), isGritError('git_error'));
  assert.throws(() => store.readTree(commits[0]), isGritError('git_error'), 'wrong type');
  // A loose object whose content does not hash to its name.
  const fake = hashObject('blob', Buffer.from('real'));
  const path = join(gitDir, 'objects', fake.slice(0, 2), fake.slice(2));
  git(dir, ['hash-object', '-w', '--stdin'], 'real');
  chmodSync(path, 0o644);
  writeFileSync(path, deflateSync(Buffer.from('blob 4\0fake')));
  assert.throws(() => new ObjectStore(gitDir).read(fake), isGritError('git_error'));
});

test('a SHA-256 repository is refused', () => {
  const probe = tempRepo();
  if (gitRun(probe.dir, ['init', '-q', '--object-format=sha256', 'sub']).status !== 0) return; // git too old
  const { gitDir } = tempRepo(['--object-format=sha256']);
  assert.throws(() => new ObjectStore(gitDir).checkFormat(), isGritError('git_error'));
});

function packIdx(gitDir: string): string[] {
  const packDir = join(gitDir, 'objects', 'pack');
  return readdirSync(packDir).filter((n) => n.endsWith('.idx')).map((n) => join(packDir, n));
}
