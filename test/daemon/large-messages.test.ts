/**
 * Large messages through the daemon: a reply larger than any request (an issue with a body of
 * megabytes, shown) comes back whole; a request the daemon would not read, and a reply larger
 * than it sends, make the CLI run the command in-process, with the local result. Never a hang.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import { ActorWorkerPool } from '../../src/supervisor/actor-worker-pool.js';
import type { WorkerTask } from '../../src/workers/actor-worker.js';
import { GritClient } from '../../src/protocol/client.js';
import { decodeReply } from '../../src/protocol/messages.js';
import { ReqClient } from '../../src/protocol/transport/index.js';
import { encode } from '../../src/core/plain-cbor.js';
import { nngcatAvailable, spawnNngcat } from '../transport/_helpers.js';
import { daemonEnv, startDaemon, testRunDir, type TestDaemon } from '../helpers/daemon.js';
import { GRIT_BIN } from '../helpers/paths.js';
import { grit, gritAsync, gritOk, tempRepo, type GritResult, gritInit } from '../helpers/repo.js';

const MB = 1024 * 1024;

/** grit with a deadline: a client left waiting for a reply that never comes fails the test, not the suite. */
function gritWithin(cwd: string, args: string[], env: NodeJS.ProcessEnv): GritResult & { timedOut: boolean } {
  const r = spawnSync(process.execPath, [GRIT_BIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env, GRIT_HOME: undefined }, timeout: 60_000, maxBuffer: 256 * MB });
  let json: any = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    /* not JSON */
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json, timedOut: r.error !== undefined };
}

