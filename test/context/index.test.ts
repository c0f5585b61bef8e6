import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copiedRepo, fsckClean, git, grit, gritLib, gritOk, tempDir, tempRepo, gritInit, gritSetup } from '../helpers/repo.js';
import { EXPECTED, show } from './_expected.js';
import { FIXTURES, fixtureRepo as newFixtureRepo, walCommits, walKinds } from './_helpers.js';
import { setLockPolicy } from '../sync/_helpers.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { RepoContext } from '../../src/commands/context.js';
import { contextIndex, type IndexReply } from '../../src/commands/context-index.js';
import { contextIssueId, PROJECT_CONTEXT_ID } from '../../src/core/ids.js';
import { writeStamped } from '../helpers/write-raw.js';

const index = (repo: string, ...args: string[]) => gritOk(repo, ['context', 'index', ...args]);
/** `context index` as set-up, in a test about what comes after it (gritSetup). */
const indexed = (repo: string) => gritSetup(repo, ['context', 'index']);

/** The fixture repository, set up once; each test gets its own copy. */
let template: string;
before(async () => {
  template = await newFixtureRepo();
});
const fixtureRepo = async () => copiedRepo(template);
const walHead = (repo: string) => git(repo, 'rev-parse', 'refs/grit/wal').trim();

test('cold index: one ContextUpdated per file in one commit; show gives each fixture exactly', async () => {
  const repo = await fixtureRepo();
  const commitsBefore = walCommits(repo);
  const d = index(repo);
  assert.equal(d.files, FIXTURES.length);
  assert.equal(d.indexed, FIXTURES.length);
  assert.deepEqual([d.unchanged, d.removed, d.fallback_files], [0, 0, 0]);
  assert.equal(d.events_written, FIXTURES.length);
  assert.equal(d.commits, 1);
  assert.equal(d.wal_head, walHead(repo));
  assert.deepEqual(d.warnings, []);
  assert.equal(d.symbols, Object.values(EXPECTED).flat().length);
  assert.equal(walCommits(repo), commitsBefore + 1);
  assert.deepEqual(await walKinds(repo), Array(FIXTURES.length).fill('ContextUpdated'));
  for (const name of FIXTURES) {
    const { file } = gritOk(repo, ['context', 'show', `src/${name}`]);
    assert.equal(file.path, `src/${name}`);
    assert.deepEqual(show(file.symbols), EXPECTED[name], name);
    assert.match(file.content_hash, /^[0-9a-f]{64}$/);
  }
  assert.equal(gritOk(repo, ['context', 'show', 'src/sample.go']).file.language, 'go');
  assert.equal(gritOk(repo, ['context', 'show', 'src/sample.tsx']).file.language, 'tsx');
  fsckClean(repo);
});

test('incremental index writes events only for changed, new and removed files', async () => {
  const repo = await fixtureRepo();
  // A query with no hit says to index only while nothing is.
  assert.equal(gritOk(repo, ['context', 'query', 'NewPolygon']).indexed, false);
  assert.match(grit(repo, ['context', 'query', 'NewPolygon']).stdout, /nothing is indexed yet: `grit context index`/);
  index(repo);
  assert.equal(gritOk(repo, ['context', 'query', 'NewPolygon']).indexed, true);
  assert.equal(grit(repo, ['context', 'query', 'NoSuchSymbolAnywhere']).stdout.trim(), 'no symbol matches "NoSuchSymbolAnywhere"');
  const events = (await walKinds(repo)).length;
  // Nothing changed: nothing written, the WAL head stays.
  const head = walHead(repo);
  const same = index(repo);
  assert.deepEqual([same.indexed, same.unchanged, same.events_written, same.commits], [0, FIXTURES.length, 0, 0]);
  assert.equal(walHead(repo), head);

  writeFileSync(join(repo, 'src/sample.rs'), readFileSync(join(repo, 'src/sample.rs'), 'utf8') + '\nfn added() {}\n');
  writeFileSync(join(repo, 'src/extra.py'), 'def extra():\n    pass\n');
  git(repo, 'add', 'src/extra.py');
  git(repo, 'rm', '-q', 'src/sample.go');
  const d = index(repo);
  assert.deepEqual(
    [d.indexed, d.removed, d.unchanged, d.events_written, d.commits],
    [2, 1, FIXTURES.length - 2, 3, 1],
  );
  assert.equal((await walKinds(repo)).length, events + 3);
  assert.deepEqual(gritOk(repo, ['context', 'query', 'added']).results.map((r: any) => [r.path, r.line_start]), [['src/sample.rs', 47]]);
  assert.equal(gritOk(repo, ['context', 'query', 'NewPolygon']).results.length, 0);
  const gone = grit(repo, ['context', 'show', 'src/sample.go', '--json']);
  assert.equal(gone.code, 3);
  assert.equal(gone.json.error.code, 'not_found');
  // A file deleted from the worktree but still tracked counts as removed too (and only once).
  git(repo, 'rm', '-q', '--cached', 'src/extra.py');
  assert.equal(index(repo).removed, 1);
  assert.equal(index(repo).events_written, 0);
});

