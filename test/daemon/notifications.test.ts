/** The daemon's PUB notifications, through GritClient.subscribe and `grit watch`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { git, gritOk, tempDir, tempRepo } from '../helpers/repo.js';
import { startDaemon } from '../helpers/daemon.js';
import { GRIT_BIN } from '../helpers/paths.js';
import { GritClient } from '../../src/protocol/client.js';
import type { Notification } from '../../src/protocol/notifications.js';
import { sleep } from '../transport/_helpers.js';

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await sleep(20);
}

test('writes, syncs, locks and snapshots are published; kinds can be selected', async () => {
  const daemon = await startDaemon();
  const repo = tempRepo();
  const remote = join(tempDir('grit-remote-'), 'r.git');
  git(tempDir(), 'init', '-q', '--bare', remote);
  git(repo, 'remote', 'add', 'origin', remote);
  gritOk(repo, ['init', '--no-agents-md']);
  const endpoint = `ipc://${join(daemon.runDir, 'events.sock')}`;
  try {
    const all: Notification[] = [];
    const locks: Notification[] = [];
    const w1 = await GritClient.subscribe((n) => all.push(n), { endpoint });
    const w2 = await GritClient.subscribe((n) => locks.push(n), { endpoint, kinds: ['LockChanged'] });
    const watcher = spawn(process.execPath, [GRIT_BIN, 'watch', '--json'], {
      cwd: repo,
      env: { ...process.env, ...daemon.env },
    });
    let watched = '';
    watcher.stdout.on('data', (d) => (watched += d));
    let ready = false;
    watcher.stderr.on('data', () => (ready = true));
    await until(() => ready);
    assert.ok(ready, '`grit watch` subscribed');

    const client = await daemon.client();
    const target = { repoRoot: repo };
    const created = await client.issueCreate({ title: 'watched' }, target);
    await client.request('LockAcquire', { resource: 'path:src', local: true }, target);
    await client.request('Sync', {}, target);
    await client.request('Snapshot', {}, target);
    await client.issueList({}, target); // reads publish nothing
    await until(() => all.length >= 4 && watched.split('\n').filter(Boolean).length >= 4);

    assert.deepEqual(all.map((n) => n.kind), ['EventApplied', 'LockChanged', 'WalSynced', 'SnapshotCreated']);
    assert.equal(all[0].event_id, created.event_id);
    assert.equal(all[0].issue_id, created.issue_id);
    assert.equal(all[0].repo_root, repo);
    assert.equal((all[1].lock as { resource: string }).resource, 'path:src');
    assert.equal(all[2].pushed, 1);
    assert.deepEqual(locks.map((n) => n.kind), ['LockChanged']);
    const lines = watched.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((n) => n.kind), ['EventApplied', 'LockChanged', 'WalSynced', 'SnapshotCreated']);

    // A watcher keeps an idle daemon up; when the daemon stops, the watch ends cleanly.
    client.close();
    w2.close();
    const exited = new Promise<number | null>((r) => watcher.on('exit', (code) => r(code)));
    await daemon.stop();
    assert.equal(await exited, 0, '`grit watch` ends with the daemon');
    await w1.ended;
  } finally {
    await daemon.stop();
  }
});
