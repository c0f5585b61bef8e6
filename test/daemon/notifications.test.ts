/** The daemon's PUB notifications, through GritClient.subscribe and `grit watch`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { git, grit, gritAsync, gritOk, tempDir, tempRepo, twoWorktrees, gritInit } from '../helpers/repo.js';
import { daemonEnv, daemonPausingSyncs, startDaemon, testRunDir } from '../helpers/daemon.js';
import { GRIT_BIN } from '../helpers/paths.js';
import { GritClient } from '../../src/protocol/client.js';
import type { Notification } from '../../src/protocol/notifications.js';
import { until } from '../helpers/wait.js';
import { newProgressToken, progressTopic, type ProgressStep } from '../../src/protocol/progress.js';
import { rejectionOf } from '../helpers/rejection.js';
import { SubClient } from '../../src/protocol/transport/index.js';

test('writes, syncs, locks and snapshots are published; kinds can be selected', async () => {
  const daemon = await startDaemon();
  const repo = tempRepo();
  const remote = join(tempDir('grit-remote-'), 'r.git');
  git(tempDir(), 'init', '-q', '--bare', remote);
  git(repo, 'remote', 'add', 'origin', remote);
  await gritInit(repo);
  const endpoint = `ipc://${join(daemon.runDir, 'events.sock')}`;
  try {
    const all: Notification[] = [];
    const locks: Notification[] = [];
    const w1 = await GritClient.subscribe((n) => all.push(n), { endpoint });
    const w2 = await GritClient.subscribe((n) => locks.push(n), { endpoint, kinds: ['LockChanged'] });
    // In the repository: its notifications only; with --all, every repository's.
    const watchers = [['watch', '--json'], ['watch', '--json', '--all']].map((args) => {
      const child = spawn(process.execPath, [GRIT_BIN, ...args], { cwd: repo, env: { ...process.env, ...daemon.env } });
      const w = { child, out: '', err: '', ready: false };
      child.stdout.on('data', (d) => (w.out += d));
      child.stderr.on('data', (d) => {
        w.err += d;
        w.ready = true;
      });
      return w;
    });
    const [watcher, everything] = watchers.map((w) => w.child);
    await until('`grit watch` subscribed', () => watchers.every((w) => w.ready));

    const client = await daemon.client();
    const other = tempRepo();
    await gritInit(other);
    await client.issueCreate({ title: 'elsewhere' }, { repoRoot: other });
    const target = { repoRoot: repo };
    const created = await client.issueCreate({ title: 'watched' }, target);
    await client.request('LockAcquire', { resource: 'path:src', local: true }, target);
    await client.request('Sync', {}, target);
    await client.request('Snapshot', {}, target);
    await client.issueList({}, target); // reads publish nothing
    const lines = (w: { out: string }) => w.out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Notification);
    await until('the notifications', () => all.length >= 5 && lines(watchers[0]).length >= 4 && lines(watchers[1]).length >= 5);

    assert.equal(all.shift()?.repo_root, other);
    assert.deepEqual(all.map((n) => n.kind), ['EventApplied', 'LockChanged', 'WalSynced', 'SnapshotCreated']);
    assert.equal(all[0].event_id, created.event_id);
    assert.equal(all[0].issue_id, created.issue_id);
    assert.equal(all[0].repo_root, repo);
    assert.equal((all[1].lock as { resource: string }).resource, 'path:src');
    assert.equal(all[2].pushed, 1);
    assert.deepEqual(locks.map((n) => n.kind), ['LockChanged']);
    assert.deepEqual(lines(watchers[0]).map((n) => n.kind), ['EventApplied', 'LockChanged', 'WalSynced', 'SnapshotCreated']);
    assert.deepEqual(lines(watchers[1]).map((n) => n.repo_root), [other, repo, repo, repo, repo]);

    // A watcher keeps an idle daemon up; when the daemon stops, the watch ends, saying so (exit 1).
    client.close();
    w2.close();
    const exited = [watcher, everything].map((c) => new Promise<number | null>((r) => c.on('exit', (code) => r(code))));
    await daemon.stop();
    assert.deepEqual(await Promise.all(exited), [1, 1], '`grit watch` ends with the daemon, as an ipc_error');
    for (const w of watchers) assert.match(w.err, /^error: the daemon went away: no more notifications\nhint: /m, w.err);
    assert.equal(lines(watchers[0]).length, 4, 'stdout holds notifications only');
    await w1.ended;
  } finally {
    await daemon.stop();
  }
});

test('`grit watch` shows a repository path\'s escapes and line breaks on its line, never sends them to the terminal, at the local time', async () => {
  const daemon = await startDaemon();
  const repo = join(tempDir(), 'evil\u001b[2J\u001b]0;title\u0007\nname');
  git(tempDir(), 'init', '-q', repo);
  await gritInit(repo);
  try {
    // A zone far from UTC, half an hour out: the time shown is the watcher's local one.
    const child = spawn(process.execPath, [GRIT_BIN, 'watch', '--all'], { cwd: repo, env: { ...process.env, ...daemon.env, TZ: 'Asia/Kolkata' } });
    let out = '';
    let ready = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', () => (ready = true));
    await until('`grit watch` subscribed', () => ready);
    const client = await daemon.client();
    await client.issueCreate({ title: 'watched' }, { repoRoot: repo });
    client.close();
    await until('the notification', () => out.includes('\n'));
    child.kill('SIGINT');
    assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f]/, 'no control character reaches the terminal');
    assert.match(out, /^\S+ EventApplied IssueCreate .*evil\\x1b\[2J\\x1b\]0;title\\x07 name\n$/);
    const [h, m] = out.split(':').map(Number);
    const local = new Date(Date.now() + 330 * 60_000);
    const apart = Math.abs(h * 60 + m - (local.getUTCHours() * 60 + local.getUTCMinutes()));
    assert.ok(Math.min(apart, 1440 - apart) <= 2, `${out.slice(0, 8)} is Kolkata's time (UTC+05:30), not UTC's`);
  } finally {
    await daemon.stop();
  }
});

test('a write from a linked worktree is published with that worktree as its repo_root, though one worker serves both', async () => {
  const daemon = await startDaemon();
  const { main, linked } = await twoWorktrees();
  try {
    const seen: Notification[] = [];
    const watch = await GritClient.subscribe((n) => seen.push(n), { endpoint: `ipc://${join(daemon.runDir, 'events.sock')}` });
    const client = await daemon.client();
    // The main worktree's request starts the actor's worker.
    for (const repoRoot of [main, linked]) await client.issueCreate({ title: repoRoot }, { repoRoot });
    await until('both notifications', () => seen.length >= 2);
    const { workers } = (await client.status()) as { workers: unknown[] };
    client.close();
    watch.close();
    assert.deepEqual(seen.map((n) => n.repo_root), [main, linked]);
    assert.equal(workers.length, 1);
  } finally {
    await daemon.stop();
  }
});

test('GRIT_NO_DAEMON: watch is refused (ipc_error, exit 5) and starts no daemon', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const runDir = testRunDir();
  const env = { ...daemonEnv(runDir), GRIT_NO_DAEMON: '1' };
  try {
    const r = grit(repo, ['watch', '--json'], { env, timeout: 15_000 });
    assert.equal(r.code, 5, r.stdout + r.stderr);
    assert.equal(r.json.error.code, 'ipc_error');
    assert.match(r.json.error.message, /GRIT_NO_DAEMON is set/);
    assert.match(r.json.error.details.suggestion, /GRIT_NO_DAEMON=0 grit watch/);
    const human = grit(repo, ['watch', '--all'], { env, timeout: 15_000 });
    assert.equal(human.code, 5);
    assert.match(human.stderr, /^error: watch prints the daemon's notifications, and GRIT_NO_DAEMON is set.*\nhint: /);
    assert.equal(existsSync(join(runDir, 'daemon.sock')), false, 'no daemon was started');
  } finally {
    // Had one been started (the bug), it is stopped here rather than left idling.
    if (existsSync(join(runDir, 'daemon.sock'))) await gritAsync('/', ['daemon', 'stop'], { env: daemonEnv(runDir) });
  }
});

test('GRIT_NO_DAEMON: daemon start is refused as watch is; daemon status and stop still run', async () => {
  const daemon = await startDaemon();
  const env = { ...daemon.env, GRIT_NO_DAEMON: '1' };
  try {
    const start = grit('/', ['daemon', 'start', '--json'], { env });
    assert.equal(start.code, 5, start.stdout + start.stderr);
    assert.equal(start.json.error.code, 'ipc_error');
    assert.match(start.json.error.message, /^daemon start starts the daemon, and GRIT_NO_DAEMON is set/);
    assert.match(start.json.error.details.suggestion, /GRIT_NO_DAEMON=0 grit daemon start/);
    // Status asks, and stop brings about what the variable wants: no daemon left running.
    assert.equal(gritOk('/', ['daemon', 'status'], { env }).pid, daemon.child!.pid);
    assert.deepEqual(gritOk('/', ['daemon', 'stop'], { env }), { stopped: true, pid: daemon.child!.pid });
    const again = grit('/', ['daemon', 'start', '--json'], { env });
    assert.equal(again.code, 5);
    assert.equal(gritOk('/', ['daemon', 'status'], { env }).running, false, 'nothing was started');
  } finally {
    await daemon.stop();
  }
});

/** The steps published under `token` (as the CLI subscribes to its request's). */
async function progressOf(endpoint: string, token: string): Promise<{ steps: ProgressStep[]; close(): void }> {
  const steps: ProgressStep[] = [];
  const watch = await GritClient.watchProgress(token, (step) => steps.push(step), { endpoint });
  return { steps, close: () => watch.close() };
}

