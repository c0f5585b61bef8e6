/**
 * Idle worker threads are stopped (`--worker-idle-timeout`): their store closed and their lease
 * released, so the CLI can work locally at once, and the next request starts a fresh worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grit, gritOk, tempDir, tempRepo } from '../helpers/repo.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';

async function workerCount(d: TestDaemon): Promise<number> {
  const c = await d.client();
  try {
    return ((await c.status()) as { workers: unknown[] }).workers.length;
  } finally {
    c.close();
  }
}

async function waitFor(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('an idle worker is retired and its lease released; the next request gets a new one', async () => {
  const repo = tempRepo();
  gritOk(repo, ['init', '--no-agents-md']);
  const [retiring, keeping] = await Promise.all([
    startDaemon({ args: ['--worker-idle-timeout', '1'] }),
    startDaemon({ args: ['--worker-idle-timeout', '0'] }),
  ]);
  try {
    const other = tempRepo();
    gritOk(other, ['init', '--no-agents-md']);
    gritOk(repo, ['issue', 'create', '--title', 'through the daemon'], { env: retiring.env });
    gritOk(other, ['issue', 'create', '--title', 'kept'], { env: keeping.env });
    assert.equal(await workerCount(retiring), 1);

    await waitFor('worker retired', async () => (await workerCount(retiring)) === 0, 5_000);
    // The lease is gone: a local write needs no waiting for it.
    const started = Date.now();
    gritOk(repo, ['issue', 'create', '--title', 'local', '--no-daemon']);
    assert.ok(Date.now() - started < 3_000, 'the local write did not wait for a lease');

    const listed = gritOk(repo, ['issue', 'list'], { env: retiring.env });
    assert.deepEqual(listed.issues.map((i: { title: string }) => i.title).sort(), ['local', 'through the daemon']);
    assert.equal(await workerCount(retiring), 1, 'a fresh worker serves the next request');

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
    assert.match(status.stdout, /^idle timeout never, worker idle timeout 7s$/m);
    const data = gritOk(dir, ['daemon', 'status'], { env: daemon.env });
    assert.equal(data.idle_timeout_s, 0);
    assert.equal(data.worker_idle_timeout_s, 7);
  } finally {
    await daemon.stop();
  }
});
