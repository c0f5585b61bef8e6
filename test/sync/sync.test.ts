import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { decodeChunk, encodeChunk } from '../../src/core/chunk.js';
import { syncWith } from '../../src/commands/sync.js';
import { syncWal } from '../../src/git/sync.js';
import { readSide } from '../../src/git/transport.js';
import { RepoContext } from '../../src/commands/context.js';
import { fsckClean, git, grit, gritAsync, gritLib, gritOk, tempDir, tempRepo, gritInit, gritSetup } from '../helpers/repo.js';
import { eventIds, gitBytes, network, pairWithLocalChange, refs, silentRemote, sleep, walEvents } from './_helpers.js';
import { chunkCommit, remoteCommit } from '../reliability/_remote.js';
import { encodeCanonical, type CborValue } from '../../src/core/cbor.js';
import { fromHex } from '../../src/core/hex.js';
import { chunkOfRecords, recordWithTs } from '../helpers/bad-records.js';
import { startDaemon } from '../helpers/daemon.js';

/** Two clones that both know one issue, then edit it concurrently (nothing synced in between). */
async function concurrentEdits(): Promise<{ a: string; b: string; remote: string; id: string }> {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  const id = (await gritSetup(a, ['issue', 'create', '--title', 'shared', '--label', 'base'])).issue_id;
  await gritSetup(a, ['sync']);
  assert.equal((await gritSetup(b, ['sync'])).pulled, 1);
  // A: title, a label, a comment, close. B: labels (one the same as A's), comments, a removal.
  await gritSetup(a, ['issue', 'update', id, '--title', 'renamed in A']);
  await gritSetup(a, ['issue', 'label', 'add', id, '--label', 'from-a']);
  await gritSetup(a, ['issue', 'comment', id, '--body', 'comment from A']);
  await gritSetup(a, ['issue', 'close', id]);
  await gritSetup(b, ['issue', 'label', 'add', id, '--label', 'from-b']);
  await gritSetup(b, ['issue', 'label', 'add', id, '--label', 'from-a']);
  await gritSetup(b, ['issue', 'comment', id, '--body', 'comment from B']);
  gritOk(b, ['issue', 'label', 'remove', id, '--label', 'base']);
  await gritSetup(b, ['issue', 'comment', id, '--body', 'second comment from B']);
  return { a, b, remote, id };
}

/** `issue show` of one issue as set-up reads it (gritSetup): the data, its issue and the set of its event ids. */
async function shownNow(clone: string, id: string): Promise<{ data: any; issue: unknown; eventIds: string[] }> {
  const data = await gritSetup(clone, ['issue', 'show', id]);
  return { data, issue: data.issue, eventIds: data.events.map((e: any) => e.event_id).sort() };
}

async function assertConverged(a: string, b: string, remote: string, id: string): Promise<void> {
  const sa = await shownNow(a, id);
  const sb = await shownNow(b, id);
  assert.deepEqual(sa.issue, sb.issue);
  assert.deepEqual(sa.eventIds, sb.eventIds);
  assert.equal(sa.eventIds.length, 10);
  const issue = sa.issue as any;
  assert.equal(issue.title, 'renamed in A');
  assert.equal(issue.state, 'closed');
  assert.deepEqual(issue.labels, ['from-a', 'from-b']);
  assert.equal(issue.comments.length, 3);
  // Full show output too (events in their canonical order), and the same WAL head everywhere.
  assert.deepEqual(sa.data, sb.data);
  const head = git(remote, 'rev-parse', 'refs/grit/wal').trim();
  assert.equal(git(a, 'rev-parse', 'refs/grit/wal').trim(), head);
  assert.equal(git(b, 'rev-parse', 'refs/grit/wal').trim(), head);
  assert.equal(git(remote, 'rev-list', '--merges', 'refs/grit/wal').trim(), '');
  fsckClean(a);
  fsckClean(b);
  git(remote, 'fsck', '--full', '--no-progress');
}

test('concurrent edits of one issue in two clones converge: A syncs first', { timeout: 60_000 }, async () => {
  const { a, b, remote, id } = await concurrentEdits();
  const sa = await gritSetup(a, ['sync']);
  assert.deepEqual([sa.pulled, sa.pushed, sa.events_rebased], [0, 4, 0]);
  const sb = await gritSetup(b, ['sync']);
  // B's 5 local events are re-appended on top of A's 4.
  assert.deepEqual([sb.pulled, sb.pushed, sb.events_rebased], [4, 5, 5]);
  assert.equal(sb.wal_head, sb.remote_wal_head);
  assert.equal((await gritSetup(a, ['sync'])).pulled, 5);
  await assertConverged(a, b, remote, id);
  const all = eventIds(await walEvents(remote));
  assert.equal(new Set(all).size, all.length);
  assert.equal(all.length, 10);
});

test('concurrent edits of one issue in two clones converge: B syncs first', { timeout: 60_000 }, async () => {
  const { a, b, remote, id } = await concurrentEdits();
  assert.equal((await gritSetup(b, ['sync'])).pushed, 5);
  const sa = await gritSetup(a, ['sync']);
  assert.deepEqual([sa.pulled, sa.pushed, sa.events_rebased], [5, 4, 4]);
  await gritSetup(b, ['sync']);
  await assertConverged(a, b, remote, id);
});

test('concurrent edits, both clones syncing at the same moment, then once more', { timeout: 60_000 }, async () => {
  const { a, b, remote, id } = await concurrentEdits();
  const both = await Promise.all([gritAsync(a, ['sync', '--json']), gritAsync(b, ['sync', '--json'])]);
  for (const r of both) assert.equal(r.code, 0, r.stdout + r.stderr);
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  await assertConverged(a, b, remote, id);
  const all = eventIds(await walEvents(remote));
  assert.equal(new Set(all).size, 10);
  assert.equal(all.length, 10);
});

