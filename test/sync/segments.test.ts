/**
 * A pull longer than a segment (SyncOptions.segmentCommits, lowered here to 2 commits) and than
 * what is kept between validating and applying (`keepEvents`, 0 here): validated whole before
 * anything is applied, then read again and applied a segment at a time, each store transaction
 * recording a commit whose events the store holds (docs/sync.md, "Validate" and "Store").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { syncWith } from '../../src/commands/sync.js';
import { RepoContext } from '../../src/commands/context.js';
import type { Event } from '../../src/core/event.js';
import { git, gritOk, gritSetup } from '../helpers/repo.js';
import { network } from './_helpers.js';
import { remoteCommit } from '../reliability/_remote.js';
import { join } from 'node:path';
import { toHex } from '../../src/core/hex.js';
import { KeptWalReader } from '../../src/git/kept-wal-reader.js';
import { startDaemon } from '../helpers/daemon.js';
import { generateWal } from '../helpers/gen-events.js';

const PULL = fileURLToPath(new URL('./_segment-pull.js', import.meta.url));

/** `a` writes `n` events, one commit each, and pushes them; returns the issue ids. */
async function pushed(a: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) ids.push((await gritSetup(a, ['issue', 'create', '--title', `issue ${i}`])).issue_id);
    else await gritSetup(a, ['issue', 'comment', ids[ids.length - 1], '--body', `comment ${i}`]);
  }
  await gritSetup(a, ['sync']);
  return ids;
}

/** Everything the store shows, in a form two clones can be compared by. */
function shownAll(clone: string): unknown {
  return gritOk(clone, ['issue', 'list']).issues.map((i: { issue_id: string }) => gritOk(clone, ['issue', 'show', i.issue_id]));
}

/** A pull in this process with two commits a segment; records each store transaction's events and head. */
async function pullInSegments(clone: string, opts: { push?: boolean; keepEvents?: number } = {}) {
  const ctx = RepoContext.open({ cwd: clone });
  const applies: { events: number; head: string | null }[] = [];
  const apply = ctx.store.apply.bind(ctx.store);
  ctx.store.apply = (events: readonly Event[], from: string | null, head: string | null) => {
    applies.push({ events: events.length, head });
    return apply(events, from, head);
  };
  try {
    const result = await syncWith(ctx, { remote: 'origin', pull: true, push: opts.push ?? false, segmentCommits: 2, keepEvents: opts.keepEvents ?? 0 });
    return { result, applies, meta: ctx.store.getMeta() };
  } finally {
    await ctx.close();
  }
}

const walHead = (dir: string) => git(dir, 'rev-parse', 'refs/grit/wal').trim();

test('a pull of more than a segment is applied a segment at a time, each step recording its last commit; the store ends as a rebuild would', { timeout: 90_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  await pushed(a, 7);
  const run = await pullInSegments(b);
  assert.equal(run.result.pulled, 7);
  const chain = git(remote, 'rev-list', '--first-parent', '--reverse', 'refs/grit/wal').trim().split('\n');
  // Four steps of 2, 2, 2 and 1 commits (the store caught up with b's empty WAL while git fetched).
  assert.deepEqual(run.applies.slice(-4), [
    { events: 2, head: chain[1] },
    { events: 2, head: chain[3] },
    { events: 2, head: chain[5] },
    { events: 1, head: chain[6] },
  ]);
  assert.equal(run.meta.wal_head, walHead(remote));
  assert.equal(run.meta.event_count, 7);
  // Filled from empty by the pull: as good as a rebuild, and counted as one (db stats, doctor).
  assert.equal(run.meta.events_since_rebuild, 0);
  assert.ok(run.meta.last_rebuild_ts !== null);
  const pulled = shownAll(b);
  assert.deepEqual(pulled, shownAll(a));
  gritOk(b, ['rebuild']);
  assert.deepEqual(shownAll(b), pulled);
  // A pull of no more events than are kept: read once, in segments, and applied in one step.
  await pushed(a, 3);
  const short = await pullInSegments(b, { keepEvents: 3 });
  assert.equal(short.result.pulled, 3);
  assert.deepEqual(short.applies.slice(-1), [{ events: 3, head: walHead(remote) }]);
  assert.equal(short.applies.filter((s) => s.events > 0).length, 1);
  assert.equal(short.meta.events_since_rebuild, 3, 'a pull into a store that held events counts them');
});

test('a bad commit in the last segment of a long pull: wal_error, and nothing of the pull is applied (the earlier segments neither)', { timeout: 90_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  await pushed(a, 1);
  await gritSetup(b, ['sync']);
  const before = { head: walHead(b), list: shownAll(b) };
  await pushed(a, 6);
  remoteCommit(remote, 'bb'.repeat(16), { meta: '{"schema_version":2}\n' });
  const run = await pullInSegments(b).then(
    () => assert.fail('the pull succeeded'),
    (err) => err,
  );
  assert.equal(run.code, 'wal_error', String(run));
  assert.equal(walHead(b), before.head);
  const ctx = RepoContext.open({ cwd: b });
  try {
    assert.deepEqual([ctx.store.getMeta().wal_head, ctx.store.getMeta().event_count], [before.head, 1]);
  } finally {
    await ctx.close();
  }
  assert.deepEqual(shownAll(b), before.list);
});

