/** The daemon under duress: kill -9, crashing workers, hostile bytes, slow work next door, shutdown. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { basename, join } from 'node:path';
import { git, grit, gritAsync, gritOk, gritDoctor, fsckClean, tempDir, tempRepo, gritInit } from '../helpers/repo.js';
import { DAEMON_BIN, daemonEnv, installCopy, listening, startDaemon, testRunDir, type TestDaemon } from '../helpers/daemon.js';
import { generateWal } from '../helpers/gen-events.js';
import { rng } from '../helpers/random.js';
import { encode } from '../../src/core/plain-cbor.js';
import { ReqClient } from '../../src/protocol/transport/index.js';
import { GritError } from '../../src/core/errors.js';
import { GritClient } from '../../src/protocol/client.js';
import { ensureRunDir, gitSpawnerPath } from '../../src/protocol/daemon-paths.js';
import { pidAlive, procStart } from '../../src/core/pid-alive.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { LOG_MAX_BYTES, rotateIfLarge } from '../../src/supervisor/log-file.js';
import { pino } from 'pino';
import { nngcatAvailable, spawnNngcat, rawConnect, sleep } from '../transport/_helpers.js';
import { silentRemote } from '../sync/_helpers.js';
import { until, WAIT_MS } from '../helpers/wait.js';

async function initRepo(): Promise<{ dir: string; actor: string; actorDir: string }> {
  const dir = tempRepo();
  const { actor } = await gritInit(dir);
  return { dir, actor: actor.actor_id, actorDir: actor.data_dir };
}

test('kill -9 mid-load: every acknowledged write survives and the next CLI call takes over', async () => {
  const daemon = await startDaemon();
  const { dir, actorDir } = await initRepo();
  const acked: string[] = [];
  const clients = await Promise.all(Array.from({ length: 8 }, () => daemon.client()));
  const load = clients.map(async (c, i) => {
    try {
      for (let n = 0; ; n++) acked.push((await c.issueCreate({ title: `w${i}.${n}` }, { repoRoot: dir })).issue_id);
    } catch (err) {
      assert.equal((err as GritError).code, 'ipc_error', 'a dropped connection is reported as ipc_error');
    }
  });
  while (acked.length < 150) await sleep(5);
  daemon.child!.kill('SIGKILL');
  await Promise.all(load);
  await daemon.exited; // reaped: a zombie would still look alive to the lease check
  const oldPid = daemon.child!.pid;
  assert.equal(JSON.parse(readFileSync(join(actorDir, 'daemon.lock'), 'utf8')).pid, oldPid, 'the dead daemon left its lease');

  // The next CLI call starts a fresh daemon (same run dir) which takes over the stale lease.
  const listed = gritOk(dir, ['issue', 'list'], { env: daemon.env });
  const ids = new Set(listed.issues.map((i: { issue_id: string }) => i.issue_id));
  for (const id of acked) assert.ok(ids.has(id), `acknowledged ${id} present`);
  assert.equal(git(dir, 'rev-list', '--merges', 'refs/grit/wal').trim(), '');
  fsckClean(dir);
  const lease = JSON.parse(readFileSync(join(actorDir, 'daemon.lock'), 'utf8'));
  assert.notEqual(lease.pid, oldPid, 'lease taken over by the new daemon');
  const local = gritOk(dir, ['issue', 'list', '--no-daemon']);
  assert.equal(local.total, listed.total, 'daemon and local views agree');
  const stop = gritOk(dir, ['daemon', 'stop'], { env: daemon.env });
  assert.equal(stop.stopped, true);
  assert.equal(existsSync(join(actorDir, 'daemon.lock')), false, 'a clean stop releases the lease');
});

test('a worker thread that dies is replaced; other actors never notice', async () => {
  const a = await initRepo();
  const b = await initRepo();
  const daemon = await startDaemon({ env: { GRIT_FAULT: `worker:exit:${a.actor}` } });
  try {
    const client = await daemon.client();
    for (let round = 0; round < 3; round++) {
      await assert.rejects(client.issueList({}, { repoRoot: a.dir }), (e: GritError) => e.code === 'internal_error');
      const listed = await client.issueList({}, { repoRoot: b.dir });
      assert.equal(listed.total, 0);
    }
    const status = (await client.status()) as { workers: { actor_id: string; threads_started: number }[] };
    const wa = status.workers.find((w) => w.actor_id === a.actor)!;
    const wb = status.workers.find((w) => w.actor_id === b.actor)!;
    assert.ok(wa.threads_started >= 3, `crashed worker restarted (${wa.threads_started} threads)`);
    assert.equal(wb.threads_started, 1);
    client.close();
  } finally {
    await daemon.stop();
  }
});

/** The daemon log's lines about worker threads that could not start. */
function failedStarts(runDir: string): string[] {
  return readFileSync(join(runDir, 'daemon.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('worker thread could not start'));
}

/**
 * A daemon run from an install of its own whose CBOR codec (`plain-cbor.js`) is gone as it starts,
 * as while an `npm install` replaces it; `restore` puts the file back.
 */
async function daemonWithoutCodec(prefix: string): Promise<{ daemon: TestDaemon; restore: () => void }> {
  const install = installCopy(prefix);
  const codec = join(install, 'dist/src/core/plain-cbor.js');
  renameSync(codec, `${codec}.away`);
  const daemon = await startDaemon({ bin: join(install, 'bin', 'grit-daemon.js') });
  return { daemon, restore: () => renameSync(`${codec}.away`, codec) };
}

test('a worker thread that cannot start (a module of grit gone, as while npm install replaces it): its requests are declined for their CLIs to run, logged once, and the next request tries again', async () => {
  // The worker's thread needs the module to load at all; the supervisor, only to read CBOR: JSON is served.
  const { daemon, restore } = await daemonWithoutCodec('grit-worker-start-');
  const { dir } = await initRepo();
  try {
    const client = await GritClient.connect({ endpoint: daemon.endpoint, format: 'json', requestTimeoutMs: WAIT_MS });
    const refused = await Promise.all(
      [1, 2, 3].map(() =>
        client.issueList({}, { repoRoot: dir }).then(
          () => assert.fail('served without its thread'),
          (err: GritError) => err,
        ),
      ),
    );
    for (const err of refused) {
      assert.equal(err.code, 'ipc_error', err.message);
      assert.match(err.message, /^the daemon's worker for actor [0-9a-f]{32} could not start: Cannot find module '[^']*plain-cbor\.js'/);
      assert.equal(err.details.fallback, true, 'it did not run: sending it again is safe');
    }
    assert.equal(failedStarts(daemon.runDir).length, 1, 'one failed start for the three requests that waited for it, logged once');
    assert.match(failedStarts(daemon.runDir)[0], /plain-cbor\.js/, 'with its cause');
    // The CLI runs the command itself, and its request was one more try.
    assert.equal(gritOk(dir, ['issue', 'create', '--title', 'here'], { env: daemon.env }).issue_id.length, 32);
    assert.equal(failedStarts(daemon.runDir).length, 2);
    restore();
    assert.equal((await client.issueList({}, { repoRoot: dir })).total, 1, 'served once the module is back');
    const status = (await client.status()) as { workers: { threads_started: number }[] };
    assert.deepEqual(status.workers.map((w) => w.threads_started), [1]);
    client.close();
  } finally {
    await daemon.stop();
  }
  assert.equal(await daemon.exited, 0);
});

test('a worker thread whose set-up throws or exits: declined the same way; one stuck starting does not hold the daemon\'s stop past its drain deadline', { timeout: 120_000 }, async () => {
  const { dir } = await initRepo();
  for (const how of ['throw', 'exit']) {
    const daemon = await startDaemon({ env: { GRIT_FAULT: `worker:start:${how}` } });
    try {
      const client = await daemon.client();
      const err = await client.issueList({}, { repoRoot: dir }).then(
        () => assert.fail(`served by a thread whose set-up did ${how}`),
        (e: GritError) => e,
      );
      assert.equal(err.code, 'ipc_error', err.message);
      assert.match(err.message, how === 'throw' ? /could not start: GRIT_FAULT: failing at worker:start$/ : /could not start: worker exited with code: 70$/);
      assert.equal(err.details.fallback, true);
      client.close();
      // The CLI runs it itself.
      assert.equal(gritOk(dir, ['issue', 'list'], { env: daemonEnv(daemon.runDir) }).total, 0);
      assert.equal(failedStarts(daemon.runDir).length, 2, 'each request tried once');
    } finally {
      await daemon.stop();
    }
  }

  const pausedAt = join(tempDir('grit-worker-pause-'), 'paused');
  const daemon = await startDaemon({ env: { GRIT_FAULT: `worker:start:pause:${pausedAt}`, GRIT_DRAIN_TIMEOUT: '2' } });
  try {
    const client = await daemon.client();
    const waiting = client.issueList({}, { repoRoot: dir }).catch((e: GritError) => e);
    await until('the worker thread stuck in its set-up', () => existsSync(pausedAt));
    const t0 = Date.now();
    daemon.child!.kill('SIGTERM');
    assert.equal(await daemon.exited, 0);
    const tookMs = Date.now() - t0;
    // Its thread would go on after 60 s (the fault's own limit): the daemon did not wait for it.
    assert.ok(tookMs < 20_000, `stopped in ${tookMs} ms, the 2 s drain deadline and closing`);
    const e = (await waiting) as GritError;
    assert.equal(e.code, 'ipc_error', e.message);
    assert.match(e.message, /drain deadline \(2 s, GRIT_DRAIN_TIMEOUT\)/);
    client.close();
  } finally {
    rmSync(pausedAt, { force: true });
    await daemon.stop();
  }
});

test('the directory the daemon was started in may go: it serves on, with a bad GRIT_LOG_LEVEL too', async () => {
  const started = tempDir('grit-gone-');
  const daemon = await startDaemon({ cwd: started, env: { GRIT_LOG_LEVEL: 'loud' } });
  try {
    rmSync(started, { recursive: true, force: true });
    // Two repositories: each needs a new worker thread, started after the directory went.
    for (const { dir } of [await initRepo(), await initRepo()]) {
      gritOk(dir, ['issue', 'create', '--title', 'after the cwd went'], { env: daemon.env });
      assert.equal(gritOk(dir, ['issue', 'list'], { env: daemon.env }).total, 1);
    }
    const status = (await (await daemon.client()).status()) as { workers: unknown[] };
    assert.equal(status.workers.length, 2, 'both served by the daemon, not in-process');
    assert.match(readFileSync(join(daemon.runDir, 'daemon.log'), 'utf8'), /unknown log level/);
  } finally {
    await daemon.stop();
  }
});

test('a store deleted or replaced behind the daemon (a backup restored) is reopened, not served from memory', async () => {
  const daemon = await startDaemon();
  try {
    const env = daemon.env;
    const { dir, actorDir } = await initRepo();
    const titles = () => gritOk(dir, ['issue', 'list'], { env }).issues.map((i: { title: string }) => i.title).sort();
    gritOk(dir, ['issue', 'create', '--title', 'before the backup'], { env });
    const backup = tempDir('grit-backup-');
    cpSync(dir, backup, { recursive: true });
    gritOk(dir, ['issue', 'create', '--title', 'after the backup'], { env });
    assert.deepEqual(titles(), ['after the backup', 'before the backup']);
    rmSync(dir, { recursive: true, force: true });
    cpSync(backup, dir, { recursive: true });
    assert.deepEqual(titles(), ['before the backup']);
    assert.deepEqual(gritOk(dir, ['issue', 'list']).issues.map((i: { title: string }) => i.title), ['before the backup']);
    // Deleted, then rebuilt through the daemon: into a file that is there afterwards.
    rmSync(join(actorDir, 'store.mdb'));
    assert.equal(gritOk(dir, ['rebuild'], { env }).event_count, 1);
    assert.ok(existsSync(join(actorDir, 'store.mdb')));
    assert.ok(gritOk(dir, ['db', 'stats'], { env }).size_bytes > 0);
    assert.deepEqual(titles(), ['before the backup']);
  } finally {
    await daemon.stop();
  }
});

test('doctor --fix through the daemon repairs a store its worker holds, while the actor\'s writes wait', async () => {
  const daemon = await startDaemon();
  try {
    const env = daemon.env;
    const { dir, actorDir } = await initRepo();
    gritOk(dir, ['issue', 'create', '--title', 'one'], { env });
    const store = join(actorDir, 'store.mdb');
    // Damaged behind the worker's back, as a disk that filled up would leave it.
    writeFileSync(store, readFileSync(store).subarray(0, 4096));
    const damaged = gritDoctor(dir, [], { env });
    assert.equal(damaged.checks.find((c: { id: string }) => c.id === 'store_integrity').status, 'error');
    const client = await daemon.client();
    try {
      // A write sent right behind the repair waits for it and lands in the repaired store (sent
      // before it, it would meet the truncated file in the old worker's memory map).
      const [fixed, created] = await Promise.all([
        client.request('Doctor', { fix: true }, { repoRoot: dir }) as Promise<{ checks: { status: string }[]; applied: string[]; failed: string[] }>,
        client.issueCreate({ title: 'two' }, { repoRoot: dir }),
      ]);
      assert.deepEqual(fixed.failed, [], 'the daemon holding the store does not stop its own repair');
      assert.match(fixed.applied.join('\n'), /rebuilt the store/);
      assert.ok(fixed.checks.every((c) => c.status === 'ok'), JSON.stringify(fixed.checks));
      assert.ok(created.issue_id);
    } finally {
      client.close();
    }
    const titles = gritOk(dir, ['issue', 'list'], { env }).issues.map((i: { title: string }) => i.title).sort();
    assert.deepEqual(titles, ['one', 'two']);
    assert.equal(gritOk(dir, ['daemon', 'status'], { env }).pid, daemon.child!.pid, 'the same daemon serves on');
  } finally {
    await daemon.stop();
  }
});

test('a read whose daemon dies under it runs again in process; a write is reported, not repeated', async () => {
  const daemon = await startDaemon();
  try {
    const env = daemon.env;
    const { dir, actorDir } = await initRepo();
    gritOk(dir, ['issue', 'create', '--title', 'kept'], { env });
    const store = join(actorDir, 'store.mdb');
    // Cut below its meta pages: the worker's next read of its memory map is a SIGBUS, which takes
    // the whole daemon down mid-request (and leaves it a zombie until this process reaps it).
    writeFileSync(store, readFileSync(store).subarray(0, 4096));
    const listed = grit(dir, ['issue', 'list', '--json'], { env });
    assert.equal(listed.code, 0, listed.stdout);
    assert.deepEqual(JSON.parse(listed.stdout).data.issues.map((i: { title: string }) => i.title), ['kept']);
    assert.match(listed.stderr, /damaged.*rebuilt from the WAL/);
    await daemon.exited;
  } finally {
    await daemon.stop();
  }
  const again = await startDaemon();
  try {
    const { dir, actorDir } = await initRepo();
    gritOk(dir, ['issue', 'create', '--title', 'one'], { env: again.env });
    const store = join(actorDir, 'store.mdb');
    writeFileSync(store, readFileSync(store).subarray(0, 4096));
    const created = grit(dir, ['issue', 'create', '--title', 'two', '--json'], { env: again.env });
    const error = JSON.parse(created.stdout).error;
    assert.equal(error.code, 'ipc_error', 'the daemon may have written it: not run twice');
    assert.equal(error.details.may_have_run, true);
    assert.match(error.details.suggestion, /look before running it again/);
    await again.exited;
    assert.ok(gritOk(dir, ['issue', 'list', '--no-daemon']).total <= 2);
  } finally {
    await again.stop();
  }
});

const HOSTILE_REQUESTS = 240;

test('hostile bytes on the socket: the daemon keeps answering valid requests', async () => {
  const daemon = await startDaemon();
  const { dir } = await initRepo();
  try {
    const rand = rng(7);
    const valid = { ipc_schema_version: 1, request_id: 1, repo_root: dir, command: { IssueList: {} } };
    const validCbor = encode(valid);
    // A count of requests, not as many as fit in some seconds: on a loaded machine a round trip
    // may take a tenth of a second. The timeouts bound a hang, they do not measure speed.
    const fuzz = await ReqClient.connect(daemon.endpoint, { requestTimeoutMs: WAIT_MS });
    const good = await daemon.client();
    let errors = 0;
    let cases = 0;
    while (cases < HOSTILE_REQUESTS) {
      const kind = cases % 4;
      const len = Math.floor(rand() * 200);
      const body =
        kind === 0
          ? Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256)))
          : kind === 1
            ? validCbor.subarray(0, Math.floor(rand() * validCbor.length))
            : kind === 2
              ? Buffer.from(JSON.stringify(valid).slice(0, Math.min(len, JSON.stringify(valid).length - 1)))
              : encode({ ...valid, command: { [`Nope${cases}`]: { x: rand() } } });
      const reply = JSON.parse(JSON.stringify(await decodeAny(await fuzz.request(body))));
      if (reply.ok === false) errors++;
      cases++;
      if (cases % 50 === 0) assert.equal((await good.issueList({}, { repoRoot: dir })).total, 0);
    }
    assert.equal(errors, cases, 'every hostile request got an error reply');
    // Non-SP garbage only costs its own connection; a frame far over the size limit gets an error reply.
    const raw = await rawConnect(daemon.endpoint);
    raw.on('error', () => {});
    raw.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    const big = await ReqClient.connect(daemon.endpoint, { maxMessageSize: 64 * 1024 * 1024 });
    const refused = JSON.parse(JSON.stringify(await decodeAny(await big.request(Buffer.alloc(20 * 1024 * 1024, 0x41), { timeoutMs: WAIT_MS }))));
    assert.equal(refused.error.code, 'ipc_error');
    big.close();
    assert.equal((await good.issueList({}, { repoRoot: dir })).total, 0, 'still serving');
    fuzz.close();
    good.close();
    raw.destroy();
  } finally {
    await daemon.stop();
  }
  assert.equal(await daemon.exited, 0, 'clean exit after all that');
});