test('pull only, push only, human output, empty remote', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  // Nothing anywhere: a no-op.
  assert.deepEqual(await gritSetup(a, ['sync']), {
    pulled: 0,
    pushed: 0,
    wal_head: null,
    remote_wal_head: null,
    events_rebased: 0,
    remote: 'origin',
    push_attempts: 0,
    snapshots_fetched: 0,
    snapshots_refused: [],
    locks_updated: 0,
    signature_problems: { refused: 0, kept: 0 },
    snapshot: null,
  });
  // The human line: what moved, then where each WAL is (one head when both are at it).
  const human = (clone: string, args: string[]) => {
    const r = grit(clone, ['sync', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim().split(' · ');
  };
  const head = (dir: string) => git(dir, 'rev-parse', '--short=8', 'refs/grit/wal').trim();
  assert.deepEqual(human(a, []), ['pulled 0 events, rebased 0, pushed 0', 'origin: no WAL yet']);
  await gritSetup(a, ['issue', 'create', '--title', 'one']);
  await gritSetup(a, ['issue', 'create', '--title', 'two']);
  // --pull does not push.
  assert.equal((await gritSetup(a, ['sync', '--pull'])).pushed, 0);
  assert.deepEqual(refs(remote), {});
  assert.deepEqual(human(a, ['--pull']), ['pulled 0 events, rebased 0, pushed 0', `local wal ${head(a)}, origin: no WAL yet`]);
  assert.deepEqual(human(a, ['--push']), ['pulled 0 events, rebased 0, pushed 2', `origin wal ${head(a)}`]);
  await gritSetup(b, ['issue', 'create', '--title', 'three']);
  // --push on a clone behind and ahead of the remote: rebases (it has to), pushes.
  const pushed = await gritSetup(b, ['sync', '--push']);
  assert.deepEqual([pushed.pulled, pushed.pushed, pushed.events_rebased], [2, 1, 1]);
  // --push on a clone that is only behind: nothing to push, and nothing pulled either.
  const behind = await gritSetup(a, ['sync', '--push']);
  assert.deepEqual([behind.pulled, behind.pushed], [0, 0]);
  assert.notEqual(head(a), head(remote));
  assert.deepEqual(human(a, ['--push']), ['pulled 0 events, rebased 0, pushed 0', `local wal ${head(a)}, origin wal ${head(remote)}`]);
  // --pull on a clone ahead and behind: rebases its own on top and pushes nothing, so the heads differ.
  await gritSetup(a, ['issue', 'create', '--title', 'four']);
  const [moved, where] = human(a, ['--pull']);
  assert.equal(moved, 'pulled 1 event, rebased 1, pushed 0');
  assert.equal(where, `local wal ${head(a)}, origin wal ${head(remote)}`);
  assert.notEqual(head(a), head(remote));
  assert.equal((await gritSetup(a, ['issue', 'list'])).total, 4);
  assert.deepEqual(human(a, []), ['pulled 0 events, rebased 0, pushed 1', `origin wal ${head(a)}`]);
  // A remote given as a path works as well as a name.
  assert.equal((await gritSetup(a, ['sync', '--remote', remote])).pulled, 0);
});

test('an unreachable or unknown remote is a git_error carrying git stderr; no repository where it points is missing config (exit 5)', async () => {
  const { clones } = await network(1);
  const [a] = clones;
  await gritSetup(a, ['issue', 'create', '--title', 'x']);
  const r = grit(a, ['sync', '--remote', 'nosuch', '--json']);
  assert.equal(r.code, 5, r.stdout);
  assert.equal(r.json.error.details.exit_code, 5);
  assert.equal(r.json.error.code, 'git_error');
  assert.match(r.json.error.details.stderr, /nosuch/);
  assert.equal(r.json.error.message, 'git fetch nosuch failed: no remote is named nosuch');
  assert.match(r.json.error.details.suggestion, /^see the remotes there are \(`git remote -v`\); add this one \(`git remote add nosuch <url>`\)/);
  // A path with no repository (none at all, or a directory that is not one) is the same failure
  // as a name git does not know: one exit code for "no repository where the remote points".
  for (const path of [join(a, 'does-not-exist.git'), tempDir()]) {
    const p = grit(a, ['sync', '--remote', path, '--json']);
    assert.equal(p.code, 5, p.stdout);
    assert.equal(p.json.error.code, 'git_error');
    assert.equal(p.json.error.message, `git fetch ${path} failed: no git repository is at ${path}`);
    assert.match(p.json.error.details.suggestion, /^check the path or URL, or pass --remote a remote name \(`git remote -v`\)/);
    assert.equal(grit(a, ['lock', 'acquire', '--resource', 'repo:', '--remote', path]).code, 5, 'lock commands fail the same way');
  }
  git(a, 'remote', 'set-url', 'origin', join(a, 'does-not-exist.git'));
  const r2 = grit(a, ['sync']);
  assert.equal(r2.code, 5);
  assert.match(r2.stderr, /^error: git fetch origin failed: no git repository is at \S*does-not-exist\.git, where origin points\n/);
  assert.match(r2.stderr, /hint: check its URL \(`git remote -v`\) and correct it \(`git remote set-url origin <url>`\)/, 'a configured remote with a bad URL is not called missing');
  // A remote that cannot be reached may answer another time: not the environment (exit 1).
  const r5 = grit(a, ['sync', '--remote', 'https://127.0.0.1:9/x.git']);
  assert.equal(r5.code, 1, r5.stderr);
  assert.match(r5.stderr, /hint: check the remote/);
  const r3 = grit(a, ['sync', '--remote', '--upload-pack=touch /tmp/x', '--json']);
  assert.notEqual(r3.code, 0);
  // Longer than one argument of a process (only the API, MCP or IPC can send it): the caller's
  // mistake, not the spawn's raw E2BIG.
  for (const [name, args] of [['Sync', {}], ['LockAcquire', { resource: 'repo:' }]] as const) {
    await assert.rejects(gritLib(a, name, { ...args, remote: `/${'x'.repeat(200_000)}` }), (e: any) =>
      e.code === 'invalid_args' && e.message === 'the remote is 200001 bytes, more than one argument to git may hold (128 KiB)' && e.details.field === 'remote');
  }
  // A repository that never had a remote: the first `grit sync`.
  const alone = tempRepo();
  await gritInit(alone);
  const r4 = grit(alone, ['sync', '--json']);
  assert.equal(r4.code, 5, r4.stdout);
  assert.equal(r4.json.error.code, 'git_error');
  assert.equal(r4.json.error.message, 'git fetch origin failed: no remote is named origin');
  assert.match(r4.json.error.details.suggestion, /add this one \(`git remote add origin <url>`\)/);
});

test('credentials in a remote URL are never shown: errors (JSON, human, through the daemon, its log), replies, a push URL', { timeout: 90_000 }, async () => {
  const { remote, clones } = await network(1);
  const [a] = clones;
  await gritSetup(a, ['issue', 'create', '--title', 'x']);
  const unreachable = 'https://user:s3cr3t@127.0.0.1:9/x.git';
  const shown = 'https://user:***@127.0.0.1:9/x.git';
  // Configured as a push URL: grit fetches from it (docs/sync.md, step 1) and names it when that fails.
  git(a, 'remote', 'add', 'cred', remote);
  git(a, 'remote', 'set-url', '--push', 'cred', unreachable);
  const daemon = await startDaemon();
  try {
    for (const env of [undefined, daemon.env]) {
      for (const args of [['sync', '--remote', unreachable], ['lock', 'acquire', '--resource', 'path:src', '--remote', unreachable], ['sync', '--remote', 'cred']]) {
        const json = grit(a, [...args, '--json'], { env });
        assert.equal(json.json?.error?.code, 'git_error', json.stdout);
        assert.ok(json.json.error.message.includes(shown), json.json.error.message);
        if (args[2] !== 'cred') assert.equal(json.json.error.details.remote, shown);
        const human = grit(a, args, { env });
        assert.match(human.stderr, /^error: git fetch .*https:\/\/user:\*\*\*@127\.0\.0\.1:9\/x\.git/);
        for (const out of [json.stdout, json.stderr, human.stdout, human.stderr]) assert.doesNotMatch(out, /s3cr3t/);
      }
    }
    // A URL that works (git rewrites it to the bare remote): the replies show it redacted too.
    const token = 'https://ghp_t0ken@example.invalid/x.git';
    git(a, 'config', `url.${remote}.insteadOf`, token);
    assert.equal(gritOk(a, ['sync', '--remote', token]).remote, 'https://***@example.invalid/x.git');
    assert.equal(gritOk(a, ['lock', 'acquire', '--resource', 'path:src', '--remote', token], { env: daemon.env }).remote, 'https://***@example.invalid/x.git');
    const human = grit(a, ['sync', '--remote', token], { env: daemon.env });
    assert.equal(human.code, 0, human.stderr);
    assert.doesNotMatch(human.stdout + human.stderr, /t0ken/);
  } finally {
    await daemon.stop();
  }
  assert.doesNotMatch(readFileSync(join(daemon.runDir, 'daemon.log'), 'utf8'), /s3cr3t|t0ken/);
});

/** Processes whose command line has `marker` in it (Linux's /proc). */
function processesWith(marker: string): number {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(marker);
      } catch {
        return false; // gone meanwhile
      }
    }).length;
}

