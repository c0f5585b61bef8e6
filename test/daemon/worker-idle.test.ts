/**
 * Idle worker threads are stopped (`--worker-idle-timeout`): their store closed and their lease
 * released, so the CLI can work locally at once, and the next request starts a fresh worker.
 */
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import assert from 'node:assert/strict';
import { grit, gritOk, tempDir, tempRepo, gritInit } from '../helpers/repo.js';
import { startDaemon, testRunDir, daemonEnv, type TestDaemon } from '../helpers/daemon.js';
import { until, WAIT_MS } from '../helpers/wait.js';
import { readLease } from '../../src/workers/lease.js';
import { GritClient } from '../../src/protocol/client.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';

async function workersOf(d: TestDaemon): Promise<{ repo_root: string }[]> {
  const c = await d.client();
  try {
    return ((await c.status()) as { workers: { repo_root: string }[] }).workers;
  } finally {
    c.close();
  }
}

const workerCount = async (d: TestDaemon): Promise<number> => (await workersOf(d)).length;

const leaseHolder = (actorDir: string): number | null => readLease(actorDir)?.pid ?? null;

/**
 * Runs `request`, which needs a worker of `d`'s, and asserts the worker is there after it, holding
 * the actor's lease (read first: a worker still there after that held it then). The idle timeout
 * runs from the moment the worker answered: a status that comes later than that (a CLI starting
 * and exiting on a loaded machine can take that long) may rightly find none, and the request is
 * made again. A worker gone sooner than that was retired early: a failure.
 */
async function servedByAWorker(d: TestDaemon, idleMs: number, actorDir: string, request: () => unknown): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const began = Date.now();
    await request();
    const holder = leaseHolder(actorDir);
    if ((await workerCount(d)) === 1) return assert.equal(holder, d.child!.pid, 'the worker holds the lease');
    const took = Date.now() - began;
    assert.ok(took >= idleMs, `no worker ${took} ms after the request began: retired before its ${idleMs} ms idle timeout`);
    if (attempt === 10) assert.fail(`no worker after ${attempt} requests, each ${idleMs} ms or more before its status was answered`);
  }
}

test('an idle worker is retired and its lease released; the next request gets a new one', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const actorDir: string = gritOk(repo, ['actor', 'current']).actor.data_dir;
  const [retiring, keeping] = await Promise.all([
    startDaemon({ args: ['--worker-idle-timeout', '1'] }),
    startDaemon({ args: ['--worker-idle-timeout', '0'] }),
  ]);
  try {
    const other = tempRepo();
    await gritInit(other);
    gritOk(repo, ['issue', 'create', '--title', 'through the daemon'], { env: retiring.env });
    gritOk(other, ['issue', 'create', '--title', 'kept'], { env: keeping.env });
    await servedByAWorker(retiring, 1_000, actorDir, () => gritOk(repo, ['issue', 'list'], { env: retiring.env }));

    await until('worker retired', async () => (await workerCount(retiring)) === 0);
    await until('its lease released', () => leaseHolder(actorDir) === null);
    gritOk(repo, ['issue', 'create', '--title', 'local', '--no-daemon']);

    let listed: { issues: { title: string }[] } | undefined;
    await servedByAWorker(retiring, 1_000, actorDir, () => (listed = gritOk(repo, ['issue', 'list'], { env: retiring.env })));
    assert.deepEqual(listed!.issues.map((i) => i.title).sort(), ['local', 'through the daemon']);

    assert.equal(await workerCount(keeping), 1, '--worker-idle-timeout 0 keeps workers');
  } finally {
    await Promise.all([retiring.stop(), keeping.stop()]);
  }
});

