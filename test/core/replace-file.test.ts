import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { replaceFile, replaceFileWith, tempBeside } from '../../src/core/replace-file.js';
import { leftTempFiles, removeLeftTempFiles, RENAME_TMP } from '../../src/commands/temp-files.js';
import { findRepo } from '../../src/git/repo.js';
import { grit, tempDir, tempRepo } from '../helpers/repo.js';
import { startDaemon, testRunDir } from '../helpers/daemon.js';

const MODULE = pathToFileURL(fileURLToPath(new URL('../../src/core/replace-file.js', import.meta.url))).href;

test('replaceFile: the file replaced whole, nothing left beside it; a new one gets `mode`, a replaced one its own mode with keepMode', () => {
  const dir = tempDir();
  const path = join(dir, 'f');
  assert.equal(replaceFile(path, 'one\n', { mode: 0o600 }), true);
  assert.equal(readFileSync(path, 'utf8'), 'one\n');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  chmodSync(path, 0o640);
  replaceFile(path, Buffer.from('two\n'), { keepMode: true });
  assert.equal(readFileSync(path, 'utf8'), 'two\n');
  assert.equal(statSync(path).mode & 0o777, 0o640);
  replaceFile(path, 'three\n', { durable: true });
  assert.equal(readFileSync(path, 'utf8'), 'three\n');
  assert.deepEqual(readdirSync(dir), ['f']);
});

test('replaceFile: a link at its temporary file\'s name is never written through: the create fails (EEXIST), the link and the file it names stay as they were', async () => {
  const dir = tempDir();
  const precious = join(tempDir(), 'bashrc');
  writeFileSync(precious, 'keep\n');
  const path = join(dir, 'AGENTS.md');
  writeFileSync(path, 'old\n');
  const tmp = `${path}.${process.pid}.1.tmp`;
  symlinkSync(precious, tmp);
  assert.throws(() => replaceFile(path, 'new\n', { tmp }), { code: 'EEXIST' });
  assert.equal(replaceFile(path, 'new\n', { tmp, bestEffort: true }), false);
  await assert.rejects(
    replaceFileWith(path, async () => assert.fail('written'), { tmp }),
    { code: 'EEXIST' },
  );
  assert.equal(readFileSync(precious, 'utf8'), 'keep\n');
  assert.ok(lstatSync(tmp).isSymbolicLink());
  assert.equal(readFileSync(path, 'utf8'), 'old\n');
});

test('replaceFile: a failure before the rename (its check refuses the new file, a directory at the path, no directory to make it in) leaves the file as it was and no temporary file; bestEffort says false', async () => {
  const dir = tempDir();
  const path = join(dir, 'config.toml');
  writeFileSync(path, 'old\n');
  const refuse = () => {
    throw new Error('refused');
  };
  assert.throws(() => replaceFile(path, 'new\n', { beforeRename: refuse }), /refused/);
  assert.equal(replaceFile(path, 'new\n', { beforeRename: refuse, bestEffort: true }), false);
  await assert.rejects(replaceFileWith(path, async () => refuse()), /refused/);
  assert.equal(readFileSync(path, 'utf8'), 'old\n');
  mkdirSync(join(dir, 'sub'));
  assert.equal(replaceFile(join(dir, 'sub'), 'x', { bestEffort: true }), false);
  assert.equal(replaceFile(join(dir, 'missing', 'f'), 'x', { bestEffort: true }), false);
  assert.deepEqual(readdirSync(dir).sort(), ['config.toml', 'sub']);
  assert.deepEqual(readdirSync(join(dir, 'sub')), []);
});