describe('large messages through the daemon', () => {
  const repo = tempRepo();
  let id = '';
  let daemon: TestDaemon;

  before(async () => {
    await gritInit(repo);
    // 9 MiB of body: an `issue show` reply holds it twice (the issue and its first event), over 16 MiB.
    writeFileSync(join(repo, 'body.txt'), 'large body line\n'.repeat((9 * MB) / 16));
    id = gritOk(repo, ['issue', 'create', '--title', 'large', '--body-file', 'body.txt']).issue_id;
    daemon = await startDaemon();
  });
  after(() => daemon?.stop());

  it('a reply over 16 MiB comes back whole', () => {
    const local = gritWithin(repo, ['issue', 'show', id, '--json'], { GRIT_NO_DAEMON: '1' });
    const viaDaemon = gritWithin(repo, ['issue', 'show', id, '--json'], daemon.env);
    assert.equal(viaDaemon.timedOut, false, 'the CLI waited for a reply that never came');
    assert.equal(viaDaemon.code, 0, viaDaemon.stderr);
    assert.ok(viaDaemon.stdout.length > 16 * MB);
    assert.equal(viaDaemon.stdout, local.stdout);
  });

  it('a request over 16 MiB runs in-process: the same error as --no-daemon, the daemon unharmed', async () => {
    writeFileSync(join(repo, 'huge.txt'), 'x'.repeat(17 * MB));
    const args = ['issue', 'create', '--title', 'too large', '--body-file', 'huge.txt', '--json'];
    const local = grit(repo, args);
    const viaDaemon = gritWithin(repo, args, daemon.env);
    assert.equal(local.code, 2);
    assert.equal(viaDaemon.code, local.code, viaDaemon.stdout);
    assert.equal(viaDaemon.json.error.code, 'invalid_args');
    assert.equal(viaDaemon.json.error.message, local.json.error.message);
    const client = await daemon.client();
    try {
      assert.equal(((await client.status()) as { running: boolean }).running, true);
    } finally {
      client.close();
    }
  });

  it('a request over 16 MiB from any client gets an ipc_error reply, and its connection goes on', async (t) => {
    if (!nngcatAvailable()) return t.skip('GRIT_SKIP_NNGCAT=1 and nngcat not installed');
    const request = (command: object) => ({ ipc_schema_version: 1, request_id: 'big', repo_root: repo, command });
    const file = join(repo, 'big-request.json');
    writeFileSync(file, JSON.stringify(request({ IssueCreate: { title: 't', body: 'x'.repeat(17 * MB) } })));
    // nngcat, SPEC §7's example client, gets the answer instead of waiting for its timeout.
    const r = await spawnNngcat(['--req', '--connect', daemon.endpoint, '--file', file, '--raw', '--recv-timeout', '20'], 30_000).done;
    assert.equal(r.code, 0, r.stderr);
    const reply = JSON.parse(r.stdout.toString('utf8'));
    assert.equal(reply.ok, false);
    assert.equal(reply.request_id, null);
    assert.equal(reply.error.code, 'ipc_error');
    assert.match(reply.error.message, /^a request of \d{8} bytes exceeds the daemon's limit of 16 MiB \(16777216 bytes\)$/);
    assert.equal(reply.error.details.fallback, true);

    // A CBOR one is answered in CBOR, and the same connection serves the next request.
    const raw = await ReqClient.connect(daemon.endpoint, { maxMessageSize: 64 * MB });
    try {
      const refused = await decodeReply(await raw.request(Buffer.from(encode(request({ IssueCreate: { title: 't', body: 'y'.repeat(17 * MB) } }))), { timeoutMs: 20_000 }));
      assert.equal(refused.ok, false);
      assert.equal(refused.ok === false && refused.error.code, 'ipc_error');
      const listed = await decodeReply(await raw.request(Buffer.from(encode(request({ IssueList: {} }))), { timeoutMs: 20_000 }));
      assert.equal(listed.ok, true);
    } finally {
      raw.close();
    }

    // GritClient does not send one: the same error, without the 17 MiB on the socket; the client goes on.
    const client = await daemon.client();
    try {
      await assert.rejects(client.request('IssueCreate', { title: 't', body: 'z'.repeat(17 * MB) }, { repoRoot: repo }), (err: any) => {
        assert.equal(err.code, 'ipc_error');
        assert.match(err.message, /^the IssueCreate request of \d{8} bytes exceeds the daemon's limit of 16 MiB/);
        assert.equal(err.details.fallback, true);
        assert.equal(err.details.limit, reply.error.details.limit);
        return true;
      });
      assert.equal(((await client.status()) as { running: boolean }).running, true);
    } finally {
      client.close();
    }
  });

  it('concurrent writes that each fit in a chunk, but not together, are committed in several', async () => {
    const client = await daemon.client();
    try {
      const body = 'z'.repeat(3 * MB);
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => client.issueCreate({ title: `big ${i}`, body }, { repoRoot: repo })));
      const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
      assert.deepEqual(failed, []);
      const heads = new Set(results.map((r) => (r as PromiseFulfilledResult<{ wal_head: string }>).value.wal_head));
      assert.ok(heads.size >= 4, `${heads.size} commits for 30 MB`);
    } finally {
      client.close();
    }
  });

  describe('a daemon in this process, sending replies of up to 64 KiB', () => {
    // Another repository: the daemon above holds this one's actor.
    const other = tempRepo();
    const runDir = testRunDir();
    const endpoint = `ipc://${join(runDir, 'daemon.sock')}`;
    let otherId = '';
    let supervisor: Supervisor;

    before(async () => {
      await gritInit(other);
      otherId = gritOk(other, ['issue', 'create', '--title', 'over 64 KiB', '--body', 'y'.repeat(100_000)]).issue_id;
      supervisor = await Supervisor.start({ endpoints: [endpoint], idleTimeoutMs: 0, logger: pino({ level: 'silent' }), maxReplyBytes: 64 * 1024 });
    });
    after(() => supervisor?.stop('test over'));

    it('a reply over what the daemon sends is an ipc_error that sends the CLI local', async () => {
      const client = await GritClient.connect({ endpoint });
      try {
        await assert.rejects(client.request('IssueShow', { issue_id: otherId }, { repoRoot: other }), (err: any) => {
          assert.equal(err.code, 'ipc_error');
          assert.equal(err.details.fallback, true);
          return true;
        });
        // Small replies still come from the daemon.
        assert.equal(((await client.request('IssueList', {}, { repoRoot: other })) as { total: number }).total, 1);
      } finally {
        client.close();
      }
      // Not spawnSync: the daemon runs in this process, and must answer while the CLI waits.
      const viaDaemon = await gritAsync(other, ['issue', 'show', otherId, '--json'], { env: daemonEnv(runDir) });
      assert.equal(viaDaemon.code, 0, viaDaemon.stderr);
      assert.equal(viaDaemon.stdout, grit(other, ['issue', 'show', otherId, '--json']).stdout);
    });

    it('a worker that encoded a large CBOR reply posts the next small one as exactly its bytes, not the buffer the large one grew', async (t) => {
      const posted: Uint8Array[] = [];
      const run = ActorWorkerPool.prototype.run;
      t.mock.method(ActorWorkerPool.prototype, 'run', async function (this: ActorWorkerPool, task: WorkerTask) {
        const result = await run.call(this, task);
        if (result) posted.push(result.reply);
        return result;
      });
      const client = await GritClient.connect({ endpoint });
      try {
        await assert.rejects(client.request('IssueShow', { issue_id: otherId }, { repoRoot: other }));
        await client.request('IssueList', {}, { repoRoot: other });
      } finally {
        client.close();
      }
      const [large, small] = posted;
      assert.ok(large.length > 100_000, `${large.length} bytes`);
      // What structured clone copied from the worker: the whole buffer of a view (the encoder's,
      // ~4x the largest value it wrote), once per reply.
      assert.equal(small.buffer.byteLength, small.length, `a ${small.length}-byte reply came in a ${small.buffer.byteLength}-byte buffer`);
      assert.equal(large.buffer.byteLength, large.length);
    });
  });
});