test('a remote that accepts and never answers: git is stopped at GRIT_GIT_TIMEOUT (git_error), with what it started', { timeout: 60_000 }, async () => {
  const silent = await silentRemote();
  try {
    const [a] = (await network(1)).clones;
    await gritSetup(a, ['issue', 'create', '--title', 'x']);
    const asleep = 'sleep 3599';
    for (const [remote, env] of [
      [silent.url('http'), {}], // git-remote-http, a process of its own, holds the connection
      [silent.url('git'), {}], // git itself does
      ['ssh://silent.invalid/x.git', { GIT_SSH_COMMAND: `${asleep} #` }], // an ssh that never answers
    ] as const) {
      git(a, 'remote', 'set-url', 'origin', remote);
      const t0 = Date.now();
      const r = await gritAsync(a, ['sync', '--json'], { env: { ...env, GRIT_GIT_TIMEOUT: '1' } });
      const took = Date.now() - t0;
      assert.equal(r.code, 1, `${remote}: ${r.stdout}${r.stderr}`);
      assert.equal(r.json.error.code, 'git_error');
      assert.match(r.json.error.message, /^git fetch origin failed: still running after 1 s \(GRIT_GIT_TIMEOUT\), so grit stopped it$/);
      assert.equal(r.json.error.details.timed_out, true);
      assert.equal(r.json.error.details.timeout_s, 1);
      assert.ok(took >= 1_000 && took < 15_000, `${remote}: ${took} ms`);
      // Nothing git started is left waiting on the remote: its connections are closed, the ssh gone.
      await silent.open(0);
      for (let i = 0; i < 100 && processesWith(asleep) > 0; i++) await sleep(50);
      assert.equal(processesWith(asleep), 0, `${remote}: the ssh git started is still running`);
    }
    assert.equal(silent.accepted(), 2, 'git reached the remote over http and git://');

    const human = await gritAsync(a, ['sync'], { env: { GIT_SSH_COMMAND: `${asleep} #`, GRIT_GIT_TIMEOUT: '1' } });
    assert.match(human.stderr, /^error: git fetch origin failed: still running after 1 s/m);
    assert.match(human.stderr, /^hint: check that the remote answers .*set GRIT_GIT_TIMEOUT to more seconds/m);
    // Refused: not a number, and one past what a timer holds (which would fire at once).
    for (const value of ['soon', '2147484']) {
      const bad = grit(a, ['sync', '--json'], { env: { GRIT_GIT_TIMEOUT: value } });
      assert.equal(bad.code, 5, bad.stdout);
      assert.equal(bad.json.error.code, 'git_error');
      assert.match(bad.json.error.message, /^GRIT_GIT_TIMEOUT must be a whole number of seconds up to 2147483 \(0 = no limit\)/);
    }
  } finally {
    silent.close();
  }
});

test('the remote moves between fetch and push: rejected, refetched, rebased, retried', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  await gritSetup(b, ['issue', 'create', '--title', 'from b, early']);
  await gritSetup(b, ['sync']);
  await gritSetup(a, ['issue', 'create', '--title', 'from a']);
  const ctx = RepoContext.open({ cwd: a });
  let interfered = 0;
  try {
    const result = await syncWith(ctx, {
      remote: 'origin',
      pull: true,
      push: true,
      beforePush: (attempt) => {
        if (attempt > 1) return;
        // Another clone pushes right before each of our first two pushes.
        gritOk(b, ['issue', 'create', '--title', `from b, during attempt ${attempt}`]);
        gritOk(b, ['sync']);
        interfered++;
      },
    });
    assert.equal(interfered, 2);
    assert.equal(result.push_attempts, 3);
    assert.equal(result.pulled, 3);
    assert.equal(result.pushed, 1);
    assert.equal(result.events_rebased, 3); // rebased once per rejected push
    assert.equal(result.wal_head, git(remote, 'rev-parse', 'refs/grit/wal').trim());
    assert.equal(ctx.store.getMeta().wal_head, result.wal_head);
    assert.equal(ctx.store.getMeta().event_count, 4);
  } finally {
    await ctx.close();
  }
  await gritSetup(b, ['sync']);
  assert.deepEqual(await gritSetup(a, ['issue', 'list']), await gritSetup(b, ['issue', 'list']));
  assert.equal((await gritSetup(a, ['issue', 'list'])).total, 4);
  assert.equal(git(remote, 'rev-list', '--count', 'refs/grit/wal').trim(), '4');
});