test('daemon status shows the idle timeouts the daemon runs with, as its flags name them', async () => {
  const daemon = await startDaemon({ args: ['--worker-idle-timeout', '7'] }); // and --idle-timeout 0
  try {
    const dir = tempDir();
    const status = grit(dir, ['daemon', 'status'], { env: daemon.env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^idle timeout never, worker idle timeout 7s, at most 16 workers$/m);
    const data = gritOk(dir, ['daemon', 'status'], { env: daemon.env });
    assert.equal(data.idle_timeout_s, 0);
    assert.equal(data.worker_idle_timeout_s, 7);
  } finally {
    await daemon.stop();
  }
});

test("a daemon the CLI starts runs with glibc's mmap threshold fixed (a retired worker's big blocks are returned), unless the caller set one", () => {
  const dir = tempDir();
  const thresholdOf = (pid: number): string | undefined =>
    readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').find((v) => v.startsWith('MALLOC_MMAP_THRESHOLD_='));
  for (const [given, expected] of [[undefined, 'MALLOC_MMAP_THRESHOLD_=131072'], ['1048576', 'MALLOC_MMAP_THRESHOLD_=1048576']] as const) {
    const env = daemonEnv(testRunDir(), given === undefined ? {} : { MALLOC_MMAP_THRESHOLD_: given });
    gritOk(dir, ['daemon', 'start'], { env });
    try {
      const { pid } = gritOk(dir, ['daemon', 'status'], { env });
      assert.equal(thresholdOf(pid), expected);
    } finally {
      gritOk(dir, ['daemon', 'stop'], { env });
    }
  }
});

test('--max-workers 2, three repositories in turn: at most two workers live, the least recently used idle one retired, and every write kept', async () => {
  const daemon = await startDaemon({ args: ['--max-workers', '2', '--worker-idle-timeout', '0'] });
  try {
    const repos = [tempRepo(), tempRepo(), tempRepo()];
    for (const repo of repos) await gritInit(repo);
    const written = new Map<string, string[]>(repos.map((r) => [r, []]));
    for (let round = 0; round < 3; round++) {
      for (const repo of repos) {
        const { issue_id } = gritOk(repo, ['issue', 'create', '--title', `r${round}`], { env: daemon.env });
        written.get(repo)!.push(issue_id);
        const workers = await workersOf(daemon);
        assert.ok(workers.length <= 2, `${workers.length} workers: ${JSON.stringify(workers)}`);
        assert.ok(workers.some((w) => w.repo_root === repo), 'the repository just used keeps its worker');
      }
    }
    assert.equal(gritOk(repos[0], ['daemon', 'status'], { env: daemon.env }).max_workers, 2);
    const log = readFileSync(`${daemon.runDir}/daemon.log`, 'utf8');
    assert.match(log, /worker retired \(least recently used: the daemon keeps at most 2 workers/);
    await daemon.stop();
    for (const repo of repos) {
      const listed = gritOk(repo, ['issue', 'list', '--no-daemon']).issues.map((i: { issue_id: string }) => i.issue_id).sort();
      assert.deepEqual(listed, [...written.get(repo)!].sort());
    }
  } finally {
    await daemon.stop();
  }
});

test('the idle timeouts measure time on the monotonic clock: a wall clock stepped an hour forward stops nothing, one stepped back holds nothing up', async (t) => {
  const repo = tempRepo();
  await gritInit(repo);
  const realNow = Date.now;
  let step = 0;
  // This process's clock only: the supervisor runs here (its worker threads keep the real one).
  t.mock.method(Date, 'now', () => realNow() + step);
  const withSupervisor = async (timeouts: { idleTimeoutMs: number; workerIdleTimeoutMs: number }, check: (s: Supervisor, endpoint: string) => Promise<void>) => {
    const endpoint = `ipc://${join(testRunDir(), 'daemon.sock')}`;
    const supervisor = await Supervisor.start({ endpoints: [endpoint], ...timeouts, logger: pino({ level: 'silent' }) });
    try {
      const client = await GritClient.connect({ endpoint });
      await client.request('IssueList', {}, { repoRoot: repo });
      client.close(); // a connected client would keep the daemon up
      await check(supervisor, endpoint);
    } finally {
      step = 0;
      await supervisor.stop('test done');
    }
  };
  const workersOn = async (endpoint: string): Promise<number> => {
    const client = await GritClient.connect({ endpoint });
    try {
      return ((await client.status()) as { workers: unknown[] }).workers.length;
    } finally {
      client.close();
    }
  };
  await withSupervisor({ idleTimeoutMs: 60_000, workerIdleTimeoutMs: 60_000 }, async (supervisor, endpoint) => {
    let stopped = false;
    void supervisor.stopped.then(() => (stopped = true));
    step = 3_600_000;
    await sleep(1_500); // past a sweep (each second)
    assert.equal(stopped, false, 'the daemon stopped as idle');
    assert.equal(await workersOn(endpoint), 1, 'the worker was retired as idle');
  });
  await withSupervisor({ idleTimeoutMs: 2_000, workerIdleTimeoutMs: 500 }, async (supervisor, endpoint) => {
    step = -3_600_000;
    await until('the worker retired', async () => (await workersOn(endpoint)) === 0);
    const deadline = sleep(WAIT_MS, 'not stopped', { ref: false });
    assert.equal(await Promise.race([supervisor.stopped.then(() => 'stopped'), deadline]), 'stopped');
  });
});
