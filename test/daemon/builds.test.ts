/**
 * A daemon of another build of grit (left running across an upgrade or a rebuild) never serves
 * this build's CLI: the command runs in the CLI's process, the old daemon stops, and the next
 * command starts one of this build. Scripts that do not say their build are served as before.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pino from 'pino';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { GritClient } from '../../src/protocol/client.js';
import { DAEMON_BIN, daemonEnv, installCopy, startDaemon, testRunDir } from '../helpers/daemon.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { gritAsync, gritOk, tempRepo, gritInit } from '../helpers/repo.js';

const OLD = { version: '0.0.1', build: '0123456789abcdef' };
const current = JSON.parse(readFileSync(join(REPO_ROOT, 'dist/src/build-info.json'), 'utf8')) as { version: string; build: string };

/**
 * Another install of grit, of the OLD build: this one's code beside its own build-info.json (what
 * an upgrade leaves running is the previous install's daemon).
 */
function oldInstall(): string {
  const dir = installCopy('grit-old-install-');
  writeFileSync(join(dir, 'dist/src/build-info.json'), JSON.stringify(OLD));
  return join(dir, 'bin', 'grit-daemon.js');
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref())]);
}

async function initedRepo(): Promise<string> {
  const repo = tempRepo();
  await gritInit(repo);
  return repo;
}

describe('a daemon of another build', () => {
  const oldBin = oldInstall();
  const started: string[] = [];
  after(async () => {
    for (const runDir of started) await gritAsync('/', ['daemon', 'stop'], { env: daemonEnv(runDir) });
  });

  it('grit-daemon --version names the build', () => {
    const r = spawnSync(process.execPath, [DAEMON_BIN, '--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^grit-daemon ${current.version} \\(build ${current.build}\\)`));
  });

  it("declines the CLI's command, which runs here, then stops; the next command starts this build's daemon", async () => {
    const repo = await initedRepo();
    const old = await startDaemon({ bin: oldBin });
    started.push(old.runDir);
    const env = old.env;
    const created = await gritAsync(repo, ['issue', 'create', '--title', 'across an upgrade', '--json'], { env });
    assert.equal(created.code, 0, created.stderr);
    assert.equal(await within(old.exited, 10_000, 'the old daemon stopping'), 0);
    // Written once, by this process: the old daemon ran nothing.
    const list = await gritAsync(repo, ['issue', 'list', '--json'], { env });
    assert.equal(list.json.data.issues.filter((i: { title: string }) => i.title === 'across an upgrade').length, 1);
    const status = await gritAsync(repo, ['daemon', 'status', '--json'], { env });
    assert.equal(status.json.data.running, true);
    assert.equal(status.json.data.build, current.build);
    assert.equal(status.json.data.version, current.version);
  });

  it('daemon status says so; daemon start replaces it', async () => {
    const repo = await initedRepo();
    const old = await startDaemon({ bin: oldBin });
    started.push(old.runDir);
    const env = old.env;
    const status = await gritAsync(repo, ['daemon', 'status', '--json'], { env });
    assert.equal(status.json.data.build, OLD.build);
    assert.match(status.stderr, /another build|not this grit's build/);
    const start = await gritAsync(repo, ['daemon', 'start', '--json'], { env });
    assert.equal(start.code, 0, start.stderr);
    assert.equal(start.json.data.started, true);
    assert.equal(start.json.data.build, current.build);
    assert.match(start.stderr, new RegExp(`stopped the running daemon \\(pid ${old.child?.pid}\\)`));
    assert.equal(await within(old.exited, 10_000, 'the old daemon stopping'), 0);
  });

  it('of another IPC schema: the command runs here, and status, stop and start each see it stop rather than fail', async () => {
    const dir = installCopy('grit-other-schema-');
    writeFileSync(join(dir, 'dist/src/build-info.json'), JSON.stringify(OLD));
    const messages = join(dir, 'dist/src/protocol/messages.js');
    const code = readFileSync(messages, 'utf8');
    assert.match(code, /IPC_SCHEMA_VERSION = 1;/);
    writeFileSync(messages, code.replace('IPC_SCHEMA_VERSION = 1;', 'IPC_SCHEMA_VERSION = 2;'));
    const otherBin = join(dir, 'bin', 'grit-daemon.js');
    const repo = await initedRepo();
    for (const args of [['issue', 'create', '--title', 'across schemas'], ['daemon', 'status'], ['daemon', 'stop'], ['daemon', 'start']]) {
      const other = await startDaemon({ bin: otherBin });
      started.push(other.runDir);
      const r = await gritAsync(repo, [...args, '--json'], { env: other.env });
      const stopped = await within(other.exited, 10_000, `the other daemon stopping at ${args.join(' ')}`).finally(() => other.stop());
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(stopped, 0);
      if (args[0] === 'daemon') assert.match(r.stderr, new RegExp(`stopped the running daemon \\(pid ${other.child?.pid}\\): it was build ${OLD.build}`));
      if (args[1] === 'status') assert.equal(r.json.data.running, false);
      if (args[1] === 'stop') assert.deepEqual(r.json.data, { stopped: true, pid: other.child?.pid });
      if (args[1] === 'start') assert.deepEqual([r.json.data.started, r.json.data.build], [true, current.build]);
    }
    assert.deepEqual(gritOk(repo, ['issue', 'list']).issues.map((i: { title: string }) => i.title), ['across schemas']);
  });

  it('serves clients that do not say their build, and declines one of another build with a fallback error', async () => {
    const repo = await initedRepo();
    gritOk(repo, ['issue', 'create', '--title', 'listed']);
    const runDir = testRunDir();
    // In this process, so that the test can tell when it stops.
    const old = await Supervisor.start({ endpoints: [`ipc://${join(runDir, 'daemon.sock')}`], idleTimeoutMs: 0, logger: pino({ level: 'silent' }), build: OLD });
    const endpoint = `ipc://${join(runDir, 'daemon.sock')}`;
    try {
      const script = await GritClient.connect({ endpoint });
      try {
        assert.equal(((await script.request('IssueList', {}, { repoRoot: repo })) as { total: number }).total, 1);
      } finally {
        script.close();
      }
      const cli = await GritClient.connect({ endpoint, clientBuild: current.build });
      try {
        await assert.rejects(cli.request('IssueList', {}, { repoRoot: repo }), (err: any) => {
          assert.equal(err.code, 'ipc_error');
          assert.equal(err.details.fallback, true);
          assert.equal(err.details.daemon_outdated, true);
          assert.equal(err.details.daemon_build, OLD.build);
          return true;
        });
      } finally {
        cli.close();
      }
      await within(old.stopped, 10_000, 'the old daemon stopping');
    } finally {
      await old.stop('test over');
    }
  });
});