test('--force re-indexes unchanged files', async () => {
  const repo = await fixtureRepo();
  await indexed(repo);
  const d = index(repo, '--force');
  assert.deepEqual([d.indexed, d.unchanged, d.events_written, d.commits], [FIXTURES.length, 0, FIXTURES.length, 1]);
});

test('a tracked file whose name is not UTF-8 is counted as unreadable, not lost track of, unlike a UTF-8 name holding U+FFFD; text that is not UTF-8 is read as Latin-1; a name with a line break is shown on one line', async () => {
  const repo = await fixtureRepo();
  mkdirSync(join(repo, 'weird'));
  writeFileSync(Buffer.concat([Buffer.from(join(repo, 'weird/na')), Buffer.from([0xef]), Buffer.from('ve.py')]), 'def ok():\n    pass\n');
  writeFileSync(join(repo, 'weird/real\uFFFD.py'), 'def replacement():\n    pass\n');
  writeFileSync(join(repo, 'weird/fine.py'), 'def fine():\n    pass\n');
  writeFileSync(join(repo, 'weird/latin.py'), Buffer.from('# caf\xe9 module.\ndef caf\xe9():\n    pass\n', 'latin1'));
  writeFileSync(join(repo, 'weird/new\nline.py'), 'def nl():\n    pass\n');
  git(repo, 'add', '-A');
  const d = index(repo, '--pattern', 'weird/*');
  assert.deepEqual([d.files, d.indexed, d.skipped.unreadable, d.removed], [5, 4, 1, 0]);
  assert.equal(index(repo, '--pattern', 'weird/*').removed, 0, 'and never taken for deleted');
  assert.deepEqual(gritOk(repo, ['context', 'show', 'weird/real\uFFFD.py']).file.symbols.map((s: any) => s.name), ['replacement']);
  // The name whole, not cut at the byte UTF-8 cannot read; the summary alike.
  const latin = gritOk(repo, ['context', 'show', 'weird/latin.py']).file;
  assert.deepEqual([latin.symbols.map((s: any) => s.name), latin.summary], [['café'], 'café module.']);
  assert.match(grit(repo, ['context', 'show', 'weird/new\nline.py']).stdout, /^weird\/new line\.py python · /);
});

test('a file that grows past 1 MiB or becomes unreadable loses its old symbols (a tombstone), like a removed file', async () => {
  const repo = await fixtureRepo();
  mkdirSync(join(repo, 'gen'));
  writeFileSync(join(repo, 'gen/big.py'), 'def old_fn():\n    pass\n');
  writeFileSync(join(repo, 'gen/dir.py'), 'def dir_fn():\n    pass\n');
  git(repo, 'add', '-A');
  await indexed(repo);
  writeFileSync(join(repo, 'gen/big.py'), Array.from({ length: 60_000 }, (_, i) => `def new_${i}():\n    pass\n`).join(''));
  // Still tracked, but a directory now stands where the file was: it cannot be read.
  rmSync(join(repo, 'gen/dir.py'));
  mkdirSync(join(repo, 'gen/dir.py'));
  const d = index(repo);
  assert.deepEqual([d.skipped.too_large, d.skipped.unreadable, d.removed, d.indexed, d.events_written], [1, 1, 2, 0, 2]);
  for (const [symbol, path] of [['old_fn', 'gen/big.py'], ['dir_fn', 'gen/dir.py']]) {
    assert.deepEqual(gritOk(repo, ['context', 'query', symbol]).results, [], symbol);
    assert.equal(grit(repo, ['context', 'show', path, '--json']).json.error.code, 'not_found', path);
  }
  // Once: the tombstones stand until the files can be indexed again.
  assert.deepEqual([index(repo).removed, index(repo).events_written], [0, 0]);
  writeFileSync(join(repo, 'gen/big.py'), 'def small_again():\n    pass\n');
  assert.equal(index(repo).indexed, 1);
  assert.equal(gritOk(repo, ['context', 'query', 'small_again']).results[0].path, 'gen/big.py');
});

test('a tracked file the worktree holds as a symlink, or under a symlinked directory, is not read: nothing from outside reaches the WAL', async () => {
  const repo = await fixtureRepo();
  const outside = tempDir('grit-outside-');
  writeFileSync(join(outside, 'secret.py'), '# API_KEY lives here.\ndef outside_secret(): pass\n');
  writeFileSync(join(outside, 'b.py'), 'def leaked(): pass\n');
  mkdirSync(join(repo, 'lib'));
  writeFileSync(join(repo, 'a.py'), 'def mine(): pass\n');
  writeFileSync(join(repo, 'lib/b.py'), 'def inside(): pass\n');
  git(repo, 'add', '-A');
  index(repo);
  // Worktree only, not staged: git's index still says "regular file" for both.
  rmSync(join(repo, 'a.py'));
  symlinkSync(join(outside, 'secret.py'), join(repo, 'a.py'));
  rmSync(join(repo, 'lib'), { recursive: true });
  symlinkSync(outside, join(repo, 'lib'));
  const d = index(repo);
  assert.deepEqual([d.indexed, d.skipped.unreadable, d.removed], [0, 2, 2]);
  for (const path of ['a.py', 'lib/b.py']) assert.equal(grit(repo, ['context', 'show', path, '--json']).json.error.code, 'not_found', path);
  for (const symbol of ['outside_secret', 'leaked', 'mine', 'inside']) assert.deepEqual(gritOk(repo, ['context', 'query', symbol]).results, [], symbol);
  const wal = git(repo, 'log', '-p', '--format=', 'refs/grit/wal');
  assert.doesNotMatch(wal, /API_KEY|outside_secret|leaked/);
});

