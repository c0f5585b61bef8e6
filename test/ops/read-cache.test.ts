/**
 * A long-lived context (a daemon worker's) remembers `issue list` results while the
 * store is unchanged. Every way the store changes must show in the next list: a write through the
 * context, a write by another process, a sync-like catch-up from the WAL, a rebuild.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RepoContext } from '../../src/commands/context.js';
import { issueCreate, issueList, issueClose } from '../../src/commands/issues.js';
import { rebuild } from '../../src/commands/rebuild.js';
import { gritOk, tempRepo, gritInit } from '../helpers/repo.js';
import { startDaemon } from '../helpers/daemon.js';

test('issue list is remembered while the store is unchanged, and never after it changed', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const ctx = RepoContext.open({ cwd: repo });
  ctx.keepsReads = true;
  try {
    const titles = async (args = {}) => (await issueList(ctx, args)).issues.map((i) => i.title).sort();
    await issueCreate(ctx, { title: 'one' });
    const first = await issueList(ctx, {});
    assert.equal(await issueList(ctx, {}), first, 'the same read answered from memory');
    assert.throws(() => (first.issues as unknown[]).push({}), TypeError, 'a remembered result cannot be changed');
    assert.throws(() => ((first.issues[0] as { title: string }).title = 'x'), TypeError);

    await issueCreate(ctx, { title: 'two' });
    assert.deepEqual(await titles(), ['one', 'two'], 'a write through the context');

    gritOk(repo, ['issue', 'create', '--title', 'three', '--no-daemon']);
    assert.deepEqual(await titles(), ['one', 'three', 'two'], 'a write by another process');

    const { issue_id } = gritOk(repo, ['issue', 'list', '--no-daemon']).issues.find((i: { title: string }) => i.title === 'one');
    await issueClose(ctx, { issue_id });
    assert.deepEqual(await titles({ state: 'open' }), ['three', 'two'], 'filters are remembered apart');
    assert.deepEqual(await titles({ state: 'closed' }), ['one']);

    // A rebuild gives the same issues here, so what shows it is a fresh read, not the old answer.
    const beforeRebuild = await issueList(ctx, {});
    await rebuild(ctx, {});
    const afterRebuild = await issueList(ctx, {});
    assert.notEqual(afterRebuild, beforeRebuild, 'read again after a rebuild');
    assert.deepEqual(afterRebuild, beforeRebuild);
  } finally {
    await ctx.close();
  }
});

test('a one-command context reads every time', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const ctx = RepoContext.open({ cwd: repo });
  try {
    await issueCreate(ctx, { title: 'one' });
    const first = await issueList(ctx, {});
    assert.notEqual(await issueList(ctx, {}), first);
    assert.equal(Object.isFrozen(first.issues), false);
  } finally {
    await ctx.close();
  }
});

test('through a daemon: a write by another process shows in the next list', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const daemon = await startDaemon();
  try {
    const client = await daemon.client();
    const titles = async () => (await client.issueList({}, { repoRoot: repo })).issues.map((i) => i.title).sort();
    await client.issueCreate({ title: 'one' }, { repoRoot: repo });
    assert.deepEqual(await titles(), ['one']);
    assert.deepEqual(await titles(), ['one']);
    gritOk(repo, ['issue', 'create', '--title', 'two']); // GRIT_NO_DAEMON=1: another process
    assert.deepEqual(await titles(), ['one', 'two']);
    client.close();
  } finally {
    await daemon.stop();
  }
});