test('a CBOR codec that does not load: CBOR requests are answered with an error (not dropped), JSON ones served, and the next load is tried again', async () => {
  // Gone as the daemon starts and at its first CBOR request.
  const { daemon, restore } = await daemonWithoutCodec('grit-codec-');
  const { dir } = await initRepo();
  try {
    const cbor = await GritClient.connect({ endpoint: daemon.endpoint, requestTimeoutMs: WAIT_MS });
    const refused = await cbor.issueList({}, { repoRoot: dir }).then(
      () => assert.fail('served without its codec'),
      (err: GritError) => err,
    );
    assert.equal(refused.code, 'internal_error', refused.message);
    assert.match(refused.message, /cannot read CBOR requests: loading its CBOR codec failed/);
    assert.equal(refused.details.fallback, true, 'the request was not run');
    // (Not a command run by a worker: its thread loads the codec too, and could not start.)
    const json = await daemon.client('json');
    assert.equal((await json.status()).running, true, 'JSON is served meanwhile');
    json.close();
    restore();
    assert.equal((await cbor.issueList({}, { repoRoot: dir })).total, 0, 'the codec is loaded once it is back');
    cbor.close();
    const log = readFileSync(join(daemon.runDir, 'daemon.log'), 'utf8');
    assert.match(log, /cannot load the CBOR codec/);
    assert.match(log, /request not read/);
    assert.doesNotMatch(log, /malformed|request handler failed/, 'a request it could not read is no malformed one');
  } finally {
    await daemon.stop();
  }
});