test('--path and --pattern narrow the files; bad scopes are refused', async () => {
  const repo = await fixtureRepo();
  mkdirSync(join(repo, 'lib/deep'), { recursive: true });
  writeFileSync(join(repo, 'lib/deep/tool.py'), 'def tool():\n    pass\n');
  writeFileSync(join(repo, 'README.md'), '# readme\n');
  git(repo, 'add', '-A');
  let d = index(repo, '--path', 'src', '--pattern', '*.py');
  assert.deepEqual([d.files, d.indexed], [1, 1]);
  d = index(repo, '--pattern', 'lib/**/*.py');
  assert.deepEqual([d.files, d.indexed], [1, 1]);
  d = index(repo, '--pattern', '*.{rb,ex}');
  assert.deepEqual([d.files, d.indexed], [2, 2]);
  // Scoped runs never count files outside the scope as removed.
  d = index(repo);
  assert.deepEqual([d.indexed, d.unchanged, d.removed, d.skipped.unsupported], [FIXTURES.length - 3, 4, 0, 1]);
  // --path is read as `context show` reads its path: relative to the current directory, else to the root.
  const sub = grit(join(repo, 'lib'), ['context', 'index', '--path', 'deep', '--force', '--json']);
  assert.equal(sub.json.data.indexed, 1);
  const fromRoot = grit(join(repo, 'lib'), ['context', 'index', '--path', 'lib/deep', '--force', '--json']);
  assert.equal(fromRoot.json?.data?.indexed, 1, fromRoot.stdout);
  assert.equal(gritOk(join(repo, 'lib/deep'), ['context', 'show', 'lib/deep/tool.py']).file.path, 'lib/deep/tool.py');
  const neither = grit(join(repo, 'lib'), ['context', 'index', '--path', 'nope', '--json']);
  assert.equal(neither.code, 3);
  assert.equal(neither.json.error.message, 'no such path in the worktree: lib/nope or nope');

  const outside = grit(repo, ['context', 'index', '--path', '/tmp', '--json']);
  assert.deepEqual([outside.code, outside.json.error.code], [2, 'invalid_args']);
  const missing = grit(repo, ['context', 'index', '--path', 'nope', '--json']);
  assert.deepEqual([missing.code, missing.json.error.code], [3, 'not_found']);
  // --path takes a file too; with a trailing slash, only a directory, as every command that takes
  // a path reads it (context show): the file is not indexed with its slash dropped.
  assert.equal(index(repo, '--path', 'lib/deep/tool.py', '--force').indexed, 1);
  assert.equal(index(repo, '--path', 'lib/deep/', '--force').indexed, 1);
  for (const path of ['lib/deep/tool.py/', 'lib/deep/tool.py//']) {
    const slashed = grit(repo, ['context', 'index', '--path', path, '--force', '--json']);
    assert.deepEqual([slashed.code, slashed.json.error.code, slashed.json.error.message], [2, 'invalid_args', `${path} ends in /, which names a directory, not a file`]);
    assert.match(slashed.json.error.details.suggestion, /without the \/ \(lib\/deep\/tool\.py\)/);
    assert.equal((await gritLib(repo, 'ContextIndex', { path }).catch((e) => e)).code, 'invalid_args', 'MCP and the API too');
  }
  assert.equal(grit(repo, ['context', 'index', '--path', 'nope/', '--json']).code, 3, 'a directory that is not there is not_found, slash or not');
  for (const glob of ['{a,b', '[']) {
    const badGlob = grit(repo, ['context', 'index', '--pattern', glob, '--json']);
    assert.deepEqual([badGlob.code, badGlob.json.error.code], [2, 'invalid_args'], glob);
  }
});

test('a --path that git does not track (new, ignored, or a directory of such): a warning, not a silent 0', async () => {
  const repo = await fixtureRepo();
  writeFileSync(join(repo, 'a.py'), 'def foo(): pass\n');
  const r = grit(repo, ['context', 'index', '--path', 'a.py']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^grit: warning: a\.py is not tracked by git: `git add` it first\n$/);
  assert.match(r.stdout, /^indexed 0 files/);
  // --quiet silences the summary, never a warning.
  const quiet = grit(repo, ['context', 'index', '--path', 'a.py', '-q']);
  assert.deepEqual([quiet.code, quiet.stdout], [0, '']);
  assert.match(quiet.stderr, /^grit: warning: a\.py is not tracked by git: `git add` it first\n$/);
  assert.deepEqual(index(repo, '--path', 'a.py').warnings, [{ path: 'a.py', message: 'a.py is not tracked by git: `git add` it first' }]);

  writeFileSync(join(repo, '.gitignore'), 'gen/\n');
  mkdirSync(join(repo, 'gen'));
  writeFileSync(join(repo, 'gen/b.py'), 'def bar(): pass\n');
  assert.deepEqual(index(repo, '--path', 'gen').warnings, [
    { path: 'gen', message: 'gen/ holds no file tracked by git: it is ignored (.gitignore): `git add -f` it first if it should be indexed' },
  ]);
  assert.match(index(repo, '--path', 'gen/b.py').warnings[0].message, /^gen\/b\.py is not tracked by git: it is ignored/);

  // Tracked now: indexed, no warning. A --pattern that leaves nothing of a tracked path is no reason to warn.
  git(repo, 'add', 'a.py');
  const d = index(repo, '--path', 'a.py');
  assert.deepEqual([d.indexed, d.warnings], [1, []]);
  assert.deepEqual(index(repo, '--path', 'a.py', '--pattern', '*.rs').warnings, []);
  // Only a path the user named: a whole-tree index says nothing of untracked files.
  assert.deepEqual(index(repo).warnings, []);
});

