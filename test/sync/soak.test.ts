import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLocal } from '../../src/commands/run.js';
import { fsckClean, git } from '../helpers/repo.js';
import { eventIds, network, walEvents } from './_helpers.js';

const WORKER = fileURLToPath(new URL('./_soak-worker.js', import.meta.url));
const CLONES = 6;
const EDITS = 15;

interface WorkerReport {
  events_written: number;
  syncs: number;
  sync_conflicts: number;
  events_rebased: number;
  push_retries: number;
  ms: number;
}

function worker(clone: string, seed: number): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [WORKER, clone, String(seed), String(EDITS)], { env: { ...process.env, GRIT_NO_DAEMON: '1' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`worker ${seed} failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!));
    });
  });
}

/** Everything a clone shows: the issue list and every issue with its events. */
async function view(clone: string): Promise<unknown> {
  const opts = { cwd: clone };
  const list = (await runLocal('IssueList', {}, opts)) as { issues: { issue_id: string }[] };
  const shows = [];
  for (const i of list.issues) shows.push(await runLocal('IssueShow', { issue_id: i.issue_id }, opts));
  return { list, shows };
}

test(`convergence soak: ${CLONES} clones x ${EDITS} random edits, syncing at random moments, all at once`, { timeout: 120_000 }, async () => {
  const started = Date.now();
  const { remote, clones } = await network(CLONES);
  const reports = await Promise.all(clones.map((c, i) => worker(c, 1000 + i)));
  const soakMs = Date.now() - started;
  const written = reports.reduce((n, r) => n + r.events_written, 0);
  assert.equal(written, CLONES * EDITS);

  // Every clone syncs twice, one after the other.
  for (let round = 0; round < 2; round++) for (const c of clones) await runLocal('Sync', {}, { cwd: c });

  // The remote WAL: linear, every event exactly once, fsck clean.
  const remoteEvents = eventIds(await walEvents(remote));
  assert.equal(remoteEvents.length, written);
  assert.equal(new Set(remoteEvents).size, written);
  assert.equal(git(remote, 'rev-list', '--merges', 'refs/grit/wal').trim(), '');
  git(remote, 'fsck', '--full', '--no-progress');

  const head = git(remote, 'rev-parse', 'refs/grit/wal').trim();
  const first = await view(clones[0]);
  for (const c of clones) {
    assert.equal(git(c, 'rev-parse', 'refs/grit/wal').trim(), head);
    const local = eventIds(await walEvents(join(c, '.git')));
    assert.deepEqual(local, remoteEvents);
    const stats = (await runLocal('DbStats', {}, { cwd: c })) as { event_count: number };
    assert.equal(stats.event_count, written);
    assert.deepEqual(await view(c), first);
    fsckClean(c);
  }
  const syncs = reports.reduce((n, r) => n + r.syncs, 0);
  const conflicts = reports.reduce((n, r) => n + r.sync_conflicts, 0);
  const rebased = reports.reduce((n, r) => n + r.events_rebased, 0);
  const retries = reports.reduce((n, r) => n + r.push_retries, 0);
  assert.ok(rebased > 0, 'the soak should exercise rebases');
  console.log(`soak: ${written} events, ${syncs} random syncs (${conflicts} gave up), ${rebased} events rebased, ${retries} push retries, workers ${soakMs} ms, total ${Date.now() - started} ms`);
});