async function decodeAny(body: Buffer): Promise<unknown> {
  const { decodeReply } = await import('../../src/protocol/messages.js');
  return decodeReply(body);
}

test('a long rebuild of one actor does not delay requests to another', async () => {
  const slow = await initRepo();
  const fast = await initRepo();
  await generateWal(join(slow.dir, '.git'), { seed: 3, events: 12_000, actors: [{ id: slow.actor }], batchMax: 50 });
  const daemon = await startDaemon();
  try {
    const client = await daemon.client();
    await client.issueList({}, { repoRoot: slow.dir }); // worker warm, store current
    await client.issueList({}, { repoRoot: fast.dir });
    const t0 = Date.now();
    let rebuildDone = 0;
    const rebuild = client.request('Rebuild', {}, { repoRoot: slow.dir }).then(() => (rebuildDone = Date.now() - t0));
    await sleep(50);
    const latencies: number[] = [];
    while (rebuildDone === 0 && latencies.length < 200) {
      const s = performance.now();
      await client.issueCreate({ title: 'meanwhile' }, { repoRoot: fast.dir });
      latencies.push(performance.now() - s);
    }
    await rebuild;
    latencies.sort((x, y) => x - y);
    const p50 = latencies[Math.floor(latencies.length / 2)];
    assert.ok(latencies.length >= 5, `${latencies.length} writes to the other actor during a ${rebuildDone} ms rebuild`);
    assert.ok(p50 < rebuildDone / 5, `p50 ${p50.toFixed(1)} ms while the rebuild took ${rebuildDone} ms`);
    client.close();
  } finally {
    await daemon.stop();
  }
});

test('a sync stuck on a silent remote: the actor and others are served meanwhile; it fails at the git deadline, the worker serves on', async () => {
  const silent = await silentRemote();
  const daemon = await startDaemon({ env: { GRIT_GIT_TIMEOUT: '4' } });
  try {
    const stuck = await initRepo();
    const other = await initRepo();
    git(stuck.dir, 'remote', 'add', 'origin', silent.url('http'));
    let settled = false;
    // The caller's GRIT_GIT_TIMEOUT governs its sync, as it would run locally (the daemon's is 4 too).
    const sync = gritAsync(stuck.dir, ['sync', '--json'], { env: { ...daemon.env, GRIT_GIT_TIMEOUT: '4' } }).finally(() => (settled = true));
    await silent.open(1); // git is waiting on the remote
    gritOk(stuck.dir, ['issue', 'create', '--title', 'meanwhile'], { env: daemon.env });
    gritOk(other.dir, ['issue', 'list'], { env: daemon.env });
    assert.equal(settled, false, 'the writes and reads were served while the sync waited');

    const r = await sync;
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.json.error.code, 'git_error');
    assert.equal(r.json.error.details.timed_out, true);
    assert.equal(r.json.error.details.timeout_s, 4, "the caller's GRIT_GIT_TIMEOUT");
    await silent.open(0);
    const workers = gritOk(stuck.dir, ['daemon', 'status'], { env: daemon.env }).workers as { repo_root: string; in_flight: number; threads_started: number }[];
    const worker = workers.find((w) => w.repo_root === stuck.dir)!;
    assert.deepEqual([worker.in_flight, worker.threads_started], [0, 1], 'nothing left in flight, the same thread');
    assert.deepEqual(gritOk(stuck.dir, ['issue', 'list'], { env: daemon.env }).issues.map((i: { title: string }) => i.title), ['meanwhile']);
  } finally {
    await daemon.stop();
    silent.close();
  }
});

test('a daemon killed while git waits on a silent remote (no deadline) leaves no git behind', async () => {
  const silent = await silentRemote();
  const daemon = await startDaemon({ env: { GRIT_GIT_TIMEOUT: '0' } });
  const { dir } = await initRepo();
  git(dir, 'remote', 'add', 'origin', silent.url('git'));
  const client = await daemon.client();
  const sync = client.request('Sync', {}, { repoRoot: dir }).catch((err: GritError) => err);
  await silent.open(1);
  daemon.child!.kill('SIGKILL');
  await daemon.exited;
  assert.equal(((await sync) as GritError).details.may_have_run, true);
  // The spawn helper sees its stdin close and stops the git it runs.
  await silent.open(0);
  client.close();
  silent.close();
});

