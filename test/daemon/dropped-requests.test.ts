/**
 * Requests the daemon did not answer: whether it may have run them decides what the caller may
 * do; reads left by a client that has gone are not run; a request resent while it runs runs once.
 * And run directories the daemon cannot use (relative, too long for a socket path).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GritError } from '../../src/core/errors.js';
import { grit, gritOk, tempDir, tempRepo, gritInit } from '../helpers/repo.js';
import { DAEMON_BIN, daemonEnv, startDaemon, testRunDir } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';
import { rejectionOf } from '../helpers/rejection.js';
import { rawReqPeer, sleep } from '../transport/_helpers.js';

async function initRepo(): Promise<string> {
  const dir = tempRepo();
  await gritInit(dir);
  return dir;
}

const failure = (p: Promise<unknown>): Promise<GritError> => rejectionOf(p, GritError);

/** GRIT_SPAWN_WAIT for the tests that check a wait is cut short: sat out whole, it is the failure. */
const LONG_WAIT_S = 60;

test('a daemon killed with requests unread (ECONNRESET): they may have run; a write says to look first', async () => {
  const daemon = await startDaemon();
  const dir = await initRepo();
  const target = { repoRoot: dir };
  const client = await daemon.client();
  try {
    await client.issueList({}, target); // its worker is up
    // Stopped, it reads nothing: the requests wait in its socket's queue when it is killed.
    daemon.child!.kill('SIGSTOP');
    const read = failure(client.issueList({}, target));
    const write = failure(client.issueCreate({ title: 'maybe' }, target));
    await sleep(100);
    daemon.child!.kill('SIGKILL');
    await daemon.exited;
    for (const e of [await read, await write]) {
      assert.equal(e.code, 'ipc_error');
      assert.equal(e.details.transport_code, 'ECONNRESET');
      assert.equal(e.details.may_have_run, true, e.message);
      assert.equal(e.details.fallback, undefined);
    }
    assert.match((await write).suggestion!, /^look before running it again/);
    assert.equal((await read).suggestion, 'run it again');
  } finally {
    client.close();
    await daemon.stop();
  }
});

test('GritClient: a write cut off by its timeout, its signal or close() may have run; one never sent did not', async () => {
  const daemon = await startDaemon();
  const dir = await initRepo();
  const target = { repoRoot: dir };
  const { GritClient } = await import('../../src/protocol/client.js');
  const impatient = await GritClient.connect({ endpoint: daemon.endpoint, requestTimeoutMs: 50, target });
  const client = await daemon.client();
  try {
    const { issue_id } = await client.issueCreate({ title: 'target' }, target);
    daemon.child!.kill('SIGSTOP'); // it cannot answer in time, but will run what it was sent
    const timedOut = await failure(impatient.issueComment(issue_id, 'once'));
    assert.equal(timedOut.details.transport_code, 'timeout');
    assert.equal(timedOut.details.may_have_run, true);
    assert.match(timedOut.suggestion!, /^look before running it again/);
    const ac = new AbortController();
    const aborted = failure(client.request('IssueComment', { issue_id, body: 'twice' }, target, { signal: ac.signal }));
    await sleep(20);
    ac.abort();
    assert.deepEqual([(await aborted).details.transport_code, (await aborted).details.may_have_run], ['aborted', true]);
    const closed = failure(impatient.issueComment(issue_id, 'thrice'));
    await sleep(20);
    impatient.close();
    assert.deepEqual([(await closed).details.transport_code, (await closed).details.may_have_run], ['closed', true]);
    // Never sent: safe to run anywhere, which the CLI does.
    const unsent = await failure(impatient.issueComment(issue_id, 'never'));
    assert.equal(unsent.details.fallback, true);
    assert.equal(unsent.details.may_have_run, undefined);

    daemon.child!.kill('SIGCONT');
    // What "may have run" means: all three get written although none was answered. (Polled: a
    // read is not held back behind writes still being committed.)
    let bodies: string[] = [];
    for (let i = 0; i < 100 && bodies.length < 3; i++, await sleep(50)) {
      const shown = await client.issueShow(issue_id, target);
      bodies = (shown.issue.comments as Array<{ body: string }>).map((c) => c.body).sort();
    }
    assert.deepEqual(bodies, ['once', 'thrice', 'twice']);
  } finally {
    daemon.child!.kill('SIGCONT');
    impatient.close();
    client.close();
    await daemon.stop();
  }
});

