import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { GritError } from '../../src/core/errors.js';
import { startSpawnHelper, useSpawnHelper } from '../../src/git/spawn-helper.js';
import { runGit, updateRefs } from '../../src/git/transport.js';
import { startDaemon } from '../helpers/daemon.js';
import { git, tempDir, tempRepo } from '../helpers/repo.js';

/** The pid of the process that spawned git: a shell alias reads git's parent from /proc. */
async function gitParent(gitDir: string): Promise<number> {
  const r = await runGit(gitDir, ['-c', 'alias.parent=!cut -d" " -f4 /proc/$PPID/stat', 'parent']);
  assert.equal(r.code, 0, r.stderr);
  return Number(r.stdout.trim());
}

async function until(ok: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; !(await ok()); i++) {
    if (i > 200) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Whether something accepts connections on the Unix socket at `path`. */
function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

test('a spawn helper runs git for this thread, with the same results; without one, or once it is gone, git is spawned here', async () => {
  const repo = tempRepo();
  git(repo, 'commit', '-q', '--allow-empty', '-m', 'one');
  const gitDir = join(repo, '.git');
  const socket = join(tempDir(), 'git.sock');
  const asked = [['rev-parse', '--git-dir', 'HEAD'], ['rev-parse', '--verify', 'refs/nowhere']];
  const direct = await Promise.all(asked.map((args) => runGit(gitDir, args)));
  assert.deepEqual(direct.map((r) => r.code), [0, 128]);
  assert.equal(await gitParent(gitDir), process.pid);

  const helper = startSpawnHelper(socket);
  try {
    // Listening, not merely bound: between the two a connection is refused, and git is spawned here.
    await until(() => listening(socket));
    await until(async () => (statSync(socket).mode & 0o777) === 0o600); // as the daemon's own sockets
    useSpawnHelper(socket);
    const parent = await gitParent(gitDir);
    assert.ok(parent > 0 && parent !== process.pid, `git was spawned by ${parent}, not by the helper`);
    assert.deepEqual(await Promise.all(asked.map((args) => runGit(gitDir, args))), direct); // output, exit code and stderr alike
    // Input on stdin goes through too.
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    await updateRefs(gitDir, [{ ref: 'refs/grit/through-helper', newOid: head }]);
    assert.equal(git(repo, 'rev-parse', 'refs/grit/through-helper').trim(), head);
    await assert.rejects(updateRefs(gitDir, [{ ref: 'refs/grit/through-helper', newOid: head, oldOid: '1'.repeat(40) }]), (err: unknown) => err instanceof GritError && err.code === 'git_error');

    // git that cannot be spawned (no PATH to it) is the same git_error either way.
    const path = process.env.PATH;
    const failures: unknown[] = [];
    try {
      process.env.PATH = '/nowhere';
      for (const helperOn of [true, false]) {
        useSpawnHelper(helperOn ? socket : null);
        failures.push(await runGit(gitDir, ['--version']).catch((err: unknown) => err));
      }
    } finally {
      process.env.PATH = path;
      useSpawnHelper(socket);
    }
    for (const err of failures) assert.ok(err instanceof GritError && err.code === 'git_error', String(err));
    assert.equal((failures[0] as GritError).message, (failures[1] as GritError).message);
    assert.match((failures[0] as GritError).message, /^cannot run git: .*ENOENT/);

    // A request the helper was running when it stopped fails; it is not run a second time here.
    const slow = runGit(gitDir, ['-c', 'alias.slow=!sleep 0.5', 'slow']);
    await new Promise((r) => setTimeout(r, 100));
    helper.stop();
    await assert.rejects(slow, (err: unknown) => err instanceof GritError && err.code === 'git_error' && /helper stopped/.test(err.message));
    // The helper is gone (once its process is: until then it may still take a connection): git is spawned here again.
    await until(async () => !(await listening(socket)));
    assert.equal(await gitParent(gitDir), process.pid);
    useSpawnHelper(join(tempDir(), 'never-started.sock'));
    assert.equal(await gitParent(gitDir), process.pid);
  } finally {
    helper.stop();
    useSpawnHelper(null);
  }
});

test("a daemon starts its spawn helper, which does not outlive it, even killed", async () => {
  const daemon = await startDaemon();
  const socket = join(daemon.runDir, 'git.sock');
  await until(() => listening(socket));
  daemon.child!.kill('SIGKILL');
  await daemon.exited;
  await until(async () => !(await listening(socket))); // else: the helper outlived its daemon
});