test('daemon stop while a sync waits on a silent remote: the sync is cut short at the one drain deadline, stop waits for it and says so', { timeout: 60_000 }, async () => {
  const silent = await silentRemote();
  // No git deadline: only the daemon's drain deadline can end the sync.
  const daemon = await startDaemon({ env: { GRIT_GIT_TIMEOUT: '0', GRIT_DRAIN_TIMEOUT: '4' } });
  try {
    const { dir, actorDir } = await initRepo();
    gritOk(dir, ['issue', 'create', '--title', 'before'], { env: daemon.env });
    assert.equal(gritOk(dir, ['daemon', 'status'], { env: daemon.env }).drain_timeout_s, 4);
    git(dir, 'remote', 'add', 'origin', silent.url('http'));
    const sync = gritAsync(dir, ['sync', '--json'], { env: { ...daemon.env, GRIT_GIT_TIMEOUT: '0' } });
    await silent.open(1);

    const t0 = Date.now();
    const stop = await gritAsync(dir, ['daemon', 'stop', '--json'], { env: daemon.env });
    const tookMs = Date.now() - t0;
    assert.equal(stop.code, 0, stop.stdout + stop.stderr);
    assert.deepEqual(stop.json.data, { stopped: true, pid: daemon.child!.pid }, 'stdout is the envelope alone');
    assert.ok(tookMs >= 3_500 && tookMs < 15_000, `stop took ${tookMs} ms: the 4 s drain deadline, once`);
    assert.match(stop.stderr, /^grit: waiting for the daemon \(pid \d+\) to stop: it lets 1 request in flight finish, for at most [1-4] s more \(its drain deadline, GRIT_DRAIN_TIMEOUT\)$/m);
    assert.equal(pidAlive(daemon.child!.pid!), false, 'gone when stop returns');

    const r = await sync;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.equal(r.json.error.code, 'ipc_error');
    assert.match(r.json.error.message, /^the daemon stopped before Sync finished: it was still running at the daemon's drain deadline \(4 s, GRIT_DRAIN_TIMEOUT\)$/);
    assert.equal(r.json.error.details.may_have_run, true);
    assert.equal(r.json.error.details.drain_timeout_s, 4);
    // A sync is safe to run again (it pushes only what is missing), unlike an issue write.
    assert.equal(r.json.error.details.suggestion, 'run `grit sync` again: it pulls and pushes only what is still missing, so nothing is written twice');

    await silent.open(0); // its git went with the daemon
    assert.equal(existsSync(join(actorDir, 'daemon.lock')), false, 'the lease released');
    fsckClean(dir);
    assert.deepEqual(gritOk(dir, ['issue', 'list']).issues.map((i: { title: string }) => i.title), ['before']);
    assert.equal(gritDoctor(dir).checks.filter((c: { status: string }) => c.status === 'error').length, 0);
  } finally {
    await daemon.stop();
    silent.close();
  }
});

/**
 * A process holding the actor store's LMDB write lock until it is killed: a worker that must
 * write the store (to catch up with a WAL moved behind it) waits in LMDB, its thread blocked.
 */
async function holdStoreWriteLock(actorDir: string): Promise<{ release: () => Promise<void> }> {
  const script = `import { open } from 'lmdb';
const db = open({ path: ${JSON.stringify(join(actorDir, 'store.mdb'))}, maxDbs: 16, compression: false, noMetaSync: true });
db.transactionSync(() => { process.stdout.write('held\\n'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  return {
    release: async () => {
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

test('requests cut short at the drain deadline: a read may simply run again (the CLI runs it here), a write may have run (look first)', { timeout: 60_000 }, async () => {
  const daemon = await startDaemon({ env: { GRIT_DRAIN_TIMEOUT: '2' } });
  const { dir, actorDir } = await initRepo();
  const target = { repoRoot: dir };
  const client = await daemon.client();
  let holder: { release: () => Promise<void> } | null = null;
  try {
    gritOk(dir, ['issue', 'create', '--title', 'before'], { env: daemon.env });
    holder = await holdStoreWriteLock(actorDir);
    // The WAL moves behind the daemon (its head commit copied by plain git): the next request of
    // the actor catches its store up first, and waits for the write lock there.
    const head = git(dir, 'rev-parse', 'refs/grit/wal').trim();
    git(dir, 'update-ref', 'refs/grit/wal', git(dir, 'commit-tree', `${head}^{tree}`, '-p', head, '-m', 'grit: 1 event').trim());
    const read = client.issueList({}, target).catch((err: GritError) => err);
    const write = client.issueCreate({ title: 'maybe' }, target).catch((err: GritError) => err);
    const cliRead = gritAsync(dir, ['issue', 'list', '--json'], { env: daemon.env });
    const cliWrite = gritAsync(dir, ['issue', 'create', '--title', 'maybe too', '--json'], { env: daemon.env });
    const inFlight = () => (gritOk(dir, ['daemon', 'status'], { env: daemon.env }).workers as { repo_root: string; in_flight: number }[]).find((w) => w.repo_root === dir)?.in_flight ?? 0;
    await until(() => `4 requests in flight (${inFlight()})`, () => inFlight() === 4);
    const stop = gritAsync(dir, ['daemon', 'stop', '--json'], { env: daemon.env });

    const cut = /^the daemon stopped before Issue(List|Create) finished: it was still running at the daemon's drain deadline \(2 s, GRIT_DRAIN_TIMEOUT\)$/;
    for (const e of [await read, await write]) {
      assert.ok(e instanceof GritError, String(e));
      assert.equal(e.code, 'ipc_error');
      assert.match(e.message, cut);
      assert.equal(e.details.may_have_run, true);
    }
    assert.equal((await read as GritError).suggestion, 'run it again');
    assert.equal((await write as GritError).suggestion, 'look before running it again (`grit issue list`, `grit issue show <id>`): a second run may write it twice');
    const w = await cliWrite;
    assert.equal(w.code, 1, w.stdout + w.stderr);
    assert.match(w.json.error.message, cut);
    assert.equal(w.json.error.details.may_have_run, true);
    assert.match(w.json.error.details.suggestion, /^look before running it again/);
    // The daemon cannot end a thread blocked in LMDB: it goes once the lock does.
    await holder.release();
    holder = null;
    assert.equal((await stop).code, 0);
    // The CLI's read, cut short the same way, ran again here and answered.
    const r = await cliRead;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(r.json.data.issues.some((i: { title: string }) => i.title === 'before'), r.stdout);
  } finally {
    await holder?.release();
    client.close();
    await daemon.stop();
  }
});

test('while a daemon drains: status says it is stopping, and `daemon start` waits for it to exit and starts a new one', { timeout: 60_000 }, async () => {
  const silent = await silentRemote();
  const daemon = await startDaemon({ env: { GRIT_GIT_TIMEOUT: '0', GRIT_DRAIN_TIMEOUT: '4' } });
  const { dir } = await initRepo();
  try {
    git(dir, 'remote', 'add', 'origin', silent.url('http'));
    const sync = gritAsync(dir, ['sync', '--json'], { env: { ...daemon.env, GRIT_GIT_TIMEOUT: '0' } });
    await silent.open(1);
    const stop = gritAsync(dir, ['daemon', 'stop', '--json'], { env: daemon.env });
    await until('the daemon stopping', () => gritOk(dir, ['daemon', 'status'], { env: daemon.env }).state === 'stopping');
    const status = gritOk(dir, ['daemon', 'status'], { env: daemon.env });
    assert.equal(status.running, true);
    assert.equal(status.pid, daemon.child!.pid);
    assert.ok(status.drain_left_s >= 1 && status.drain_left_s <= 4, JSON.stringify(status));
    assert.match(grit(dir, ['daemon', 'status'], { env: daemon.env }).stdout, /^stopping \(grit [^)]+\): pid \d+, .*\nstopping: new requests run in the CLI; its requests in flight may run [1-4] s more/);

    const start = await gritAsync(dir, ['daemon', 'start', '--json'], { env: daemon.env });
    assert.equal(start.code, 0, start.stdout + start.stderr);
    assert.equal(pidAlive(daemon.child!.pid!), false, 'the stopping daemon is gone when start returns');
    assert.equal(start.json.data.started, true);
    assert.notEqual(start.json.data.pid, daemon.child!.pid);
    assert.equal(start.json.data.state, 'running');
    assert.equal(start.json.data.drain_left_s, null);
    assert.equal((await stop).code, 0);
    await sync;
    const after = gritOk(dir, ['daemon', 'status'], { env: daemon.env });
    assert.deepEqual([after.running, after.pid], [true, start.json.data.pid], 'the new daemon runs on');
  } finally {
    grit(dir, ['daemon', 'stop'], { env: daemon.env });
    await daemon.stop();
    silent.close();
  }
});

test('GRIT_DRAIN_TIMEOUT that is not a number of seconds: the daemon does not start, and says why', async () => {
  const { dir } = await initRepo();
  const r = grit(dir, ['daemon', 'start', '--json'], { env: daemonEnv(testRunDir(), { GRIT_DRAIN_TIMEOUT: '1m' }) });
  assert.equal(r.code, 5, r.stdout + r.stderr);
  assert.equal(r.json.error.code, 'ipc_error');
  assert.match(r.json.error.message, /GRIT_DRAIN_TIMEOUT must be a whole number of seconds up to 2147483 \(0 = no wait\), not "1m"/);
});

test('GRIT_DRAIN_TIMEOUT given to `daemon start` while a daemon runs: another value is warned about, a bad one refused', async () => {
  const daemon = await startDaemon({ env: { GRIT_DRAIN_TIMEOUT: '7' } });
  try {
    const { dir } = await initRepo();
    const other = grit(dir, ['daemon', 'start', '--json'], { env: { ...daemon.env, GRIT_DRAIN_TIMEOUT: '4' } });
    assert.equal(other.code, 0, other.stdout + other.stderr);
    assert.equal(other.json.data.started, false);
    assert.equal(other.stderr, `grit: warning: the daemon running (pid ${daemon.child!.pid}) has GRIT_DRAIN_TIMEOUT 7, not 4: \`grit daemon start --replace\` replaces it with one that has\n`);
    assert.deepEqual(other.json.data.settings_not_applied, [{ setting: 'GRIT_DRAIN_TIMEOUT', asked: 4, running: 7 }]);
    assert.equal(grit(dir, ['daemon', 'start', '--json'], { env: { ...daemon.env, GRIT_DRAIN_TIMEOUT: '7' } }).stderr, '');
    const bad = grit(dir, ['daemon', 'start', '--json'], { env: { ...daemon.env, GRIT_DRAIN_TIMEOUT: 'x' } });
    assert.equal(bad.code, 5, bad.stdout + bad.stderr);
    assert.equal(bad.json.error.code, 'ipc_error');
    assert.match(bad.json.error.message, /^GRIT_DRAIN_TIMEOUT must be a whole number of seconds up to 2147483 \(0 = no wait\), not "x"$/);
    assert.equal(gritOk(dir, ['daemon', 'status'], { env: daemon.env }).drain_timeout_s, 7, 'the running daemon untouched');
  } finally {
    await daemon.stop();
  }
});