test('a remote whose push URL is another repository than its URL (pushurl, pushInsteadOf): refs/grit/* are read where they are pushed, so sync and locks work', { timeout: 90_000 }, async () => {
  for (const how of ['pushurl', 'pushInsteadOf'] as const) {
    // a reads from `mirror` and pushes to `primary`, which b uses for both and keeps ahead of the mirror.
    const { remote: mirror, clones } = await network(1);
    const { remote: primary, clones: others } = await network(1);
    const [a, b] = [clones[0], others[0]];
    if (how === 'pushurl') git(a, 'remote', 'set-url', '--push', 'origin', primary);
    else git(a, 'config', `url.${primary}.pushInsteadOf`, mirror);
    await gritSetup(a, ['issue', 'create', '--title', 'a1']);
    assert.equal((await gritSetup(a, ['sync'])).pushed, 1);
    assert.equal((await gritSetup(b, ['sync'])).pulled, 1);
    await gritSetup(b, ['issue', 'create', '--title', 'b1']);
    await gritSetup(b, ['sync']);
    await gritSetup(a, ['issue', 'create', '--title', 'a2']);
    const r = await gritSetup(a, ['sync']);
    assert.deepEqual([r.pulled, r.pushed, r.push_attempts, r.events_rebased], [1, 1, 1, 1], how);
    assert.equal(r.wal_head, git(primary, 'rev-parse', 'refs/grit/wal').trim());
    assert.deepEqual(git(mirror, 'for-each-ref', 'refs/grit/'), '');
    // A lock b holds on the push side is seen by a, whose own lock then goes there too.
    gritOk(b, ['lock', 'acquire', '--resource', 'path:src', '--ttl', '10m']);
    const taken = grit(a, ['lock', 'acquire', '--resource', 'path:src', '--ttl', '10m', '--json']);
    assert.equal(taken.json?.error?.code, 'conflict', taken.stdout);
    assert.match(taken.json.error.message, /is locked by/);
    gritOk(a, ['lock', 'acquire', '--resource', 'path:docs', '--ttl', '10m']);
    assert.equal(git(primary, 'for-each-ref', 'refs/grit/locks/').trim().split('\n').length, 2);
  }
});

test('a remote added with --mirror=push: sync and remote locks push grit\'s refs only, as to any remote', { timeout: 60_000 }, async () => {
  const [a] = (await network(1)).clones;
  const backup = join(tempDir(), 'backup.git');
  git(a, 'init', '-q', '--bare', backup);
  git(a, 'remote', 'add', '--mirror=push', 'backup', backup);
  git(a, 'commit', '-q', '--allow-empty', '-m', 'code');
  await gritSetup(a, ['issue', 'create', '--title', 'a1']);
  assert.equal((await gritSetup(a, ['sync', '--remote', 'backup'])).pushed, 1);
  gritOk(a, ['lock', 'acquire', '--resource', 'path:src', '--ttl', '10m', '--remote', 'backup']);
  const pushed = git(backup, 'for-each-ref', '--format=%(refname)').trim().split('\n');
  assert.deepEqual([pushed.length, pushed.filter((r) => r.startsWith('refs/grit/locks/')).length, pushed.includes('refs/grit/wal')], [2, 1, true]);
});

/** The command lines of this process's children now (Linux: /proc). */
function childCommands(): string[] {
  const pids = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return pids.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '));
}

test('the store\'s catch-up and the local head\'s look-up run while git fetches, not before it starts', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  gritOk(b, ['issue', 'create', '--title', 'b1']);
  gritOk(b, ['sync']);
  const ctx = RepoContext.open({ cwd: a });
  // This process's first fetch asks git where the system config is (config-mentions.ts): git then
  // starts the fetch later than a turn of the event loop. Asked here first, as a warm process has.
  await readSide(ctx.repo.commonDir, 'origin');
  let running: string[] = [];
  try {
    const result = await syncWal(ctx.repo.commonDir, ctx.wal, { remote: 'origin', pull: true, push: false, alongFetch: async () => void (running = childCommands()) });
    assert.equal(result.pulled, 1);
  } finally {
    await ctx.close();
  }
  assert.ok(running.some((cmd) => / fetch /.test(cmd)), `git's fetch was not running: ${JSON.stringify(running)}`);
});

/** Syncs clone `dir` in-process, counting the push attempts made (`beforePush` runs once per attempt). */
async function syncCounting(dir: string, beforePush?: (attempt: number) => void): Promise<{ result?: Awaited<ReturnType<typeof syncWith>>; error?: any; attempts: number }> {
  const ctx = RepoContext.open({ cwd: dir });
  let attempts = 0;
  try {
    const result = await syncWith(ctx, { remote: 'origin', pull: true, push: true, beforePush: (n) => (attempts++, beforePush?.(n)) });
    return { result, attempts };
  } catch (error) {
    return { error, attempts };
  } finally {
    await ctx.close();
  }
}