test('GritClient outlives its daemon: stopped, it says none answers; restarted, the same client is served again; closed, it says so', async () => {
  const daemon = await startDaemon();
  const dir = await initRepo();
  const target = { repoRoot: dir };
  const client = await daemon.client();
  try {
    await client.issueCreate({ title: 'before the restart' }, target);
    await daemon.stop();
    const none = await failure(client.issueList({}, target));
    assert.equal(none.details.fallback, true, none.message);
    assert.match(none.suggestion!, /`grit daemon start`/);
    const again = await startDaemon({ runDir: daemon.runDir });
    try {
      // Before, the client stayed closed, and told the caller to start the daemon that was running.
      assert.equal((await client.issueList({}, target)).total, 1);
      await client.issueCreate({ title: 'after the restart' }, target);
    } finally {
      await again.stop();
    }
  } finally {
    client.close();
    await daemon.stop();
  }
  const closed = await failure(client.issueList({}, target));
  assert.equal(closed.message, 'IssueList was not sent: this GritClient was closed (client.close())');
  assert.equal(closed.suggestion, 'connect a new client with GritClient.connect()');
  assert.equal(closed.details.fallback, true);
});

/** A request in JSON, as a script sends it with nngcat. */
const jsonRequest = (repoRoot: string, requestId: number | string, command: Record<string, unknown>): string =>
  JSON.stringify({ ipc_schema_version: 1, request_id: requestId, repo_root: repoRoot, command });

test('a request nng\'s REQ sends again while it runs (its resend: same connection, same backtrace) runs once, and its one reply answers it', async () => {
  const daemon = await startDaemon();
  const dir = await initRepo();
  const client = await daemon.client();
  const peer = await rawReqPeer(daemon.endpoint);
  try {
    const create = jsonRequest(dir, 'once', { IssueCreate: { title: 'once' } });
    peer.send([0x80000001], create);
    peer.send([0x80000001], create); // the resend, read while the first is in flight
    await until('the reply', () => peer.replies.length > 0);
    assert.equal(JSON.parse(peer.replies[0].subarray(4).toString()).ok, true);
    const inFlight = async () => ((await client.request('DaemonStatus', {})) as { workers: { in_flight: number }[] }).workers[0].in_flight;
    await until('nothing in flight', async () => (await inFlight()) === 0);
    assert.equal((await client.issueList({}, { repoRoot: dir })).total, 1, 'one issue created');
    assert.equal(peer.replies.length, 1);
  } finally {
    peer.socket.destroy();
    client.close();
    await daemon.stop();
  }
});

test('reads pipelined on a connection that then closes are not run once it has: nothing of them is left to hold up another client', async () => {
  const [daemon, dir] = await Promise.all([startDaemon(), initRepo()]);
  const target = { repoRoot: dir };
  const client = await daemon.client();
  const out = tempDir();
  try {
    // Each read of it takes the worker's thread a while (a reply of megabytes): the client is gone before the first is done.
    const { issue_id } = await client.issueCreate({ title: 'big', body: 'x'.repeat(1024 * 1024) }, target);
    const peer = await rawReqPeer(daemon.endpoint);
    const shows = 16;
    for (let i = 0; i < shows; i++) peer.send([0x80000000 + i], jsonRequest(dir, i, { IssueShow: { issue_id } }));
    // Reads too, queued behind those, whose runs leave a trace: a file each.
    for (let i = shows; i < shows + 8; i++) peer.send([0x80000000 + i], jsonRequest(dir, i, { Export: { output: join(out, `${i}.json`) } }));
    peer.socket.end();
    assert.equal((await client.issueList({}, target)).total, 1, 'another client is served');
    const inFlight = async () => ((await client.request('DaemonStatus', {})) as { workers: { in_flight: number }[] }).workers[0].in_flight;
    await until('nothing in flight', async () => (await inFlight()) === 0);
    assert.deepEqual(readdirSync(out), [], 'the reads queued after the connection closed did not run');
  } finally {
    client.close();
    await daemon.stop();
  }
});