// SIGHUP: the terminal `grit-daemon` was run in closed, or its ssh session was lost.
for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
  test(`${signal} drains in-flight writes, releases leases, flushes the store and removes the socket`, async () => {
    const daemon = await startDaemon();
    const { dir, actorDir } = await initRepo();
    const client = await daemon.client();
    await client.issueList({}, { repoRoot: dir });
    const writes = Array.from({ length: 40 }, (_, i) => client.issueCreate({ title: `t${i}` }, { repoRoot: dir }));
    await sleep(5);
    daemon.child!.kill(signal);
    const results = await Promise.allSettled(writes);
    assert.equal(await daemon.exited, 0);
    const ok = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ issue_id: string }>).value.issue_id);
    assert.ok(ok.length > 0, 'requests read before the signal were answered');
    const listed = gritOk(dir, ['issue', 'list']);
    for (const id of ok) assert.ok(listed.issues.some((i: { issue_id: string }) => i.issue_id === id));
    assert.equal(existsSync(join(actorDir, 'daemon.lock')), false);
    assert.equal(existsSync(join(actorDir, 'store.unsynced')), false, 'the store flushed');
    assert.equal(existsSync(join(daemon.runDir, 'daemon.sock')), false);
    assert.match(readFileSync(join(daemon.runDir, 'daemon.log'), 'utf8'), new RegExp(`"reason":"${signal}".*"msg":"daemon stopping"`));
    // The git spawn helper ends once the daemon has (its stdin closes), and takes its socket along.
    await until('the spawn helper going', () => !existsSync(gitSpawnerPath(daemon.env, daemon.child!.pid)));
  });
}

test('a daemon that holds the socket but does not answer (SIGSTOP): status, stop and start name it, not "no daemon"', async () => {
  const daemon = await startDaemon();
  const pid = daemon.child!.pid!;
  const dir = tempRepo();
  daemon.child!.kill('SIGSTOP');
  try {
    for (const cmd of ['status', 'stop', 'start']) {
      const r = await gritAsync(dir, ['daemon', cmd, '--json'], { env: daemon.env });
      assert.equal(r.code, 5, `daemon ${cmd}: ${r.stdout}${r.stderr}`);
      assert.equal(r.json.error.code, 'ipc_error');
      assert.equal(r.json.error.message, `daemon pid ${pid} holds ${daemon.endpoint} but does not answer: it is stopped (SIGSTOP or Ctrl-Z)`);
      assert.equal(r.json.error.details.pid, pid);
      assert.match(r.json.error.details.suggestion, new RegExp(`^\`kill -CONT ${pid}\` lets it go on`));
    }
    assert.equal(pidAlive(pid), true);
  } finally {
    daemon.child!.kill('SIGCONT');
  }
  // An older grit's daemon.pid, the pid alone: its process is told a daemon by its command line.
  writeFileSync(join(daemon.runDir, 'daemon.pid'), `${pid}\n`);
  daemon.child!.kill('SIGSTOP');
  try {
    const r = await gritAsync(dir, ['daemon', 'status', '--json'], { env: daemon.env });
    assert.equal(r.json.error.details.pid, pid, r.stdout);
  } finally {
    daemon.child!.kill('SIGCONT');
  }
  assert.deepEqual(gritOk(dir, ['daemon', 'stop'], { env: daemon.env }), { stopped: true, pid });
  assert.equal(existsSync(join(daemon.runDir, 'daemon.pid')), false, 'a stopped daemon takes its pid file along');
  // Gone, it is no daemon: not an error.
  assert.equal(gritOk(dir, ['daemon', 'status'], { env: daemon.env }).running, false);
});

test('a daemon.pid left by a killed daemon whose pid now names another process: status and stop never take it for the daemon, and remove the file', async () => {
  const runDir = testRunDir();
  const env = daemonEnv(runDir);
  const dir = tempRepo();
  const pidFile = join(runDir, 'daemon.pid');
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  const pid = other.pid!;
  const removed = `grit: warning: removed ${pidFile}: it named pid ${pid}, which is not a grit daemon (the daemon that wrote it was killed, and its pid reused since)\n`;
  // As an older grit wrote it (the pid alone), and as this one does, with the start of another process.
  const start = procStart(pid);
  const records = [`${pid}\n`, ...(start ? [JSON.stringify({ pid, ...start, proc_start_ticks: start.proc_start_ticks - 1 })] : [])];
  const holder = createServer(() => undefined);
  try {
    for (const record of records) {
      writeFileSync(pidFile, record);
      const status = grit(dir, ['daemon', 'status', '--json'], { env });
      assert.equal(status.json.data.running, false, status.stdout);
      assert.equal(status.stderr, removed);
      assert.equal(existsSync(pidFile), false, 'removed');
      writeFileSync(pidFile, record);
      assert.deepEqual(gritOk(dir, ['daemon', 'stop'], { env }), { stopped: false, pid: null });
      assert.equal(existsSync(pidFile), false, 'removed');
    }
    // A socket held by a process that does not answer: not named by that pid, nor `kill` suggested on it.
    holder.listen(join(runDir, 'daemon.sock'));
    await once(holder, 'listening');
    writeFileSync(pidFile, records.at(-1)!);
    const stop = await gritAsync(dir, ['daemon', 'stop', '--json'], { env });
    assert.equal(stop.code, 5, stop.stdout);
    assert.equal(stop.json.error.message, `a process holds ipc://${join(runDir, 'daemon.sock')} but does not answer`);
    assert.equal(stop.json.error.details.pid, null);
    assert.doesNotMatch(stop.json.error.details.suggestion, /kill/);
    assert.equal(pidAlive(pid), true, 'the other process runs on');
  } finally {
    holder.close();
    other.kill();
  }
});