test('a --path at or inside a submodule: a warning that names the submodule, not "git add it"', async () => {
  const repo = await fixtureRepo();
  const sub = join(repo, 'vendor/lib');
  mkdirSync(join(sub, 'pkg'), { recursive: true });
  git(sub, 'init', '-q');
  writeFileSync(join(sub, 'pkg/x.py'), 'def x(): pass\n');
  git(sub, 'add', '-A');
  git(sub, '-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'x');
  git(repo, '-c', 'advice.addEmbeddedRepo=false', 'add', 'vendor/lib');
  const hint = 'run `grit context index` inside it to index its files';
  assert.deepEqual(index(repo, '--path', 'vendor/lib').warnings, [{ path: 'vendor/lib', message: `vendor/lib is a submodule (a repository of its own): ${hint}` }]);
  assert.deepEqual(index(repo, '--path', 'vendor/lib/pkg/x.py').warnings, [
    { path: 'vendor/lib/pkg/x.py', message: `vendor/lib/pkg/x.py is inside the submodule vendor/lib (a repository of its own): ${hint}` },
  ]);
});

test('a --path that is a symlink, or goes through one, is warned about as such: `git add` would not help', async () => {
  const repo = await fixtureRepo();
  symlinkSync('sample.py', join(repo, 'src/alias.py'));
  symlinkSync('/etc/hostname', join(repo, 'host.py'));
  symlinkSync('nowhere.py', join(repo, 'dangling.py'));
  symlinkSync('src', join(repo, 'linkdir'));
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'links');
  const warned = (path: string) => {
    const d = index(repo, '--path', path);
    assert.equal(d.indexed, 0, path);
    return d.warnings.map((w: any) => `${w.path}: ${w.message}`);
  };
  assert.deepEqual(warned('src/alias.py'), ['src/alias.py: src/alias.py is a symbolic link to src/sample.py: symlinks are not indexed, their targets are (`--path src/sample.py`)']);
  assert.deepEqual(warned('host.py'), [`host.py: host.py is a symbolic link to ${realpathSync('/etc/hostname')}, outside the worktree: symlinks are not indexed`]);
  // A dangling link is there all the same: a warning, not not_found.
  assert.deepEqual(warned('dangling.py'), ['dangling.py: dangling.py is a symbolic link to a path that does not exist: symlinks are not indexed']);
  assert.deepEqual(warned('linkdir'), ['linkdir: linkdir is a symbolic link to src: symlinks are not indexed, their targets are (`--path src`)']);
  assert.deepEqual(warned('linkdir/sample.go'), ['linkdir/sample.go: linkdir/sample.go goes through a symbolic link to src/sample.go: symlinks are not indexed, their targets are (`--path src/sample.go`)']);
  const human = grit(repo, ['context', 'index', '--path', 'src/alias.py']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stderr, /^grit: warning: src\/alias\.py is a symbolic link to src\/sample\.py: symlinks are not indexed/);
});

test('two index runs at once: the one that writes second leaves out the files the first wrote for the same content', async () => {
  const repo = await fixtureRepo();
  const other = (await gritSetup(repo, ['actor', 'init'])).actor.actor_id;
  const first = RepoContext.open({ cwd: repo });
  const second = RepoContext.open({ cwd: repo, actor: other });
  try {
    // The second run reads the store and parses every file; just before it writes, the first
    // run (another agent, say, on the Python files only) indexes and writes.
    const refresh = second.refresh.bind(second);
    let calls = 0;
    let firstRun: IndexReply | undefined;
    second.refresh = async () => {
      if (calls++ === 1) firstRun = await contextIndex(first, { pattern: '*.py' }, { cwd: repo });
      return refresh();
    };
    const d = await contextIndex(second, {}, { cwd: repo });
    assert.deepEqual([firstRun?.indexed, firstRun?.events_written], [1, 1]);
    assert.deepEqual([d.indexed, d.unchanged, d.events_written, d.commits], [FIXTURES.length - 1, 1, FIXTURES.length - 1, 1]);
    assert.equal(d.languages.python, undefined);
    assert.equal((await walKinds(repo)).filter((k) => k === 'ContextUpdated').length, FIXTURES.length, 'one event per file in all');
    assert.equal(gritOk(repo, ['context', 'show', 'src/sample.py']).file.actor, first.actorId);
  } finally {
    await first.close();
    await second.close();
  }
});