test('a lasting push refusal (a stale lock file on the remote, a ref in the way) is a git_error with git\'s message at once, not ten retries', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(1);
  const [a] = clones;
  await gritSetup(a, ['issue', 'create', '--title', 'one']);
  await gritSetup(a, ['sync']);
  await gritSetup(a, ['issue', 'create', '--title', 'two']);
  // A git process on the server crashed holding the WAL's ref lock.
  const lock = join(remote, 'refs', 'grit', 'wal.lock');
  writeFileSync(lock, '');
  const stale = await syncCounting(a);
  assert.equal(stale.attempts, 1);
  assert.equal(stale.error?.code, 'git_error', String(stale.error));
  assert.equal(stale.error.exitCode, 1);
  assert.match(stale.error.message, /git push to origin failed: .*the remote said: .*wal\.lock': File exists/);
  assert.match(stale.error.details.stderr, /Unable to create '.*wal\.lock': File exists/);
  assert.match(stale.error.suggestion, /a lock file on the remote \(.*refs\/grit\/wal\.lock\) was left by a git process there that stopped/);
  const cli = grit(a, ['sync', '--json']);
  assert.deepEqual([cli.code, cli.json.error.code], [1, 'git_error']);
  rmSync(lock);
  assert.equal((await gritSetup(a, ['sync'])).pushed, 1);

  // A ref not grit's where refs/grit/wal would go (a directory/file conflict on the server).
  const other = await network(1);
  const [b] = other.clones;
  git(b, 'commit', '-q', '--allow-empty', '-m', 'not grit');
  git(b, 'push', '-q', 'origin', 'HEAD:refs/grit/wal/foreign');
  await gritSetup(b, ['issue', 'create', '--title', 'x']);
  const inTheWay = await syncCounting(b);
  assert.equal(inTheWay.attempts, 1);
  assert.equal(inTheWay.error?.code, 'git_error', String(inTheWay.error));
  assert.match(inTheWay.error.message, /'refs\/grit\/wal\/foreign' exists; cannot create 'refs\/grit\/wal'/);
  assert.match(inTheWay.error.suggestion, /the remote's ref refs\/grit\/wal\/foreign is in the way of refs\/grit\/wal .*git push origin :refs\/grit\/wal\/foreign/);
});

for (const how of ['the server says so', 'its ref lock is held, and the ref moved'] as const) {
  test(`a ref update the server fails because another push moved the ref (${how}) is still a race: retried`, { timeout: 60_000 }, async () => {
    const { remote, clones } = await network(2);
    const [a, b] = clones;
    await gritSetup(b, ['issue', 'create', '--title', 'from b']);
    await gritSetup(b, ['sync']);
    await gritSetup(a, ['sync']);
    const base = git(remote, 'rev-parse', 'refs/grit/wal').trim();
    await gritSetup(b, ['issue', 'create', '--title', 'from b, racing']);
    await gritSetup(b, ['sync']);
    const raced = git(remote, 'rev-parse', 'refs/grit/wal').trim();
    git(remote, 'update-ref', 'refs/grit/wal', base, raced);
    // The other push lands between what a's git saw and the server's update of the ref, once.
    const lock = join(remote, 'refs', 'grit', 'wal.lock');
    const holdLock = how === 'the server says so' ? '' : ` && touch "${lock}"`;
    const hook = join(remote, 'hooks', 'pre-receive');
    writeFileSync(hook, `#!/bin/sh\n[ -e "$GIT_DIR/raced" ] && exit 0\ntouch "$GIT_DIR/raced"\nenv -u GIT_QUARANTINE_PATH git update-ref refs/grit/wal ${raced} ${base}${holdLock}\n`);
    chmodSync(hook, 0o755);
    await gritSetup(a, ['issue', 'create', '--title', 'from a']);
    const run = await syncCounting(a, (attempt) => attempt === 1 && rmSync(lock, { force: true }));
    assert.equal(run.error, undefined, String(run.error));
    assert.equal(run.attempts, 2);
    assert.deepEqual([run.result!.pulled, run.result!.pushed, run.result!.push_attempts], [1, 1, 2]);
    assert.equal((await gritSetup(b, ['sync'])).pulled, 1);
    assert.equal((await gritSetup(b, ['issue', 'list'])).total, 3);
  });
}

test('two syncs of one clone at once: the one that finds its push already made says it pushed nothing', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(1);
  const [a] = clones;
  for (let i = 0; i < 3; i++) await gritSetup(a, ['issue', 'create', '--title', `n${i}`]);
  // Another `grit sync` of this clone pushes the same commits between this one's fetch and push.
  const run = await syncCounting(a, () => assert.equal(gritOk(a, ['sync']).pushed, 3));
  assert.equal(run.error, undefined, String(run.error));
  assert.deepEqual([run.result!.pushed, run.result!.push_attempts], [0, 1]);
  assert.equal(run.result!.remote_wal_head, git(remote, 'rev-parse', 'refs/grit/wal').trim());
  // Part of it pushed meanwhile (git names where the remote was, abbreviated): only the rest counts.
  await gritSetup(a, ['issue', 'create', '--title', 'n3']);
  await gritSetup(a, ['issue', 'create', '--title', 'n4']);
  const partly = await syncCounting(a, () => git(a, 'push', '-q', 'origin', 'refs/grit/wal~1:refs/grit/wal'));
  assert.equal(partly.error, undefined, String(partly.error));
  assert.equal(partly.result!.pushed, 1);
});

/** Puts a commit on the remote WAL whose chunk is `chunk` (named by `chunkHash`) with plumbing. */
function pushForgedCommit(remote: string, chunk: Uint8Array, chunkHash: string, actor: string): string {
  const head = git(remote, 'rev-parse', 'refs/grit/wal').trim();
  const blob = gitBytes(remote, ['hash-object', '-w', '--stdin'], chunk).toString().trim();
  let tree = gitBytes(remote, ['mktree'], `100644 blob ${blob}\t${chunkHash}.bin\n`).toString().trim();
  for (const part of ['01', '01', '2030']) tree = gitBytes(remote, ['mktree'], `040000 tree ${tree}\t${part}\n`).toString().trim();
  const meta = gitBytes(
    remote,
    ['hash-object', '-w', '--stdin'],
    `{"schema_version":1,"actor_id":"${actor}","chunk_hash":"${chunkHash}","prev_wal":"${head}"}\n`,
  ).toString().trim();
  const root = gitBytes(remote, ['mktree'], `040000 tree ${tree}\tevents\n100644 blob ${meta}\tmeta.json\n`).toString().trim();
  const commit = gitBytes(remote, ['commit-tree', root, '-p', head, '-m', 'grit: 1 event']).toString().trim();
  git(remote, 'update-ref', 'refs/grit/wal', commit, head);
  return commit;
}

for (const variant of ['flipped byte', 'forged event'] as const) {
  test(`tampered chunk on the remote (${variant}): wal_error, nothing applied, local refs unchanged`, { timeout: 60_000 }, async () => {
    const { remote, b, id, head } = await pairWithLocalChange();
    const tree = git(remote, 'ls-tree', '-r', head).trim();
    const [, chunkOid, chunkHash] = /blob ([0-9a-f]{40})\tevents\/.*\/([0-9a-f]{64})\.bin/.exec(tree)!;
    const original = new Uint8Array(gitBytes(remote, ['cat-file', 'blob', chunkOid]));
    const actor = JSON.parse(git(remote, 'cat-file', 'blob', `${head}:meta.json`)).actor_id;
    if (variant === 'flipped byte') {
      const bad = Uint8Array.from(original);
      bad[bad.length - 5] ^= 0x01;
      pushForgedCommit(remote, bad, chunkHash, actor);
    } else {
      // A well-formed chunk with a correct hash whose event no longer matches its id.
      const [event] = decodeChunk(original);
      const forged = { ...event, kind: { type: 'IssueCreated', title: 'evil', body: '', labels: [] } } as typeof event;
      const chunk = encodeChunk([forged]);
      pushForgedCommit(remote, chunk.bytes, Buffer.from(chunk.hash).toString('hex'), actor);
    }
    const before = refs(b);
    const listBefore = await gritSetup(b, ['issue', 'list']);
    const r = grit(b, ['sync', '--json']);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.json.error.code, 'wal_error');
    // Said to be the remote's, with a hint that fits (the local WAL, which doctor checks, is fine).
    assert.match(r.json.error.message, /^the WAL on origin is not valid: WAL commit [0-9a-f]{40}: .*; nothing of it was applied, and your local WAL is intact$/);
    assert.equal(r.json.error.details.remote, 'origin');
    assert.equal(r.json.error.details.remote_wal_head, git(remote, 'rev-parse', 'refs/grit/wal').trim());
    assert.match(r.json.error.details.suggestion, /something other than grit wrote or edited refs\/grit\/wal on origin: compare it with `git ls-remote origin refs\/grit\/wal`/);
    assert.doesNotMatch(r.json.error.details.suggestion, /grit doctor/);
    assert.deepEqual(refs(b), before);
    assert.deepEqual(await gritSetup(b, ['issue', 'list']), listBefore);
    assert.equal((await shownNow(b, id)).eventIds.length, 2);
    // A push-only sync refuses as well (it validates what it fetched before anything else).
    assert.equal(grit(b, ['sync', '--push', '--json']).json.error.code, 'wal_error');
    assert.deepEqual(refs(b), before);
    // The remote is not touched by a failed sync.
    assert.notEqual(git(remote, 'rev-parse', 'refs/grit/wal').trim(), before['refs/grit/wal']);
  });
}

