import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GritError } from '../../src/core/errors.js';
import { startSpawnHelper, useSpawnHelper } from '../../src/git/spawn-helper.js';
import { runGit, updateRefs } from '../../src/git/transport.js';
import { DAEMON_BIN, listening, startDaemon } from '../helpers/daemon.js';
import { gitSpawnerPath } from '../../src/protocol/daemon-paths.js';
import { git, gritOk, tempDir, tempRepo } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';

/** The pid of the process that spawned git: a shell alias reads git's parent from /proc. */
async function gitParent(gitDir: string): Promise<number> {
  const r = await runGit(gitDir, ['-c', 'alias.parent=!cut -d" " -f4 /proc/$PPID/stat', 'parent']);
  assert.equal(r.code, 0, r.stderr);
  return Number(r.stdout.trim());
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
    await until('the helper listening', () => listening(socket));
    await until('its socket 0600', async () => (statSync(socket).mode & 0o777) === 0o600); // as the daemon's own sockets
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
    // Stopped once git runs (not after a fixed delay, which on a loaded machine may come before
    // the helper has the request, or after git is done).
    const running = join(tempDir(), 'running');
    const slow = runGit(gitDir, ['-c', `alias.slow=!touch ${running} && sleep 5`, 'slow']);
    await until('git running through the helper', () => existsSync(running));
    helper.stop();
    await assert.rejects(slow, (err: unknown) => err instanceof GritError && err.code === 'git_error' && /helper stopped/.test(err.message));
    // The helper is gone (once its process is: until then it may still take a connection): git is spawned here again.
    await until('the helper gone', async () => !(await listening(socket)));
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
  const socket = gitSpawnerPath(daemon.env, daemon.child!.pid);
  await until("the daemon's helper listening", () => listening(socket));
  daemon.child!.kill('SIGKILL');
  await daemon.exited;
  await until('the helper going with its daemon', async () => !(await listening(socket)));
});

/** The pid of `daemonPid`'s spawn helper process, or null while it has none. */
function helperOf(daemonPid: number): number | null {
  const r = spawnSync('pgrep', ['-P', String(daemonPid), '-f', 'spawn-helper-child']);
  const pids = r.stdout.toString().trim().split('\n').filter(Boolean).map(Number);
  return pids.length === 1 ? pids[0] : null;
}

test("a daemon's spawn helper killed with kill -9 is started again, on its socket path (the dead one removed), and syncs work", async () => {
  const daemon = await startDaemon();
  try {
    const pid = daemon.child!.pid!;
    const socket = gitSpawnerPath(daemon.env, pid);
    await until("the daemon's helper listening", () => listening(socket));
    const first = helperOf(pid)!;
    assert.ok(first > 0);
    const dead = statSync(socket);
    process.kill(first, 'SIGKILL');
    // A new socket file, not the dead one: the file system may give it the freed inode's number, not its creation time.
    const renewed = () => existsSync(socket) && (statSync(socket).ino !== dead.ino || statSync(socket).ctimeMs > dead.ctimeMs);
    await until('another helper listening', async () => helperOf(pid) !== null && helperOf(pid) !== first && renewed() && (await listening(socket)));
    assert.deepEqual(readdirSync(daemon.runDir).filter((n) => n.startsWith('git-')), [basename(socket)], 'one helper socket');
    assert.match(readFileSync(join(daemon.runDir, 'daemon.log'), 'utf8'), /"helper_pid":\d+.*"msg":"the spawn helper ended: starting another"/);
    // A sync with a remote (a fetch and a push run by the worker) works as before.
    const remote = join(tempDir(), 'r.git');
    git(tempDir(), 'init', '-q', '--bare', remote);
    const repo = tempRepo();
    git(repo, 'remote', 'add', 'origin', remote);
    gritOk(repo, ['init', '--no-agents-md']);
    gritOk(repo, ['issue', 'create', '--title', 'synced'], { env: daemon.env });
    gritOk(repo, ['sync'], { env: daemon.env });
    assert.ok(git(remote, 'for-each-ref', 'refs/grit/').length > 0, 'pushed');
  } finally {
    await daemon.stop();
  }
});

test("grit-daemon started again, as each of a burst of CLIs does, leaves the running daemon's spawn helper alone", async () => {
  const daemon = await startDaemon();
  try {
    const socket = gitSpawnerPath(daemon.env, daemon.child!.pid);
    await until("the daemon's helper listening", () => listening(socket));
    const { ino } = statSync(socket);
    const again = await Promise.all(Array.from({ length: 3 }, () => runDaemon(daemon.env)));
    for (const r of again) assert.deepEqual(r, { code: 0, stderr: `grit-daemon: a daemon is already listening on ${daemon.endpoint}\n` });
    assert.equal(statSync(socket).ino, ino);
    assert.ok(await listening(socket));
  } finally {
    await daemon.stop();
  }
});

function runDaemon(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [DAEMON_BIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}