test('a script follows a request\'s progress with only what the package exports', async () => {
  // Before, the API had the token and the topic but no way to subscribe to it: only grit's internal SubClient.
  const api = await import('../../src/index.js');
  const daemon = await startDaemon();
  const repo = tempRepo();
  await gritInit(repo);
  const endpoint = `ipc://${join(daemon.runDir, 'events.sock')}`;
  const client = await api.GritClient.connect({ endpoint: daemon.endpoint });
  const token = api.newProgressToken();
  const steps: ProgressStep[] = [];
  let watch: { close(): void } | undefined;
  try {
    watch = await api.GritClient.watchProgress(token, (step) => steps.push(step), { endpoint });
    await client.issueCreate({ title: 'one event to replay' }, { repoRoot: repo });
    await client.request('Rebuild', {}, { repoRoot: repo }, { progress: token });
    await until(() => `a step of the rebuild (got ${JSON.stringify(steps)})`, () => steps.some((s) => s.label === 'replaying WAL' && s.total === 1));
    const refused = await rejectionOf(api.GritClient.watchProgress('not a token', () => {}, { endpoint }), api.GritError);
    assert.deepEqual([refused.code, refused.details.field], ['invalid_args', 'token']);
  } finally {
    watch?.close();
    client.close();
    await daemon.stop();
  }
});