test('sync imports new snapshots and rebuild works from them in the other clone', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  for (let i = 0; i < 3; i++) await gritSetup(a, ['issue', 'create', '--title', `i${i}`]);
  const snap = await gritSetup(a, ['snapshot']);
  await gritSetup(a, ['sync']);
  git(a, 'push', '-q', 'origin', `${snap.snapshot_ref}:${snap.snapshot_ref}`);
  // Not snapshots: a ref of another name, and a commit that is no snapshot under a snapshot's name.
  const walHead = git(a, 'rev-parse', 'refs/grit/wal').trim();
  git(remote, 'update-ref', 'refs/grit/snapshots/notanumber', snap.snapshot_oid ?? git(a, 'rev-parse', snap.snapshot_ref).trim());
  git(remote, 'update-ref', 'refs/grit/snapshots/123', walHead);
  const s = await gritSetup(b, ['sync']);
  assert.equal(s.snapshots_fetched, 1);
  assert.deepEqual(Object.keys(refs(b, 'refs/grit/snapshots/')), [snap.snapshot_ref]);
  assert.equal(refs(b, 'refs/grit/snapshots/')[snap.snapshot_ref], refs(remote, 'refs/grit/snapshots/')[snap.snapshot_ref]);
  const rebuilt = gritOk(b, ['rebuild', '--from-snapshot']);
  assert.equal(rebuilt.from_snapshot, true);
  assert.equal(rebuilt.event_count, 3);
  // A local `snapshot gc` is not undone by the next sync.
  await gritSetup(b, ['snapshot', 'gc', '--keep', '0']);
  assert.equal((await gritSetup(b, ['sync'])).snapshots_fetched, 0);
  assert.deepEqual(refs(b, 'refs/grit/snapshots/'), {});
});

test('a snapshot fetched by a sync that did not take it in (sync --push, or a sync killed after its fetch) is imported by the next pull', { timeout: 60_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  await gritSetup(b, ['sync']);
  // A new event each time: a snapshot of an unchanged WAL is the one there already.
  const shared = async (): Promise<string> => {
    await gritSetup(a, ['issue', 'create', '--title', 'more']);
    await gritSetup(a, ['sync']);
    const snap = await gritSetup(a, ['snapshot']);
    git(a, 'push', '-q', 'origin', `${snap.snapshot_ref}:${snap.snapshot_ref}`);
    return snap.snapshot_ref;
  };
  // Before, the fetch of either moved the tracking ref, so the next pull took the snapshot for
  // one seen already and never imported it.
  const first = await shared();
  assert.equal(gritOk(b, ['sync', '--push']).snapshots_fetched, 0);
  assert.equal(gritOk(b, ['sync']).snapshots_fetched, 1, 'after sync --push');
  const second = await shared();
  const killed = grit(b, ['sync', '--json'], { env: { GRIT_FAULT: 'sync:fetched' } });
  assert.equal(killed.code, -1, `not killed: ${killed.stdout}${killed.stderr}`);
  assert.equal(gritOk(b, ['sync']).snapshots_fetched, 1, 'after a sync killed after its fetch');
  assert.deepEqual(Object.keys(refs(b, 'refs/grit/snapshots/')).sort(), [first, second].sort());
  assert.equal(gritOk(b, ['sync']).snapshots_fetched, 0);
  assert.deepEqual(readdirSync(join(b, '.git', 'grit')).filter((n) => n.startsWith('sync-seen')), [], 'the record outlived the pull');
});

test('a record of what sync saw that cannot be written (here a directory at its path, as a full disk would refuse it) does not fail the sync', { timeout: 60_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  await gritSetup(a, ['issue', 'create', '--title', 'one']);
  await gritSetup(a, ['sync']);
  mkdirSync(join(b, '.git', 'grit', 'sync-seen.origin.json'));
  const pulled = grit(b, ['sync', '--json']);
  assert.equal(pulled.code, 0, pulled.stdout + pulled.stderr);
  assert.equal(pulled.json.data.pulled, 1);
  assert.deepEqual(readdirSync(join(b, '.git', 'grit')).filter((n) => n.startsWith('sync-seen')), ['sync-seen.origin.json'], 'no temporary file left');
});

test('a pull where the remote was at the local head last time: fast-forward; a rewritten remote still rebases', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(3);
  const [a, b, c] = clones;
  await gritSetup(a, ['issue', 'create', '--title', 'one']);
  await gritSetup(a, ['sync']);
  assert.equal((await gritSetup(b, ['sync'])).pulled, 1);
  await gritSetup(a, ['issue', 'create', '--title', 'two']);
  await gritSetup(a, ['issue', 'create', '--title', 'three']);
  await gritSetup(a, ['sync']);
  // b's WAL head is where the remote was at b's previous fetch: validated down to it, no merge-base.
  const ff = await gritSetup(b, ['sync', '--pull']);
  assert.deepEqual([ff.pulled, ff.events_rebased], [2, 0]);
  const head = git(remote, 'rev-parse', 'refs/grit/wal').trim();
  assert.equal(git(b, 'rev-parse', 'refs/grit/wal').trim(), head);
  // Someone rewrites the remote WAL: "three" replaced by "four" (force-pushed, shared prefix kept).
  git(c, 'fetch', '-q', 'origin', 'refs/grit/wal:refs/grit/wal');
  git(c, 'update-ref', 'refs/grit/wal', `${head}~1`);
  await gritSetup(c, ['issue', 'create', '--title', 'four']);
  git(c, 'push', '-q', '--force', 'origin', 'refs/grit/wal:refs/grit/wal');
  // b's head is no longer on the remote's chain: found by the walk, then git merge-base, then a rebase.
  const rebased = await gritSetup(b, ['sync']);
  assert.deepEqual([rebased.pulled, rebased.events_rebased, rebased.pushed], [1, 1, 1]);
  const titles = async (dir: string) => (await gritSetup(dir, ['issue', 'list'])).issues.map((i: { title: string }) => i.title).sort();
  assert.deepEqual(await titles(b), ['four', 'one', 'three', 'two']);
  assert.equal((await gritSetup(a, ['sync'])).pulled, 1);
  assert.deepEqual(await titles(a), await titles(b));
  fsckClean(b);
});