test('a run directory the daemon cannot use: the command runs in-process at once, not after the spawn wait', async () => {
  const { dir } = await initRepo();
  const notADir = join(tempDir(), 'a-file');
  writeFileSync(notADir, '');
  // A spawn wait far longer than a command takes on a loaded host: sat out, it fails the check.
  const waitS = 60;
  const t0 = performance.now();
  const r = grit(dir, ['issue', 'list', '--json'], { env: daemonEnv(notADir, { GRIT_SPAWN_WAIT: String(waitS) }) });
  const ms = performance.now() - t0;
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.json.data.total, 0);
  assert.ok(ms < (waitS * 1000) / 2, `took ${ms.toFixed(0)} ms: it waited for a daemon that could not start`);
  // `daemon start` says why it cannot, rather than "did not answer within 5 s".
  const start = grit(dir, ['daemon', 'start', '--json'], { env: daemonEnv(notADir) });
  assert.equal(start.code, 5, start.stdout);
  assert.equal(start.json.error.message, `the daemon run directory ${notADir} is not a directory`);
});

test('a run directory of this user\'s with other modes (0500: no socket could be made there; 0777) is made 0700 again', () => {
  for (const mode of [0o500, 0o777]) {
    const runDir = testRunDir();
    chmodSync(runDir, mode);
    ensureRunDir(runDir);
    assert.equal(statSync(runDir).mode & 0o777, 0o700, `from 0${mode.toString(8)}`);
  }
});