test('progress goes to the request that asked for it: a sync waiting for another says so; none is published unasked, and watchers see none', async () => {
  // The first sync stops after applying its first step, until the test lets it go on.
  const { daemon, repo, paused, events: endpoint } = await daemonPausingSyncs();
  const target = { repoRoot: repo };
  const [c1, c2] = [await daemon.client(), await daemon.client()];
  const watched: Notification[] = [];
  const watch = await GritClient.subscribe((n) => watched.push(n), { endpoint });
  // Everything published, whatever its kind.
  const raw = await SubClient.connect(endpoint, { topics: [''] });
  const published: string[] = [];
  raw.on('message', (body: Buffer) => published.push(body.toString('utf8')));
  const token = newProgressToken();
  const second = await progressOf(endpoint, token);
  try {
    const first = c1.request<{ pulled: number }>('Sync', {}, target);
    await until('the first sync paused half-way', () => existsSync(paused));
    const waiting = c2.request<{ pulled: number }>('Sync', {}, target, { progress: token });
    await until(
      () => `the second sync says it waits (got ${JSON.stringify(second.steps)})`,
      () => second.steps.some((s) => s.label === 'waiting for a sync already running in the daemon…' && s.total === null),
    );
    rmSync(paused);
    assert.equal((await first).pulled, 1);
    assert.equal((await waiting).pulled, 0, 'it ran after the first: the event was there');
    await until('both syncs published', () => watched.filter((n) => n.kind === 'WalSynced').length === 2);
    assert.deepEqual(new Set(watched.map((n) => n.kind)), new Set(['WalSynced']), 'a watcher sees no progress');
    const progress = published.filter((b) => b.startsWith('{"kind":"Progress"'));
    assert.ok(progress.length > 0 && progress.every((b) => b.startsWith(progressTopic(token))), 'the first asked for none: all of it is the second\'s');
  } finally {
    rmSync(paused, { force: true });
    for (const s of [second, raw, watch]) s.close();
    for (const c of [c1, c2]) c.close();
    await daemon.stop();
  }
});