test('the store fails to catch up while git fetches: the sync fails and the tracking refs are put back', { timeout: 60_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  await gritSetup(a, ['issue', 'create', '--title', 'one']);
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  // The remote gets an event and a snapshot; b's own WAL gets a commit its store cannot read.
  await gritSetup(a, ['issue', 'create', '--title', 'two']);
  const snap = await gritSetup(a, ['snapshot']);
  await gritSetup(a, ['sync']);
  git(a, 'push', '-q', 'origin', `${snap.snapshot_ref}:${snap.snapshot_ref}`);
  remoteCommit(b, 'bb'.repeat(16), { meta: '{"schema_version":2}\n' });
  const tracking = refs(b, 'refs/grit-remote/');
  const r = grit(b, ['sync', '--pull', '--json']);
  assert.equal(r.json.error.code, 'wal_error');
  assert.deepEqual(refs(b, 'refs/grit-remote/'), tracking);
  // Once the local WAL is mended, the snapshot is still new to b.
  git(b, 'update-ref', 'refs/grit/wal', 'refs/grit/wal~1');
  assert.equal((await gritSetup(b, ['sync', '--pull'])).snapshots_fetched, 1);
});

test('a remove of a label a clone has not seen is refused there, so it cannot undo the other clone\'s add', async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  const id = (await gritSetup(a, ['issue', 'create', '--title', 'shared'])).issue_id;
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  await gritSetup(a, ['issue', 'label', 'add', id, '--label', 'M']);
  const refused = grit(b, ['issue', 'label', 'remove', id, '--label', 'M', '--json']);
  assert.equal(refused.json.error.code, 'not_found');
  for (const c of [a, b, a]) await gritSetup(c, ['sync']);
  for (const c of [a, b]) assert.deepEqual((await gritSetup(c, ['issue', 'show', id])).issue.labels, ['M']);
});

test('a remove concurrent with an add of the same member loses to it though stamped later, also after its writer changed the issue since (SPEC §2: add wins): labels, assignees, dependencies; a rebuild and a snapshot agree', { timeout: 120_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  // One issue per set, each member added once and synced to both clones.
  const labelled = (await gritSetup(a, ['issue', 'create', '--title', 'labelled', '--label', 'x'])).issue_id;
  const assigned = (await gritSetup(a, ['issue', 'create', '--title', 'assigned'])).issue_id;
  await gritSetup(a, ['issue', 'assignee', 'add', assigned, '--user', 'ann']);
  const blocking = (await gritSetup(a, ['issue', 'create', '--title', 'blocking'])).issue_id;
  await gritSetup(a, ['issue', 'dep', 'add', blocking, '--target', labelled, '--type', 'blocks']);
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  const members: [string, string, string[]][] = [
    [labelled, 'label', ['--label', 'x']],
    [assigned, 'assignee', ['--user', 'ann']],
    [blocking, 'dep', ['--target', labelled, '--type', 'blocks']],
  ];
  // A removes each member and adds it again; B, which never sees A's re-add, removes it afterwards,
  // having first changed the issue after the re-add by the clock (its newest event is then newer
  // than the re-add: only the member's own adds tell what its remove had seen).
  for (const [id, set, member] of members) {
    gritOk(a, ['issue', set, 'remove', id, ...member]);
    gritOk(a, ['issue', set, 'add', id, ...member]);
  }
  for (const [id, set, member] of members) {
    await gritSetup(b, ['issue', 'comment', id, '--body', 'meanwhile']);
    gritOk(b, ['issue', set, 'remove', id, ...member]);
  }
  for (const c of [a, b, a, b]) await gritSetup(c, ['sync']);
  const show = async (c: string, id: string) => (await gritSetup(c, ['issue', 'show', id])).issue;
  const sets = async (c: string) => ({
    labels: (await show(c, labelled)).labels,
    assignees: (await show(c, assigned)).assignees,
    dependencies: (await show(c, blocking)).dependencies,
  });
  const expected = { labels: ['x'], assignees: ['ann'], dependencies: [{ target: labelled, dep_type: 'blocks' }] };
  for (const c of [a, b]) assert.deepEqual(await sets(c), expected);
  // Folded from scratch, from the WAL and from a snapshot, the same.
  gritOk(b, ['rebuild']);
  assert.deepEqual(await sets(b), expected);
  gritOk(a, ['snapshot']);
  assert.equal(gritOk(a, ['rebuild', '--from-snapshot']).from_snapshot, true);
  assert.deepEqual(await sets(a), expected);
});

test('a remove whose writer had seen the add takes it away: the same actor\'s, and one after a sync that brought the add', { timeout: 60_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  const id = (await gritSetup(a, ['issue', 'create', '--title', 'shared'])).issue_id;
  await gritSetup(a, ['issue', 'label', 'add', id, '--label', 'mine']);
  gritOk(a, ['issue', 'label', 'remove', id, '--label', 'mine']);
  await gritSetup(a, ['issue', 'label', 'add', id, '--label', 'synced']);
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  gritOk(b, ['issue', 'label', 'remove', id, '--label', 'synced']);
  for (const c of [b, a]) await gritSetup(c, ['sync']);
  for (const c of [a, b]) assert.deepEqual((await gritSetup(c, ['issue', 'show', id])).issue.labels, []);
});

test('a remove names the newest add of its member its writer had seen as parent, one in the same commit too (group commit)', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'sets', '--label', 'x'])).issue_id;
  const issue_id = fromHex(id, 16)!;
  const ctx = RepoContext.open({ cwd: repo });
  try {
    // One commit: an add of y, a comment, the remove of y, a comment, the remove of x (added by the create).
    const { events } = await ctx.write([
      { issue_id, kind: { type: 'LabelAdded', label: 'y' } },
      { issue_id, kind: { type: 'CommentAdded', body: 'between' } },
      { issue_id, kind: { type: 'LabelRemoved', label: 'y' } },
      { issue_id, kind: { type: 'CommentAdded', body: 'after' } },
      { issue_id, kind: { type: 'LabelRemoved', label: 'x' } },
    ]);
    const created = ctx.store.issueEventsOf(id)[0];
    assert.deepEqual(events[2].parent, events[0].event_id);
    assert.deepEqual(events[4].parent, created.event_id);
    assert.deepEqual(events[3].parent, events[2].event_id, 'any other event names the newest event it had seen');
    assert.deepEqual(ctx.store.getIssue(id)?.labels, []);
  } finally {
    await ctx.close();
  }
});