test('large indexes are written in batches of 500 events per WAL commit', async () => {
  const repo = await fixtureRepo();
  mkdirSync(join(repo, 'gen'));
  for (let i = 0; i < 1001; i++) writeFileSync(join(repo, `gen/m${i}.py`), `def f${i}():\n    return ${i}\n`);
  git(repo, 'add', '-A');
  const before = walCommits(repo);
  const d = index(repo, '--path', 'gen');
  assert.deepEqual([d.indexed, d.events_written, d.commits], [1001, 1001, 3]);
  assert.equal(walCommits(repo), before + 3);
  assert.deepEqual(gritOk(repo, ['context', 'query', 'f1000']).results.map((r: any) => r.path), ['gen/m1000.py']);
});

test('a batch is cut before its events would overflow a WAL chunk (16 MiB), whatever their count', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  // ~1 MB each (under the 1 MiB limit), read as Latin-1: every name takes twice its bytes as UTF-8
  // text, so nine files' events take ~19 MB. Names this long stay out of the name index (cheap to write).
  const source = Buffer.from(`def ${'\xe9'.repeat(1000)}():0\n`.repeat(1030), 'latin1');
  for (let i = 0; i < 9; i++) writeFileSync(join(repo, `f${i}.py`), source);
  git(repo, 'add', '-A');
  const d = index(repo);
  assert.deepEqual([d.indexed, d.events_written, d.commits], [9, 9, 2]);
  assert.equal((await gritLib(repo, 'ContextShow', { path: 'f8.py' })).file.symbols.length, 1030);
  assert.equal(index(repo).events_written, 0);
});

test('query ranks exact, then prefix, then substring matches; --limit truncates', async () => {
  const repo = await fixtureRepo();
  writeFileSync(
    join(repo, 'src/names.py'),
    ['def xparsey():', 'def parse_args():', 'def reparse():', 'def Parse():', 'def parse():'].map((l) => `${l}\n    pass\n`).join(''),
  );
  git(repo, 'add', '-A');
  await indexed(repo);
  const d = gritOk(repo, ['context', 'query', 'parse']);
  assert.deepEqual(
    d.results.map((r: any) => `${r.match} ${r.symbol} ${r.line_start}`),
    ['exact parse 9', 'prefix Parse 7', 'prefix parse_args 3', 'substring reparse 5', 'substring xparsey 1'],
  );
  assert.deepEqual(d.results[0], { path: 'src/names.py', symbol: 'parse', kind: 'function', line_start: 9, line_end: 10, match: 'exact' });
  assert.equal(d.truncated, false);
  const limited = gritOk(repo, ['context', 'query', 'parse', '--limit', '2']);
  assert.deepEqual([limited.results.length, limited.truncated], [2, true]);
  // Exact and prefix hits just filling the limit: more only if a substring hit exists.
  const filled = gritOk(repo, ['context', 'query', 'parse', '--limit', '3']);
  assert.deepEqual([filled.results.length, filled.truncated], [3, true]);
  const whole = gritOk(repo, ['context', 'query', 'parse_args', '--limit', '1']);
  assert.deepEqual([whole.results.length, whole.truncated], [1, false]);
  assert.deepEqual(gritOk(repo, ['context', 'query', 'POINT']).results.map((r: any) => r.symbol), ['Point', 'point_t', 'MAX_POINTS']);
  assert.equal(gritOk(repo, ['context', 'query', 'zzz_nothing']).results.length, 0);
  const empty = grit(repo, ['context', 'query', ' ', '--json']);
  assert.deepEqual([empty.code, empty.json.error.code], [2, 'invalid_args']);
  // A NUL (possible over IPC, MCP, the API) would reach past the name into the index's keys.
  await assert.rejects(gritLib(repo, 'ContextQuery', { query: 'parse\u0000src' }), (e: any) => e.code === 'invalid_args' && /^<query> must be one line/.test(e.message));
  assert.match(grit(repo, ['context', 'query', 'parse']).stdout, /parse\s+function\s+src\/names\.py:9-10/);
  // Longer than any key of the name index: no indexed name is that long, so nothing matches.
  assert.deepEqual(await gritLib(repo, 'ContextQuery', { query: 'parse'.repeat(1000) }), { query: 'parse'.repeat(1000), results: [], truncated: false, indexed: true });
});