test('temporary names: unique across calls and across the worker threads of one process (which share its pid), and of the form doctor\'s temp_files recognises', async () => {
  const names = (n: number) => Array.from({ length: n }, () => tempBeside('/x/.git/grit/config.toml'));
  const here = names(2000);
  const threads = await Promise.all(
    [1, 2, 3].map(
      () =>
        new Promise<string[]>((resolve, reject) => {
          const w = new Worker(`import { tempBeside } from ${JSON.stringify(MODULE)}; import { parentPort } from 'node:worker_threads'; parentPort.postMessage(Array.from({ length: 2000 }, () => tempBeside('/x/.git/grit/config.toml')));`, { eval: true });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  const all = [...here, ...threads.flat()];
  assert.equal(new Set(all).size, all.length, 'a name drawn twice');
  for (const name of all) assert.match(name, RENAME_TMP);
  assert.ok(all.every((n) => n.startsWith(`/x/.git/grit/config.toml.${process.pid}.`)));
});

test('a writer killed between its temporary file and the rename leaves a file that doctor\'s temp_files finds and --fix deletes (in .git/grit and in an actor directory)', () => {
  const repo = tempRepo();
  const paths = findRepo(repo);
  const actor = join(paths.gritDir, 'actors', '0123456789abcdef0123456789abcdef');
  mkdirSync(actor, { recursive: true });
  for (const path of [join(paths.gritDir, 'lock-resources'), join(actor, 'store.unsynced')]) {
    const script = `import { replaceFile } from ${JSON.stringify(MODULE)}; replaceFile(${JSON.stringify(path)}, 'partial', { beforeRename: () => process.kill(process.pid, 'SIGKILL') });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    assert.ok(!existsSync(path));
  }
  const left = [...readdirSync(paths.gritDir).filter((n) => n.endsWith('.tmp')).map((n) => join(paths.gritDir, n)), ...readdirSync(actor).map((n) => join(actor, n))];
  assert.equal(left.length, 2, String(left));
  // Left alone a while (as doctor requires of a file whose writer may live in another pid namespace).
  const old = new Date(Date.now() - 120_000);
  for (const f of left) utimesSync(f, old, old);
  assert.deepEqual(leftTempFiles(paths).map((f) => f.path).sort(), left.sort());
  removeLeftTempFiles(paths);
  assert.ok(left.every((f) => !existsSync(f)));
});

/** A temporary file beside `path` that a writer of it killed before its rename left, aged past doctor's wait. */
function killedWriterLeaves(path: string): string {
  const script = `import { replaceFile } from ${JSON.stringify(MODULE)}; replaceFile(${JSON.stringify(path)}, 'partial', { beforeRename: () => process.kill(process.pid, 'SIGKILL') });`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  const dir = dirname(path);
  const [left] = readdirSync(dir).filter((n) => n.startsWith(`${basename(path)}.`) && n.endsWith('.tmp'));
  assert.ok(left, `nothing left beside ${path}`);
  const old = new Date(Date.now() - 120_000);
  utimesSync(join(dir, left), old, old);
  return join(dir, left);
}

/** One named after this process, which runs: never taken for a killed writer's. */
function liveWritersFile(path: string): string {
  const live = `${path}.${process.pid}.7.tmp`;
  writeFileSync(live, 'being written');
  const old = new Date(Date.now() - 120_000);
  utimesSync(live, old, old);
  return live;
}

test("a killed init's AGENTS.md temporary file: doctor's temp_files finds it in the working tree, the next init deletes it; a live writer's stays", () => {
  const repo = tempRepo();
  const left = killedWriterLeaves(join(repo, 'AGENTS.md'));
  const live = liveWritersFile(join(repo, 'AGENTS.md'));
  assert.ok(!existsSync(join(repo, 'AGENTS.md')));
  assert.deepEqual(leftTempFiles(findRepo(repo)).map((f) => f.path), [left]);
  const init = grit(repo, ['init', '--json']);
  assert.equal(init.code, 0, init.stdout + init.stderr);
  assert.equal(init.json.data.agents_md, 'created');
  assert.ok(!existsSync(left), 'the next init deletes it');
  assert.ok(existsSync(live));
  // Through a link to another file of the working tree (AGENTS.md -> docs/CLAUDE.md): beside that file.
  const linked = tempRepo();
  mkdirSync(join(linked, 'docs'));
  writeFileSync(join(linked, 'docs', 'CLAUDE.md'), '# Notes\n');
  symlinkSync('docs/CLAUDE.md', join(linked, 'AGENTS.md'));
  const beside = killedWriterLeaves(join(linked, 'docs', 'CLAUDE.md'));
  assert.deepEqual(leftTempFiles(findRepo(linked)).map((f) => f.path), [beside]);
  assert.equal(grit(linked, ['init', '--json']).json.data.agents_md, 'appended');
  assert.ok(!existsSync(beside));
});

test("a killed daemon's daemon.pid temporary file in its run directory: the next daemon start deletes it; a live writer's stays", async () => {
  const runDir = testRunDir();
  const left = killedWriterLeaves(join(runDir, 'daemon.pid'));
  const live = liveWritersFile(join(runDir, 'daemon.pid'));
  const daemon = await startDaemon({ runDir });
  try {
    assert.ok(!existsSync(left), 'the next daemon start deletes it');
    assert.ok(existsSync(live));
  } finally {
    await daemon.stop();
  }
});