test('timestamps above 2^53 - 1 from another writer (SPEC §1: u64) sync in and fold alike on two clones, the issue stays writable, rebuild, snapshot, export and db checks take them; 2^64 is refused', { timeout: 120_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  const id = (await gritSetup(a, ['issue', 'create', '--title', 'ordinary', '--label', 'x'])).issue_id;
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  // Another implementation's commit: a comment at 2^53, a title from a nanosecond clock, a label
  // removed at 2^64 - 1. B, before it hears of them, retitles the issue at its own clock.
  const other = 'c3'.repeat(16);
  const [issue, actor] = [fromHex(id, 16)!, fromHex(other, 16)!];
  const stamps = ['9007199254740992', '1800000000000000000', '18446744073709551615'];
  const payloads: [number, CborValue][] = [
    [3, ['at 2^53']],
    [2, ['in nanoseconds', null]],
    [5, ['x']],
  ];
  const records = payloads.map(([tag, payload], i) => recordWithTs(issue, actor, encodeCanonical(BigInt(stamps[i])), tag, payload));
  chunkCommit(remote, other, chunkOfRecords(records));
  await gritSetup(b, ['issue', 'update', id, '--title', 'ordinary, later']);
  for (const c of [a, b, a]) await gritSetup(c, ['sync']);
  const state = (c: string) => gritSetup(c, ['issue', 'show', id]);
  const before = await state(a);
  assert.deepEqual(before, await state(b));
  assert.equal(before.issue.title, 'in nanoseconds', 'the highest timestamp writes last');
  assert.deepEqual(before.issue.labels, []);
  assert.deepEqual(
    before.events.filter((e: any) => e.actor === other).map((e: any) => [e.ts_unix_ms, e.ts_exact]),
    stamps.map((s) => [Number(s), s]),
  );

  // grit's own writes on it: stamped after the newest (no u64 is after 2^64 - 1: that again), synced back.
  await gritSetup(a, ['issue', 'comment', id, '--body', 'still writable']);
  await gritSetup(a, ['issue', 'label', 'add', id, '--label', 'x']);
  for (const c of [a, b]) await gritSetup(c, ['sync']);
  const expected = await state(b);
  assert.deepEqual(expected, await state(a));
  assert.deepEqual(expected.issue.labels, ['x']);
  assert.equal(expected.issue.comments.at(-1).body, 'still writable');
  assert.deepEqual(expected.events.slice(-2).map((e: any) => e.ts_exact), [stamps[2], stamps[2]]);
  // Past the last date of four-digit years, its chunk is dated that date.
  assert.match(git(remote, 'ls-tree', '-r', '--name-only', 'refs/grit/wal'), /^events\/9999\/12\/31\/[0-9a-f]{64}\.bin$/m);

  // Every other way of reading the events agrees.
  gritOk(b, ['rebuild']);
  assert.deepEqual(await state(b), expected);
  gritOk(b, ['snapshot']);
  assert.equal(gritOk(b, ['rebuild', '--from-snapshot']).from_snapshot, true);
  assert.deepEqual(await state(b), expected);
  const check = await gritSetup(b, ['db', 'check']);
  assert.equal(check.corrupt_count, 0, JSON.stringify(check.errors));
  assert.equal(gritOk(b, ['db', 'verify']).error_count, 0);
  const doc = JSON.parse(readFileSync(gritOk(b, ['export']).output_path, 'utf8'));
  assert.deepEqual(doc.events.filter((e: any) => e.issue_id === id), expected.events);
  // --since takes any u64 and compares it exactly (2^64 - 2 and 2^64 - 1 round to one number).
  const out = join(tempDir(), 'since.json');
  for (const [since, kept] of [
    ['1799999999999999999', 4],
    ['18446744073709551614', 3],
    ['18446744073709551615', 0],
  ] as const) {
    assert.equal(gritOk(b, ['export', '--since', since, '--output', out]).event_count, kept, since);
  }
  const tooLarge = grit(b, ['export', '--since', '18446744073709551616', '--json']);
  assert.equal(tooLarge.code, 2);
  assert.equal(tooLarge.json?.error?.code, 'invalid_args');
  assert.match(tooLarge.json?.error?.message, /at most 18446744073709551615/);
  const md = readFileSync(gritOk(b, ['export', '--format', 'md']).output_path, 'utf8');
  assert.match(md, /\*\*Updated:\*\* 18446744073709552000 ms after 1970-01-01T00:00:00.000Z\n/);
  assert.match(md, /at 9007199254740992 ms after 1970-01-01T00:00:00.000Z:\n/);
  fsckClean(b);

  // 2^64 is no u64 (CBOR holds it only as a bignum, a tag): refused, nothing applied.
  chunkCommit(remote, other, chunkOfRecords([recordWithTs(issue, actor, Buffer.from('c249010000000000000000', 'hex'), 3, ['2^64'])]));
  const r = grit(b, ['sync', '--pull', '--json']);
  assert.equal(r.code, 1, r.stdout);
  assert.equal(r.json?.error?.code, 'wal_error');
  assert.deepEqual(await state(b), expected);
});

test('a git push that something kills is said to have been killed, not to have "exited with -1"', { timeout: 60_000 }, async () => {
  const { clones } = await network(1);
  const [a] = clones;
  await gritSetup(a, ['issue', 'create', '--title', 'unpushed']);
  const bin = tempDir();
  const realGit = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
  writeFileSync(join(bin, 'git'), `#!/bin/sh\ncase " $* " in *" push "*) kill -9 $$;; esac\nexec "${realGit}" "$@"\n`, { mode: 0o755 });
  const r = grit(a, ['sync', '--json', '--no-daemon'], { env: { PATH: `${bin}:${process.env.PATH}` } });
  assert.equal(r.json?.error?.code, 'git_error', r.stdout + r.stderr);
  assert.match(r.json.error.message, /^git push to origin failed: git was ended by SIGKILL \(something killed it\)$/);
  assert.equal(gritOk(a, ['sync']).pushed, 1, 'pushed by the next sync');
});