test('show of a path without context says why by what is there (a directory, a symlink, another language, nothing, a path that can name nothing, a file not indexed yet), not always "run grit context index", which gave nothing for most', async () => {
  const repo = await fixtureRepo();
  await indexed(repo);
  symlinkSync('src/sample.py', join(repo, 'alias.py'));
  symlinkSync('/etc/hosts', join(repo, 'hosts.py'));
  writeFileSync(join(repo, 'notes.txt'), 'x\n');
  writeFileSync(join(repo, 'src', 'fresh.py'), 'def fresh():\n    pass\n');
  const cases: [string, string, RegExp][] = [
    [repo, 'src', /^src is a directory: context is kept per file \(`grit context show src\/<file>`/],
    [repo, '.', /^\. is a directory: context is kept per file \(`grit context show <file>`/],
    [repo, 'alias.py', /^alias\.py is a symbolic link, which `grit context index` skips: show the file it points to \(src\/sample\.py\)$/],
    [repo, 'hosts.py', /^hosts\.py is a symbolic link to \/etc\/hosts, outside the worktree: `grit context index` skips it$/],
    [repo, 'notes.txt', /^notes\.txt is not in a language `grit context index` reads/],
    [repo, 'gone.py', /^check the path: nothing is there in the worktree/],
    // Paths that can name nothing, whose lstat throws (ENOTDIR, ENAMETOOLONG) rather than find nothing.
    [repo, 'notes.txt/inside.py', /^check the path: nothing is there in the worktree/],
    [repo, `${'a'.repeat(300)}.py`, /^check the path: nothing is there in the worktree/],
    [join(repo, 'src'), 'fresh.py', /^run `grit context index`/],
  ];
  for (const [cwd, path, hint] of cases) {
    const r = grit(cwd, ['context', 'show', path, '--json']);
    assert.deepEqual([r.code, r.json.error.code], [3, 'not_found'], path);
    assert.match(r.json.error.message, /^no context for \S/, path);
    assert.match(r.json.error.details.suggestion, hint, path);
  }
});

test('show takes paths relative to the current directory or the root, and refuses outside ones', async () => {
  const repo = await fixtureRepo();
  await indexed(repo);
  const src = join(repo, 'src');
  assert.equal(gritOk(src, ['context', 'show', 'sample.py']).file.path, 'src/sample.py');
  // A file with a trailing slash is refused, not shown (the slash was dropped); a directory's is answered as the directory.
  const slashed = grit(src, ['context', 'show', 'sample.py/', '--json']);
  assert.deepEqual([slashed.code, slashed.json.error.code, slashed.json.error.message], [2, 'invalid_args', 'sample.py/ ends in /, which names a directory, not a file']);
  // One under a file (its lstat throws ENOTDIR) is refused the same, not an io_error.
  const underFile = grit(src, ['context', 'show', 'sample.py/x/', '--json']);
  assert.deepEqual([underFile.code, underFile.json.error.code], [2, 'invalid_args'], underFile.stdout);
  assert.match(grit(repo, ['context', 'show', 'src/', '--json']).json.error.details.suggestion, /^src is a directory: context is kept per file/);
  assert.equal(gritOk(src, ['context', 'show', 'src/sample.py']).file.path, 'src/sample.py');
  assert.equal(gritOk(repo, ['context', 'show', join(repo, 'src/sample.py')]).file.path, 'src/sample.py');
  // Without a cwd (MCP, the API, GritClient), an absolute path is read the same.
  assert.equal((await gritLib(repo, 'ContextShow', { path: join(repo, 'src/sample.py') })).file.path, 'src/sample.py');
  const outside = grit(repo, ['context', 'show', '/etc/hosts', '--json']);
  assert.deepEqual([outside.code, outside.json.error.code], [2, 'invalid_args']);
  const unknown = grit(repo, ['context', 'show', 'nope.rs']);
  assert.equal(unknown.code, 3);
  assert.match(unknown.stderr, /no context for nope\.rs/);
  assert.match(unknown.stderr, /hint: check the path: nothing is there in the worktree/);
  const human = grit(repo, ['context', 'show', 'src/sample.go']).stdout;
  assert.match(human, /^src\/sample\.go go/);
  assert.match(human, /Package shapes holds the fixture's Go symbols\./);
  assert.match(human, /28-30\s+method\s+Area/);
});

test('a grammar that fails to load: a warning (stderr and JSON) and regex symbols for that language, no crash', async () => {
  const repo = await fixtureRepo();
  const env = { GRIT_GRAMMAR_RUST: join(repo, 'missing-rust.wasm') };
  const r = grit(repo, ['context', 'index'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: rust: grammar .*missing-rust\.wasm did not load/);
  assert.match(r.stdout, /1 file indexed by the regex fallback/);
  // On stderr under --json too, as every warning a command's data carries (docs/decisions.md, "--quiet").
  const forced = grit(repo, ['context', 'index', '--force', '--json'], { env });
  assert.match(forced.stderr, /^grit: warning: rust: grammar .*missing-rust\.wasm did not load/);
  const d = forced.json.data;
  assert.equal(d.fallback_files, 1);
  assert.deepEqual(d.warnings.map((w: any) => w.language), ['rust']);
  const rust = gritOk(repo, ['context', 'show', 'src/sample.rs']).file;
  assert.ok(rust.symbols.some((s: any) => s.name === 'clamp' && s.kind === 'method'), 'the regex fallback takes an indented fn for a method');
  // Other languages still go through tree-sitter.
  assert.deepEqual(show(gritOk(repo, ['context', 'show', 'src/sample.go']).file.symbols), EXPECTED['sample.go']);
  // Content unchanged: the next normal run keeps the fallback result until --force.
  assert.equal(index(repo).indexed, 0);
  assert.deepEqual(show(gritOk(repo, ['context', 'show', 'src/sample.rs']).file.symbols), show(rust.symbols));
  assert.deepEqual(show(index(repo, '--force', '--pattern', '*.rs') && gritOk(repo, ['context', 'show', 'src/sample.rs']).file.symbols), EXPECTED['sample.rs']);
});

test('a grammar of the wrong language does not wipe the language\'s symbols; binary files are skipped as unreadable', async () => {
  const repo = await fixtureRepo();
  writeFileSync(join(repo, 'src/blob.ts'), Buffer.from([...Buffer.from('export function fake() {}\n'), 0, 1, 2, 0xff]));
  writeFileSync(join(repo, 'src/was-text.py'), 'def was_text():\n    pass\n');
  git(repo, 'add', '-A');
  const first = index(repo);
  assert.deepEqual([first.skipped.unreadable, first.indexed], [1, FIXTURES.length + 1]);
  assert.equal(grit(repo, ['context', 'show', 'src/blob.ts', '--json']).json.error.code, 'not_found');
  // A text file that turns binary loses its symbols, as one that became unreadable does.
  writeFileSync(join(repo, 'src/was-text.py'), Buffer.from([0, 0, 0, 1]));
  const second = index(repo);
  assert.deepEqual([second.skipped.unreadable, second.removed], [2, 1]);
  assert.deepEqual(gritOk(repo, ['context', 'query', 'was_text']).results, []);

  const env = { GRIT_GRAMMAR_TYPESCRIPT: join(REPO_ROOT, 'node_modules/tree-sitter-wasms/out/tree-sitter-python.wasm') };
  const r = grit(repo, ['context', 'index', '--force', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.data.fallback_files, 1);
  assert.deepEqual(r.json.data.warnings.map((w: any) => w.language), ['typescript']);
  assert.match(r.json.data.warnings[0].message, /tree-sitter-python\.wasm loads but does not fit grit's typescript rules/);
  const names = gritOk(repo, ['context', 'show', 'src/sample.ts']).file.symbols.map((s: any) => s.name);
  assert.ok(names.includes('Queue') && names.includes('createTask'), names.join(' '));
});

test('project context: set, read one key or all, last write wins; bad keys are refused', async () => {
  const repo = await fixtureRepo();
  const first = gritOk(repo, ['context', 'set', 'build.command', 'make']);
  assert.equal(first.issue_id, 'f'.repeat(32));
  assert.match(first.event_id, /^[0-9a-f]{64}$/);
  assert.equal(first.wal_head, walHead(repo));
  gritOk(repo, ['context', 'set', 'build.command', 'npm run build']);
  gritOk(repo, ['context', 'set', 'owner', '']);
  const one = gritOk(repo, ['context', 'project', 'build.command']);
  assert.equal(one.value, 'npm run build');
  assert.equal(one.key, 'build.command');
  const all = gritOk(repo, ['context', 'project']);
  assert.deepEqual(all.entries.map((e: any) => [e.key, e.value]), [['build.command', 'npm run build'], ['owner', '']]);
  assert.equal(all.total, 2);
  assert.equal(grit(repo, ['context', 'project', 'build.command']).stdout, 'npm run build\n');
  const missing = grit(repo, ['context', 'project', 'nope', '--json']);
  assert.deepEqual([missing.code, missing.json.error.code], [3, 'not_found']);
  const bad = grit(repo, ['context', 'set', 'has space', 'x', '--json']);
  assert.deepEqual([bad.code, bad.json.error.code], [2, 'invalid_args']);
});

test('context set --value-file: a value from a file or standard input, past the 128 KiB one argument may hold; not with a value too, and one of them is needed', async () => {
  const repo = await fixtureRepo();
  // Longer than MAX_ARG_STRLEN (128 KiB): as an argument, the shell cannot even start grit.
  const big = `${'v'.repeat(300 * 1024)}\nend`;
  const file = join(tempDir(), 'value.md');
  writeFileSync(file, big);
  assert.equal(gritOk(repo, ['context', 'set', 'architecture', '--value-file', file]).value, big);
  assert.equal(gritOk(repo, ['context', 'project', 'architecture']).value, big);
  const piped = grit(repo, ['context', 'set', 'notes', '--value-file', '-', '--json'], { input: 'from\nstdin' });
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(gritOk(repo, ['context', 'project', 'notes']).value, 'from\nstdin');
  // `-` as the value is still the text "-", as before.
  assert.equal(gritOk(repo, ['context', 'set', 'dash', '-']).value, '-');
  const both = grit(repo, ['context', 'set', 'k', 'v', '--value-file', file, '--json']);
  assert.deepEqual([both.code, both.json.error.code, both.json.error.message], [2, 'invalid_args', 'give <value> or --value-file, not both']);
  const neither = grit(repo, ['context', 'set', 'k', '--json']);
  assert.deepEqual([neither.code, neither.json.error.code, neither.json.error.message], [2, 'invalid_args', '<value> is required (or --value-file)']);
  const missing = grit(repo, ['context', 'set', 'k', '--value-file', join(repo, 'nope.txt'), '--json']);
  assert.deepEqual([missing.code, missing.json.error.code], [2, 'invalid_args']);
  assert.deepEqual(gritOk(repo, ['context', 'project']).entries.map((e: any) => e.key), ['architecture', 'dash', 'notes']);
});

test('after a context entry stamped above 2^53 - 1 (a nanosecond clock), each later set and index wins: last writer by the exact timestamp; a rebuild agrees', async () => {
  const repo = await fixtureRepo();
  const far = 1_800_000_000_000_000_000n;
  await writeStamped(repo, far, PROJECT_CONTEXT_ID, { type: 'ProjectContextUpdated', key: 'k', value: 'far' });
  const path = 'src/sample.ts';
  await writeStamped(repo, far, contextIssueId(path), { type: 'ContextUpdated', path, language: 'typescript', symbols: [], summary: 'far', content_hash: new Uint8Array(32).fill(7) });
  // One actor's sets, stamped one after another, round to one number: event ids (random) used to decide.
  const values = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const v of values) {
    gritOk(repo, ['context', 'set', 'k', v]);
    assert.equal(gritOk(repo, ['context', 'project', 'k']).value, v);
  }
  const entry = gritOk(repo, ['context', 'project', 'k']);
  assert.deepEqual([entry.updated_ts, entry.ts_exact], [1.8e18, String(far + BigInt(values.length))]);
  for (let n = 0; n < 3; n++) {
    writeFileSync(join(repo, path), `export function edited${n}() {}\n`);
    index(repo);
    assert.deepEqual(show(gritOk(repo, ['context', 'show', path]).file.symbols), [`function edited${n} 1-1`], `index ${n}`);
  }
  // What a rebuild must keep, read through the command functions: only compared.
  const seen = async () => [await gritSetup(repo, ['context', 'project']), await gritSetup(repo, ['context', 'show', path])];
  const before = await seen();
  gritOk(repo, ['rebuild']);
  assert.deepEqual(await seen(), before);
});

test('context never shows up as issues, and survives a rebuild from the WAL', async () => {
  const repo = await fixtureRepo();
  const issue = (await gritSetup(repo, ['issue', 'create', '--title', 'real issue'])).issue_id;
  await indexed(repo);
  await gritSetup(repo, ['context', 'set', 'k', 'v']);
  const list = gritOk(repo, ['issue', 'list']);
  assert.deepEqual(list.issues.map((i: any) => i.issue_id), [issue]);
  const stats = gritOk(repo, ['db', 'stats']);
  // docs/context.md: issue_count leaves context out, event_count counts every event.
  assert.deepEqual([stats.issue_count, stats.event_count], [1, 1 + FIXTURES.length + 1]);
  const ctxId = 'f'.repeat(32);
  assert.equal(grit(repo, ['issue', 'show', ctxId, '--json']).json.error.code, 'not_found');

  // Two symbols on the same lines: shown in one order whether just written or read back from the WAL.
  writeFileSync(join(repo, 'src/tie.c'), 'typedef struct point {\n  int x;\n} point;\n');
  git(repo, 'add', 'src/tie.c');
  await indexed(repo);

  // What the rebuild must keep, read through the command functions: only compared.
  const seen = async () => [
    await gritSetup(repo, ['context', 'query', 'a']),
    await gritSetup(repo, ['context', 'project']),
    await gritSetup(repo, ['context', 'show', 'src/sample.cpp']),
    await gritSetup(repo, ['context', 'show', 'src/tie.c']),
  ];
  const before = await seen();
  gritOk(repo, ['rebuild']);
  const after = await seen();
  assert.deepEqual(after, before);
  assert.ok(before[0].results.length > 5);
});

test('lock_policy = require: files under another actor\'s lock are skipped and reported, the rest indexed', { timeout: 60_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const other = (await gritSetup(repo, ['actor', 'init'])).actor.actor_id;
  for (const f of ['src/parser/p1.ts', 'src/other/o1.ts', 'src/other/gone.ts']) {
    mkdirSync(join(repo, f, '..'), { recursive: true });
    writeFileSync(join(repo, f), 'export function a() {}\n');
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'files');
  await indexed(repo);
  setLockPolicy(repo, 'require');
  await gritSetup(repo, ['lock', 'acquire', '--resource', 'path:src/parser', '--actor', other]);
  writeFileSync(join(repo, 'src/parser/p1.ts'), 'export function b() {}\n');
  writeFileSync(join(repo, 'src/other/o1.ts'), 'export function c() {}\n');
  git(repo, 'rm', '-q', 'src/other/gone.ts');

  const r = grit(repo, ['context', 'index', '--json']);
  assert.equal(r.code, 0, r.stdout);
  assert.deepEqual([r.json.data.indexed, r.json.data.removed], [1, 1]);
  assert.deepEqual(r.json.data.skipped_locked, [{ path: 'src/parser/p1.ts', owner: other, resource: 'path:src/parser' }]);
  const names = (path: string) => gritOk(repo, ['context', 'show', path]).file.symbols.map((s: any) => s.name);
  assert.deepEqual([names('src/other/o1.ts'), names('src/parser/p1.ts')], [['c'], ['a']]);
  // Human output: a warning names the file.
  writeFileSync(join(repo, 'src/other/o1.ts'), 'export function d() {}\n');
  const human = grit(repo, ['context', 'index']);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stderr, /warning: 1 file not indexed, locked by another actor \(lock_policy = require\): src\/parser\/p1\.ts/);
  // A scope the lock holds whole is refused, as any write under it is.
  for (const scope of ['src/parser', 'src/parser/p1.ts']) {
    const refused = grit(repo, ['context', 'index', '--path', scope, '--json']);
    assert.equal(refused.code, 4, refused.stdout);
    assert.equal(refused.json.error.details.lock.owner, other);
  }
});
