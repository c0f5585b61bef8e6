import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fixture } from '../helpers/paths.js';
import { git, gritAsync, gritOk, gritSetup } from '../helpers/repo.js';
import { network } from '../sync/_helpers.js';

/** The winner of SPEC §2's last-writer-wins: the greatest (ts, actor, event_id). */
function newest<T extends { updated_ts: number; actor: string; event_id: string }>(a: T, b: T): T {
  if (a.updated_ts !== b.updated_ts) return a.updated_ts > b.updated_ts ? a : b;
  if (a.actor !== b.actor) return a.actor > b.actor ? a : b;
  return a.event_id > b.event_id ? a : b;
}

test('two clones set the same key concurrently and converge after sync', { timeout: 60_000 }, async () => {
  const { remote, clones } = await network(2);
  const [a, b] = clones;
  await gritSetup(a, ['context', 'set', 'shared', 'base']);
  await gritSetup(a, ['sync']);
  await gritSetup(b, ['sync']);
  assert.equal(gritOk(b, ['context', 'project', 'shared']).value, 'base');
  // Both write at once, each also a key of its own; nothing synced in between.
  const [ra, rb] = await Promise.all([
    gritAsync(a, ['context', 'set', 'shared', 'from A', '--json']),
    gritAsync(b, ['context', 'set', 'shared', 'from B', '--json']),
  ]);
  assert.ok(ra.json?.ok && rb.json?.ok, `${ra.stdout}${rb.stdout}`);
  await gritSetup(a, ['context', 'set', 'only.a', '1']);
  await gritSetup(b, ['context', 'set', 'only.b', '2']);
  const local = { a: gritOk(a, ['context', 'project', 'shared']), b: gritOk(b, ['context', 'project', 'shared']) };
  assert.deepEqual([local.a.value, local.b.value], ['from A', 'from B']);

  await gritSetup(a, ['sync']);
  assert.equal((await gritSetup(b, ['sync'])).events_rebased, 2);
  await gritSetup(a, ['sync']);
  const pa = gritOk(a, ['context', 'project']);
  const pb = gritOk(b, ['context', 'project']);
  assert.deepEqual(pa, pb);
  assert.deepEqual(pa.entries.map((e: any) => e.key), ['only.a', 'only.b', 'shared']);
  const winner = newest(local.a, local.b);
  assert.deepEqual(gritOk(a, ['context', 'project', 'shared']), winner);
  assert.equal(git(a, 'rev-parse', 'refs/grit/wal').trim(), git(remote, 'rev-parse', 'refs/grit/wal').trim());
  assert.equal(git(b, 'rev-parse', 'refs/grit/wal').trim(), git(remote, 'rev-parse', 'refs/grit/wal').trim());
});

test('file context indexed in one clone is shared: the other queries it and skips identical files', { timeout: 60_000 }, async () => {
  const { clones } = await network(2);
  const [a, b] = clones;
  for (const clone of clones) {
    cpSync(fixture('context'), join(clone, 'src'), { recursive: true });
    git(clone, 'add', '-A');
  }
  assert.equal(gritOk(a, ['context', 'index']).indexed, 11);
  await gritSetup(a, ['sync']);
  assert.equal((await gritSetup(b, ['sync'])).pulled, 11);
  assert.deepEqual(
    gritOk(b, ['context', 'query', 'NewPolygon']).results.map((r: any) => [r.path, r.kind, r.line_start, r.line_end]),
    [['src/sample.go', 'function', 24, 26]],
  );
  // B's worktree holds the same bytes: nothing to write.
  const d = gritOk(b, ['context', 'index']);
  assert.deepEqual([d.indexed, d.unchanged, d.events_written], [0, 11, 0]);
});