test('daemon.log that cannot be opened (a directory there): the daemon refuses in one line naming it, `daemon start` says so, commands run here at once', async () => {
  const { dir } = await initRepo();
  const runDir = testRunDir();
  const log = join(runDir, 'daemon.log');
  mkdirSync(log);
  const message = `the daemon log ${log} cannot be opened (EISDIR)`;
  const env = daemonEnv(runDir, { GRIT_SPAWN_WAIT: '60' });
  const t0 = performance.now();
  const listed = grit(dir, ['issue', 'list', '--json'], { env });
  assert.equal(listed.code, 0, listed.stdout + listed.stderr);
  assert.equal(listed.json.data.total, 0);
  assert.ok(performance.now() - t0 < 30_000, 'it did not wait for a daemon that could not start');
  const start = grit(dir, ['daemon', 'start', '--json'], { env });
  assert.equal(start.code, 5, start.stdout);
  assert.equal(start.json.error.message, message);
  const daemon = spawnSync(process.execPath, [DAEMON_BIN], { env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(daemon.status, 5);
  assert.equal(daemon.stderr, `grit-daemon: ${message}\n`);
});

test('four `daemon start` at once: one daemon, and only the call that started it says so', async () => {
  const runDir = testRunDir();
  const env = daemonEnv(runDir);
  const dir = tempRepo();
  const starts = await Promise.all(Array.from({ length: 4 }, () => gritAsync(dir, ['daemon', 'start', '--json'], { env })));
  try {
    for (const s of starts) assert.equal(s.code, 0, s.stdout + s.stderr);
    const replies = starts.map((s) => s.json.data as { pid: number; started: boolean });
    assert.equal(new Set(replies.map((r) => r.pid)).size, 1, 'one daemon');
    assert.equal(replies.filter((r) => r.started).length, 1, JSON.stringify(replies));
    // The running daemon keeps its timeouts; a start that asks for others is told so.
    const status = gritOk(dir, ['daemon', 'status'], { env });
    assert.equal(status.idle_timeout_s, 300);
    const again = grit(dir, ['daemon', 'start', '--idle-timeout', '0', '--json'], { env });
    assert.equal(again.json.data.started, false);
    assert.match(again.stderr, /^grit: warning: the daemon running \(pid \d+\) has --idle-timeout 300, not 0: `grit daemon start --replace`/);
    assert.deepEqual(again.json.data.settings_not_applied, [{ setting: '--idle-timeout', asked: 0, running: 300 }]);
    const same = grit(dir, ['daemon', 'start', '--idle-timeout', '300', '--json'], { env });
    assert.equal(same.stderr, '');
    assert.deepEqual(same.json.data.settings_not_applied, []);
  } finally {
    gritOk(dir, ['daemon', 'stop'], { env });
  }
});

test('`daemon start` waits for the daemon it started when that one holds its socket a while before answering (a loaded host)', async () => {
  const runDir = testRunDir();
  // Preloaded into the daemon (and the CLI, which listens on nothing): once it listens on
  // daemon.sock, its event loop is held longer than one connection attempt waits for a handshake.
  const hold = join(tempDir(), 'hold-after-listen.cjs');
  writeFileSync(hold, `const net = require('node:net');
const listen = net.Server.prototype.listen;
let held = false;
net.Server.prototype.listen = function (...args) {
  this.once('listening', () => {
    if (held || !String(this.address()).endsWith('/daemon.sock')) return;
    held = true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2500);
  });
  return listen.apply(this, args);
};
`);
  const env = daemonEnv(runDir, { NODE_OPTIONS: `--require ${hold}`, GRIT_SPAWN_WAIT: '30' });
  const dir = tempRepo();
  const start = await gritAsync(dir, ['daemon', 'start', '--json'], { env });
  try {
    assert.equal(start.code, 0, start.stdout + start.stderr);
    assert.equal(start.json.data.started, true);
    assert.equal(start.json.data.running, true);
  } finally {
    grit(dir, ['daemon', 'stop', '--json'], { env: daemonEnv(runDir) });
  }
});

test('`daemon start` whose daemon loses the run directory to one started meanwhile (a CLI\'s): the settings it did not get are named, in --json too', async () => {
  const runDir = testRunDir();
  const env = daemonEnv(runDir, { GRIT_SPAWN_WAIT: '60' });
  const dir = tempRepo();
  // The start lock held here: the daemon `daemon start` spawns waits for it, having found none serving.
  mkdirSync(join(runDir, 'start.lock'));
  writeFileSync(join(runDir, 'start.lock', 'owner'), JSON.stringify({ pid: process.pid }));
  const start = gritAsync(dir, ['daemon', 'start', '--worker-idle-timeout', '7', '--json'], { env });
  await until('the daemon it spawned', () => existsSync(join(runDir, 'daemon.log')));
  // Meanwhile another daemon, with the default settings, takes the run directory (here, in this process).
  const other = await Supervisor.start({ endpoints: [`ipc://${join(runDir, 'daemon.sock')}`], idleTimeoutMs: 0, workerIdleTimeoutMs: 120_000, logger: pino({ level: 'silent' }) });
  try {
    rmSync(join(runDir, 'start.lock'), { recursive: true });
    const r = await start;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual([r.json.data.pid, r.json.data.started, r.json.data.worker_idle_timeout_s], [process.pid, false, 120]);
    assert.deepEqual(r.json.data.settings_not_applied, [{ setting: '--worker-idle-timeout', asked: 7, running: 120 }]);
    assert.match(r.stderr, /^grit: warning: the daemon running \(pid \d+\) has --worker-idle-timeout 120, not 7: `grit daemon start --replace`/);
  } finally {
    await other.stop('test');
  }
});

test('`daemon start --replace` while CLIs keep auto-starting daemons: the daemon running is replaced by one with the settings asked for', async () => {
  const old = await startDaemon();
  const { env, runDir } = old;
  const { dir } = await initRepo();
  // CLIs in a loop, each of which starts a default daemon whenever none answers.
  let busy = true;
  const traffic = Array.from({ length: 3 }, async () => {
    while (busy) {
      const r = await gritAsync(dir, ['issue', 'list', '--json'], { env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
  });
  try {
    await sleep(300);
    const r = await gritAsync(dir, ['daemon', 'start', '--replace', '--worker-idle-timeout', '7', '--json'], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual([r.json.data.started, r.json.data.worker_idle_timeout_s, r.json.data.settings_not_applied], [true, 7, []]);
    assert.equal(await old.exited, 0, 'the old daemon stopped');
    await sleep(300);
    const status = gritOk(dir, ['daemon', 'status'], { env });
    assert.deepEqual([status.pid, status.worker_idle_timeout_s], [r.json.data.pid, 7], 'no daemon came in between');
    assert.deepEqual(loggedPids(runDir, 'daemon listening'), [old.child!.pid, r.json.data.pid]);
  } finally {
    busy = false;
    await Promise.all(traffic);
    grit(dir, ['daemon', 'stop'], { env });
    await old.stop();
  }
});

/** The pids of the daemons that logged `msg` in the run directory's log. */
function loggedPids(runDir: string, msg: string): number[] {
  const lines = readFileSync(join(runDir, 'daemon.log'), 'utf8').trim().split('\n');
  return lines.map((l) => JSON.parse(l) as { msg: string; pid: number }).filter((e) => e.msg === msg).map((e) => e.pid);
}

const sockets = (runDir: string) => readdirSync(runDir).filter((name) => name.endsWith('.sock')).sort();

test('the start lock: of daemons starting at once over a lock left by a killed one, one holds it at a time', async () => {
  const runDir = testRunDir();
  const gone = spawn(process.execPath, ['-e', '']);
  await once(gone, 'exit');
  mkdirSync(join(runDir, 'start.lock'));
  writeFileSync(join(runDir, 'start.lock', 'owner'), JSON.stringify({ pid: gone.pid }));
  // Each holder makes a file only one process can make, and removes it before letting go.
  const lockModule = new URL('../../src/supervisor/start-lock.js', import.meta.url).href;
  const inside = join(runDir, 'inside');
  const script = `import { withStartLock } from ${JSON.stringify(lockModule)};
import { closeSync, openSync, rmSync } from 'node:fs';
for (let i = 0; i < 5; i++) {
  await withStartLock(${JSON.stringify(runDir)}, async () => {
    closeSync(openSync(${JSON.stringify(inside)}, 'wx'));
    await new Promise((r) => setTimeout(r, 5));
    rmSync(${JSON.stringify(inside)});
  });
}`;
  const starts = Array.from({ length: 8 }, () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    return new Promise<string>((resolve) => child.on('close', (code) => resolve(`${code} ${stderr}`)));
  });
  assert.deepEqual(await Promise.all(starts), Array(8).fill('0 '));
  assert.deepEqual(readdirSync(runDir).filter((name) => name.startsWith('start.lock')).length, 1, 'only the killed lock\'s tombstone is left');
});

test('sockets and a start lock left by killed daemons, then a burst of CLIs: one daemon owns all of the run directory, and none runs unreachable', async () => {
  const { dir } = await initRepo();
  const killed = await startDaemon();
  const { runDir, env } = killed;
  const killedPid = killed.child!.pid!;
  killed.child!.kill('SIGKILL');
  await killed.exited;
  // And the start lock of a daemon killed while it started.
  mkdirSync(join(runDir, 'start.lock'));
  writeFileSync(join(runDir, 'start.lock', 'owner'), JSON.stringify({ pid: killedPid }));
  const burst = await Promise.all(Array.from({ length: 12 }, () => gritAsync(dir, ['issue', 'list', '--json'], { env })));
  for (const r of burst) assert.equal(r.code, 0, r.stdout + r.stderr);
  const status = gritOk(dir, ['daemon', 'status'], { env });
  try {
    assert.equal(status.running, true);
    // (The killed daemon's own line may not have reached the log.)
    const started = loggedPids(runDir, 'daemon listening').filter((pid) => pid !== killedPid);
    assert.deepEqual(started, [status.pid], 'one daemon started; the others found it serving');
    // The notifications a watcher gets are that daemon's, and its spawn helper listens.
    const kinds: string[] = [];
    const watch = await GritClient.subscribe((n) => kinds.push(n.kind), { endpoint: `ipc://${join(runDir, 'events.sock')}` });
    gritOk(dir, ['issue', 'create', '--title', 'watched'], { env });
    await until('the notification', () => kinds.includes('EventApplied'));
    watch.close();
    const helper = gitSpawnerPath(env, status.pid);
    await until("the daemon's spawn helper", () => listening(helper));
    await until("the killed daemon's spawn helper going", () => !existsSync(gitSpawnerPath(env, killedPid)));
    assert.deepEqual(sockets(runDir), ['daemon.sock', 'events.sock', basename(helper)]);
  } finally {
    gritOk(dir, ['daemon', 'stop'], { env });
  }
  assert.deepEqual(loggedPids(runDir, 'daemon listening').filter(pidAlive), [], 'no daemon outlives `daemon stop`');
});

test('events.sock held by another process: the daemon does not start, and says why; the command runs here at once', async () => {
  const runDir = testRunDir();
  const env = daemonEnv(runDir);
  const { dir } = await initRepo();
  const holder = createServer().listen(join(runDir, 'events.sock'));
  await once(holder, 'listening');
  try {
    const created = await gritAsync(dir, ['issue', 'create', '--title', 'here', '--json'], { env });
    assert.equal(created.code, 0, created.stdout);
    assert.match(created.stderr, /^grit: warning: the daemon could not start \(\S+\/events\.sock is in use by a live process\); ran the command here/);
    const start = await gritAsync(dir, ['daemon', 'start', '--json'], { env });
    assert.equal(start.code, 5, start.stdout);
    assert.equal(start.json.error.details.reason, `${join(runDir, 'events.sock')} is in use by a live process`);
    assert.deepEqual(sockets(runDir), ['events.sock'], 'the failed starts bound nothing, and left nothing');
    assert.equal(gritOk(dir, ['daemon', 'status'], { env }).running, false);
  } finally {
    holder.close();
  }
});

test('a stopping daemon answers until it has let go of the run directory: commands meanwhile run here, none is dropped, no other daemon starts', async () => {
  const { dir } = await initRepo();
  // A sync whose ssh "connection" lasts until the test is done: the request in flight the daemon waits for.
  const go = join(tempDir(), 'go');
  git(dir, 'remote', 'add', 'origin', 'ssh://grit.invalid/r.git');
  git(dir, 'config', 'core.sshCommand', `while [ ! -e ${go} ]; do sleep 0.05; done; false`);
  const daemon = await startDaemon();
  const { runDir, env } = daemon;
  const client = await daemon.client();
  try {
    const sync = client.request('Sync', {}, { repoRoot: dir }).then(
      () => 'ok',
      (err: GritError) => err.code,
    );
    await until('the sync reaching its worker', async () => ((await client.status()) as { workers: unknown[] }).workers.length === 1);
    daemon.child!.kill('SIGTERM');
    const during = await Promise.all(Array.from({ length: 4 }, (_, i) => gritAsync(dir, ['issue', 'create', '--title', `during ${i}`, '--json'], { env })));
    assert.equal(daemon.child!.exitCode, null, 'these ran while the daemon stopped');
    for (const r of during) assert.equal(r.code, 0, r.stdout + r.stderr);
    writeFileSync(go, '');
    assert.equal(await sync, 'git_error', 'the request in flight got its answer');
    client.close();
    assert.equal(await daemon.exited, 0);
    assert.deepEqual(loggedPids(runDir, 'daemon listening'), [daemon.child!.pid], 'no daemon started while it stopped');
    assert.deepEqual(loggedPids(runDir, 'daemon did not start'), []);
    const listed = gritOk(dir, ['issue', 'list'], { env });
    assert.equal(listed.issues.filter((i: { title: string }) => i.title.startsWith('during ')).length, 4);
    const next = gritOk(dir, ['daemon', 'status'], { env });
    assert.ok(next.running && next.pid !== daemon.child!.pid, 'the next command started a daemon of its own');
  } finally {
    writeFileSync(go, '');
    client.close();
    await daemon.stop();
    gritOk(dir, ['daemon', 'stop'], { env });
  }
});

test('a daemon whose socket file is removed stops, rather than run on unreachable; the next command starts another', async () => {
  const { dir } = await initRepo();
  const daemon = await startDaemon();
  try {
    gritOk(dir, ['issue', 'list'], { env: daemon.env });
    rmSync(join(daemon.runDir, 'daemon.sock'));
    await until('the daemon stopping', () => daemon.child!.exitCode !== null);
    assert.equal(daemon.child!.exitCode, 0);
    gritOk(dir, ['issue', 'list'], { env: daemon.env });
    const status = gritOk(dir, ['daemon', 'status'], { env: daemon.env });
    assert.ok(status.running && status.pid !== daemon.child!.pid);
  } finally {
    await daemon.stop();
    gritOk(dir, ['daemon', 'stop'], { env: daemon.env });
  }
});

test('the idle timeout stops the daemon; the CLI auto-spawns one when none runs', async () => {
  const runDir = testRunDir();
  const { dir } = await initRepo();
  const env = daemonEnv(runDir);
  const t0 = Date.now();
  const created = gritOk(dir, ['issue', 'create', '--title', 'spawned'], { env });
  const status = gritOk(dir, ['daemon', 'status'], { env });
  assert.equal(status.running, true, `auto-spawned (first call ${Date.now() - t0} ms)`);
  assert.deepEqual(status.workers.map((w: { repo_root: string }) => w.repo_root), [dir]);
  assert.ok(gritOk(dir, ['issue', 'show', created.issue_id], { env }).issue);
  gritOk(dir, ['daemon', 'stop'], { env });
  assert.equal(gritOk(dir, ['daemon', 'status'], { env }).running, false);

  // A connected client keeps the daemon up: connected while the first start is still running, the
  // test holds it up for the second, which on a loaded machine may begin more than the 1 s idle
  // timeout after the first ended. Once the test lets go, the daemon exits by itself.
  const starting = gritAsync(dir, ['daemon', 'start', '--idle-timeout', '1', '--json'], { env });
  let first: Awaited<typeof starting> | undefined;
  void starting.then((r) => (first = r));
  let holder: GritClient | undefined;
  await until('connected to the daemon being started', async () => {
    holder = await GritClient.connect({ endpoint: `ipc://${join(runDir, 'daemon.sock')}`, connectTimeoutMs: 1_000 }).catch(() => undefined);
    return holder !== undefined || first !== undefined;
  });
  const started = (await starting).json?.data;
  assert.equal(started?.started, true, first?.stdout);
  assert.ok(holder, 'connected before the first start was done');
  const again = gritOk(dir, ['daemon', 'start'], { env });
  assert.equal(again.started, false, 'a second start finds the running daemon');
  assert.equal(again.pid, started.pid);
  assert.equal(again.idle_timeout_s, 1);
  assert.ok(alive(started.pid), 'a connected client keeps the daemon up');
  holder!.close();
  await until('the idle daemon exiting', () => !alive(started.pid));
  assert.equal(grit(dir, ['daemon', 'start', '--idle-timeout', 'x'], { env }).code, 2);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('--tcp host:0 (or a bracketed IPv6 host) is reported, in status and the log, as the endpoint it listens on, with the port the system picked', async () => {
  const starts = await Promise.allSettled(['127.0.0.1', '[::1]'].map((host) => startDaemon({ args: ['--tcp', `${host}:0`] }).then((daemon) => ({ daemon, host }))));
  try {
    for (const start of starts) {
      if (start.status === 'rejected') throw start.reason;
      const { daemon, host } = start.value;
      const status = gritOk(tempDir(), ['daemon', 'status'], { env: daemon.env });
      assert.equal(status.endpoints.length, 2, JSON.stringify(status.endpoints));
      const [ipc, tcp] = status.endpoints as string[];
      assert.equal(ipc, daemon.endpoint);
      assert.ok(tcp.startsWith(`tcp://${host}:`), tcp);
      assert.match(tcp.slice(`tcp://${host}:`.length), /^[1-9]\d*$/, 'the port picked, not 0');
      const client = await GritClient.connect({ endpoint: tcp });
      try {
        assert.equal((await client.status()).pid, daemon.child!.pid);
      } finally {
        client.close();
      }
      assert.ok(readFileSync(join(daemon.runDir, 'daemon.log'), 'utf8').includes(JSON.stringify([ipc, tcp])), 'the log names the port');
    }
  } finally {
    await Promise.all(starts.map((start) => start.status === 'fulfilled' && start.value.daemon.stop()));
  }
  const refused = spawnSync(process.execPath, [DAEMON_BIN, '--tcp', '127.0.0.1:99999'], { env: { ...process.env, ...daemonEnv(testRunDir()) }, encoding: 'utf8' });
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /^grit-daemon: --tcp must be host:port \(a port up to 65535, an IPv6 host in brackets\), got 127\.0\.0\.1:99999\n/);
});

test('nngcat scripts the daemon with JSON', async (t) => {
  if (!nngcatAvailable()) return t.skip('GRIT_SKIP_NNGCAT=1 and nngcat not installed');
  const daemon = await startDaemon();
  const { dir } = await initRepo();
  try {
    const request = (command: object) =>
      JSON.stringify({ ipc_schema_version: 1, request_id: 'n1', repo_root: dir, command });
    const created = spawnNngcat(['--req', '--connect', daemon.endpoint, '--data', request({ IssueCreate: { title: 'from nngcat', labels: [] } }), '--ascii']);
    const r = await created.done;
    const reply = JSON.parse(r.stdout.toString('utf8'));
    assert.equal(reply.ok, true, r.stdout.toString());
    assert.equal(reply.request_id, 'n1');
    const listed = spawnNngcat(['--req', '--connect', daemon.endpoint, '--data', request({ IssueList: {} }), '--ascii']);
    const l = JSON.parse((await listed.done).stdout.toString('utf8'));
    assert.equal(l.data.issues[0].title, 'from nngcat');
    assert.equal(l.data.issues[0].issue_id, reply.data.issue_id);
    // SPEC §7's own example: requests about the daemon are for no repository.
    const ask = async (command: object) => {
      const out = await spawnNngcat(['--req', '--connect', daemon.endpoint, '--data', JSON.stringify({ ipc_schema_version: 1, request_id: 's', command }), '--ascii']).done;
      return JSON.parse(out.stdout.toString('utf8'));
    };
    const status = await ask({ DaemonStatus: {} });
    assert.equal(status.ok, true, JSON.stringify(status));
    assert.equal(status.data.pid, daemon.child!.pid);
    // DaemonStart finds it running: it keeps its idle timeout (0 here), and the reply warns, as the CLI does.
    const start = await ask({ DaemonStart: { idle_timeout: 60 } });
    assert.equal(start.ok, true, JSON.stringify(start));
    assert.equal(start.data.started, false);
    assert.deepEqual(start.warnings, [`the daemon running (pid ${daemon.child!.pid}) has --idle-timeout 0, not 60: \`grit daemon start --replace\` replaces it with one that has`]);
    assert.deepEqual(start.data.settings_not_applied, [{ setting: '--idle-timeout', asked: 60, running: 0 }]);
    assert.equal((await ask({ DaemonStart: { idle_timeout: 0 } })).warnings, undefined);
    // It cannot replace itself: that is done by the daemon that starts in its place.
    const replace = await ask({ DaemonStart: { replace: true } });
    assert.deepEqual([replace.error.code, replace.error.details.field], ['invalid_args', 'replace']);
    assert.equal((await ask({ DaemonStart: { idle_timeout: 'soon' } })).error.code, 'invalid_args');
  } finally {
    await daemon.stop();
  }
});

test('daemon.log past its cap is rotated to daemon.log.1 by the daemon that starts serving, which logs into a new one', async () => {
  const runDir = testRunDir();
  const log = join(runDir, 'daemon.log');
  const line = `${JSON.stringify({ msg: 'an old line' })}\n`;
  const old = line.repeat(Math.ceil(LOG_MAX_BYTES / line.length));
  writeFileSync(log, old, { mode: 0o600 });
  const daemon = await startDaemon({ runDir });
  try {
    assert.equal(readFileSync(`${log}.1`, 'utf8'), old);
    await until('its start logged', () => loggedPids(runDir, 'daemon listening').includes(daemon.child!.pid!));
    assert.equal(statSync(log).mode & 0o777, 0o600);
    assert.ok(statSync(log).size < 4096, `${statSync(log).size} bytes`);
  } finally {
    await daemon.stop();
  }
});

test('rotateIfLarge: a log written through pino rotates once at its cap, and lines go on into the new file, none lost', async () => {
  const path = join(tempDir(), 'daemon.log');
  // Written synchronously, so the sizes are known when it is checked (the daemon's writes asynchronously: the check is periodic).
  const destination = pino.destination({ dest: path, sync: true, mode: 0o600 });
  const logger = pino({}, destination);
  for (let i = 0; i < 50; i++) logger.info({ i }, 'before');
  assert.equal(rotateIfLarge(path, destination, 1 << 20), false, 'under the cap');
  assert.equal(rotateIfLarge(path, destination, 1024), true);
  for (let i = 0; i < 5; i++) logger.info({ i }, 'after');
  const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).msg as string);
  assert.deepEqual(lines(`${path}.1`), Array(50).fill('before'));
  assert.deepEqual(lines(path), Array(5).fill('after'));
  assert.equal(statSync(path).mode & 0o777, 0o600);
  destination.end();
});