test('a relative GRIT_RUN_DIR is refused: commands run in-process, nothing is made in the work tree', async () => {
  const dir = await initRepo();
  const before = readdirSync(dir).sort();
  const env = daemonEnv('rel-run');
  const listed = grit(dir, ['issue', 'list', '--json'], { env });
  assert.equal(listed.code, 0, listed.stdout + listed.stderr);
  assert.equal(listed.json.data.total, 0);
  const start = grit(dir, ['daemon', 'start', '--json'], { env });
  assert.equal(start.code, 5, start.stdout);
  assert.equal(start.json.error.message, 'the daemon run directory rel-run is not an absolute path (GRIT_RUN_DIR must be one)');
  const direct = spawnSync(process.execPath, [DAEMON_BIN], { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(direct.status, 5);
  assert.equal(direct.stderr, 'grit-daemon: the daemon run directory rel-run is not an absolute path (GRIT_RUN_DIR must be one)\n');
  assert.deepEqual(readdirSync(dir).sort(), before, 'no run directory made in the work tree');
});

test('a relative GRIT_RUN_DIR: `daemon status`, `stop` and `watch` refuse it as `start` does, and no command reaches a daemon through it', async () => {
  const dir = await initRepo();
  // A daemon serving the directory the relative path names from the work tree: the CLI must not
  // take the socket it finds there, which another working directory would not find.
  const daemon = await startDaemon({ runDir: join(dir, 'r') });
  const client = await daemon.client();
  try {
    const env = daemonEnv('r');
    for (const line of [['daemon', 'status'], ['daemon', 'stop'], ['watch']]) {
      const r = grit(dir, [...line, '--json'], { env, timeout: 20_000 });
      assert.equal(r.code, 5, `${line.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.json.error.code, 'io_error');
      assert.equal(r.json.error.message, 'the daemon run directory r is not an absolute path (GRIT_RUN_DIR must be one)');
      assert.equal(r.json.error.details.variable, 'GRIT_RUN_DIR');
    }
    gritOk(dir, ['issue', 'create', '--title', 'here'], { env });
    const { workers } = (await client.request('DaemonStatus', {})) as { workers: unknown[] };
    assert.deepEqual(workers, [], 'the command ran in-process, not in the daemon found at the relative path');
  } finally {
    client.close();
    await daemon.stop();
  }
});

test('a run directory mkdir cannot make under a parent that exists (procfs): refused at once, not retried for ever', { skip: !existsSync('/proc/self') }, async () => {
  const dir = await initRepo();
  // node's recursive mkdir retried ENOENT under /proc for ever: every command spun at 100% CPU.
  const env = daemonEnv('/proc/grit-no-such/run');
  const listed = grit(dir, ['issue', 'list', '--json'], { env, timeout: 60_000 });
  assert.equal(listed.code, 0, listed.stdout + listed.stderr);
  const start = grit(dir, ['daemon', 'start', '--json'], { env, timeout: 60_000 });
  assert.equal(start.code, 5, start.stdout + start.stderr);
  assert.equal(start.json.error.message, 'the daemon run directory /proc/grit-no-such/run cannot be made (ENOENT)');
});

test('a daemon that cannot start (its socket path is a file): commands say why and run here at once; `daemon start` says why', async () => {
  const dir = await initRepo();
  const run = tempDir();
  writeFileSync(join(run, 'daemon.sock'), 'not a socket');
  // A wait far longer than any command takes on a loaded host: one sat out whole fails the
  // check below however slow the host, and one ended by the failed start passes however slow.
  const env = daemonEnv(run, { GRIT_SPAWN_WAIT: String(LONG_WAIT_S) });
  const t0 = performance.now();
  const listed = grit(dir, ['issue', 'list', '--json'], { env });
  assert.equal(listed.code, 0, listed.stdout + listed.stderr);
  assert.match(listed.stderr, /^grit: warning: the daemon could not start \(refusing to replace \S+daemon\.sock: it exists and is not a socket\); ran the command here/);
  assert.ok(performance.now() - t0 < (LONG_WAIT_S * 1000) / 2, `said at once, not after the ${LONG_WAIT_S} s spawn wait`);
  const start = grit(dir, ['daemon', 'start', '--json'], { env });
  assert.equal(start.code, 5, start.stdout + start.stderr);
  assert.equal(start.json.error.code, 'ipc_error');
  assert.match(start.json.error.message, /^the daemon could not start: refusing to replace .* it exists and is not a socket$/);
  assert.equal(readFileSync(join(run, 'daemon.sock'), 'utf8'), 'not a socket', 'the file is left alone');
});

test('a run directory too long for its socket paths: one clear line and exit 5, from grit-daemon and `daemon start`', async () => {
  const dir = await initRepo();
  const long = join(tempDir(), 'x'.repeat(110));
  mkdirSync(long, { mode: 0o700 });
  const env = daemonEnv(long, { GRIT_SPAWN_WAIT: String(LONG_WAIT_S) });
  const direct = spawnSync(process.execPath, [DAEMON_BIN], { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(direct.status, 5);
  assert.match(direct.stderr, /^grit-daemon: the daemon run directory \S+ is too long: its socket path \S+ takes \d+ bytes, more than the 107 a Unix socket path may have\n$/);
  const t0 = performance.now();
  const start = grit(dir, ['daemon', 'start'], { env });
  assert.equal(start.code, 5, start.stdout + start.stderr);
  assert.match(start.stderr, /too long: its socket path/);
  assert.match(start.stderr, /set GRIT_RUN_DIR to a shorter directory/);
  assert.ok(performance.now() - t0 < (LONG_WAIT_S * 1000) / 2, `said at once, not after the ${LONG_WAIT_S} s spawn wait`);
  assert.equal(grit(dir, ['issue', 'list', '--json'], { env }).code, 0, 'commands run in-process');
  assert.equal(existsSync(join(long, 'daemon.log')), false);
});

test('GRIT_SPAWN_WAIT: how long a command waits for the daemon it started; a bad value is refused, exit 5', async () => {
  const dir = await initRepo();
  const bad = grit(dir, ['issue', 'list', '--json'], { env: daemonEnv(testRunDir(), { GRIT_SPAWN_WAIT: '5s' }) });
  assert.equal(bad.code, 5, bad.stdout + bad.stderr);
  assert.equal(bad.json.error.code, 'ipc_error');
  assert.equal(bad.json.error.message, 'GRIT_SPAWN_WAIT must be a whole number of seconds up to 2147483 (0 = no wait: the command runs here while the daemon starts), not "5s"');
  // 0: no wait at all, so `daemon start` cannot see the daemon it started answer.
  const env = daemonEnv(testRunDir(), { GRIT_SPAWN_WAIT: '0' });
  const start = grit(dir, ['daemon', 'start', '--json'], { env });
  assert.equal(start.code, 1, start.stdout + start.stderr);
  assert.match(start.json.error.message, /^the daemon did not answer \(waited \d+\.\d s of at most 0 s\)$/);
  // It was started all the same, and serves the next command.
  await until('the daemon started without waiting answers', () => gritOk(dir, ['daemon', 'status'], { env }).running === true);
  gritOk(dir, ['daemon', 'stop'], { env });
});