test('a rebase onto a long pull: local events re-appended, the remote ones applied a segment at a time, counts as for one segment', { timeout: 90_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  const [shared] = await pushed(a, 1);
  await gritSetup(b, ['sync']);
  await gritSetup(b, ['issue', 'comment', shared, '--body', 'local one']);
  await gritSetup(b, ['issue', 'create', '--title', 'local two']);
  await pushed(a, 5);
  const run = await pullInSegments(b, { push: true });
  assert.deepEqual([run.result.pulled, run.result.events_rebased, run.result.pushed], [5, 2, 2]);
  // The remote's 5 commits in three steps (2, 2, 1 events), the last recording the rebased tip.
  assert.deepEqual(run.applies.slice(-3).map((s) => s.events), [2, 2, 1]);
  assert.equal(run.applies[run.applies.length - 1].head, walHead(remote));
  assert.equal(run.meta.wal_head, walHead(b));
  await gritSetup(a, ['sync']);
  const merged = shownAll(b);
  assert.deepEqual(merged, shownAll(a));
  gritOk(b, ['rebuild']);
  assert.deepEqual(shownAll(b), merged);
});

test('kill -9 after the first segment of a pull is applied: the WAL is the remote\'s, the store is at a commit on it, and the next command catches up', { timeout: 90_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  await pushed(a, 7);
  const killed = spawnSync(process.execPath, [PULL, b], { env: { ...process.env, GRIT_FAULT: 'sync:step-applied' }, encoding: 'utf8' });
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  const chain = git(remote, 'rev-list', '--first-parent', '--reverse', 'refs/grit/wal').trim().split('\n');
  assert.equal(walHead(b), chain[6]);
  const ctx = RepoContext.open({ cwd: b });
  try {
    assert.deepEqual([ctx.store.getMeta().wal_head, ctx.store.getMeta().event_count], [chain[1], 2]);
  } finally {
    await ctx.close();
  }
  assert.deepEqual(shownAll(b), shownAll(a));
  await gritSetup(b, ['db', 'check']); // exits non-zero on a problem
  // Killed before it said so, the pull is not undone: the next one finds nothing new.
  assert.equal((await gritSetup(b, ['sync', '--pull'])).pulled, 0);
});

test('a pull read together with a kept reader thread (a daemon worker\'s): one step, the events oldest first, as without one; through a daemon the store ends the same', { timeout: 90_000 }, async () => {
  const { remote, clones } = await network(4);
  const [a, b, c, d] = clones;
  // 400 commits: over the 128 from which a kept thread shares the reading.
  await generateWal(join(a, '.git'), { seed: 9, events: 400, actors: [{ id: 'ab'.repeat(16) }], batchMax: 1 });
  git(a, 'push', '-q', 'origin', 'refs/grit/wal:refs/grit/wal');
  const pull = async (clone: string, kept: boolean) => {
    const ctx = RepoContext.open({ cwd: clone });
    const applies: string[][] = [];
    const apply = ctx.store.apply.bind(ctx.store);
    ctx.store.apply = (events: readonly Event[], from: string | null, head: string | null) => {
      applies.push(events.map((e) => toHex(e.event_id)));
      return apply(events, from, head);
    };
    if (kept) {
      ctx.keptReader = new KeptWalReader(ctx.repo.commonDir);
      ctx.keptReader.start((await ctx.wal.head())!); // as an earlier long pull started it
      await new Promise((r) => setTimeout(r, 500)); // up and warm, as a daemon worker's is
    }
    try {
      const result = await syncWith(ctx, { remote: 'origin', pull: true, push: false });
      return { pulled: result.pulled, applies, meta: ctx.store.getMeta() };
    } finally {
      await ctx.close();
    }
  };
  const shared = await pull(b, true);
  const alone = await pull(c, false);
  assert.equal(shared.pulled, 400);
  assert.equal(shared.applies.length, 1, 'kept from validating: applied in one step');
  assert.deepEqual(shared.applies, alone.applies, 'the same events, oldest first');
  assert.equal(shared.meta.wal_head, walHead(remote));
  const daemon = await startDaemon();
  try {
    assert.equal(gritOk(d, ['sync', '--pull'], { env: daemon.env }).pulled, 400);
    assert.deepEqual(gritOk(d, ['sync', '--pull'], { env: daemon.env }).pulled, 0);
  } finally {
    await daemon.stop();
  }
  const listed = async (clone: string) => (await gritSetup(clone, ['issue', 'list'])).issues;
  const shown = await listed(c);
  assert.ok(shown.length > 10, `${shown.length} issues`);
  assert.deepEqual(await listed(b), shown);
  assert.deepEqual(await listed(d), shown);
});
