import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { open } from 'lmdb';
import { makeEvent, type Event } from '../../src/core/event.js';
import { toHex } from '../../src/core/hex.js';
import type { DepType, EventKind } from '../../src/core/kinds.js';
import { Store } from '../../src/core/store.js';
import { gritOk, tempDir, tempRepo, gritInit, gritSetup, createdIssues } from '../helpers/repo.js';
import { walHead } from '../helpers/wal-head.js';

const bytes = (n: number) => new Uint8Array(16).fill(n);
const [A, B, C] = [1, 2, 3].map(bytes);
const [a, b, c] = [A, B, C].map(toHex);
const actors = [bytes(0x10), bytes(0x20)];

function ev(issue: Uint8Array, kind: EventKind, ts: number, actor = actors[0]): Event {
  return makeEvent({ issue_id: issue, actor, ts_unix_ms: ts, parent: null, kind });
}
const created = (issue: Uint8Array, title: string) => ev(issue, { type: 'IssueCreated', title, body: '', labels: [] }, 1000);
const add = (issue: Uint8Array, target: Uint8Array, dep_type: DepType, ts: number, actor = actors[0]) =>
  ev(issue, { type: 'DependencyAdded', target, dep_type }, ts, actor);
const remove = (issue: Uint8Array, target: Uint8Array, dep_type: DepType, ts: number, actor = actors[0]) =>
  ev(issue, { type: 'DependencyRemoved', target, dep_type }, ts, actor);

/** Applies batches as successive WAL heads 1, 2, … */
function applyAll(store: Store, ...batches: Event[][]): void {
  let head: string | null = store.getMeta().wal_head;
  for (const batch of batches) {
    const next = walHead(parseInt(head ?? '0', 16) + 1);
    assert.ok(store.apply(batch, head, next));
    head = next;
  }
}

test('forward and reverse indexes follow adds and removes, with the issue projection', async () => {
  const store = Store.open(tempDir());
  try {
    applyAll(
      store,
      [created(A, 'a'), created(B, 'b'), created(C, 'c')],
      [add(A, B, 'depends_on', 2000), add(C, B, 'blocks', 2001), add(A, C, 'related_to', 2002)],
    );
    assert.deepEqual(store.dependenciesOf(a), [
      { issue_id: a, target: b, dep_type: 'depends_on' },
      { issue_id: a, target: c, dep_type: 'related_to' },
    ]);
    assert.deepEqual(store.dependentsOf(b), [
      { issue_id: a, target: b, dep_type: 'depends_on' },
      { issue_id: c, target: b, dep_type: 'blocks' },
    ]);
    assert.deepEqual(store.orderingSuccessors(b), [a], 'b comes before a (a depends on it)');
    assert.deepEqual(store.orderingSuccessors(c), [b], 'c blocks b');
    assert.deepEqual(store.getIssue(a)!.dependencies, [
      { target: b, dep_type: 'depends_on' },
      { target: c, dep_type: 'related_to' },
    ]);
    applyAll(store, [remove(A, B, 'depends_on', 3000)]);
    assert.deepEqual(store.dependenciesOf(a), [{ issue_id: a, target: c, dep_type: 'related_to' }]);
    assert.deepEqual(store.dependentsOf(b), [{ issue_id: c, target: b, dep_type: 'blocks' }]);
    assert.equal(store.hasDependency({ issue_id: a, target: b, dep_type: 'depends_on' }), false);
    assert.equal([...store.allDependencies()].length, 2);
    store.clear();
    assert.equal([...store.allDependencies()].length, 0);
    assert.deepEqual(store.dependentsOf(b), []);
  } finally {
    await store.close();
  }
});

test('add/remove set: a concurrent add and remove (same ms) leave the edge; a later remove drops it', async () => {
  const store = Store.open(tempDir());
  try {
    // Two actors in the same millisecond: one adds, one removes. Add wins, in either arrival order.
    applyAll(store, [remove(A, B, 'blocks', 5000, actors[1])], [created(A, 'a'), created(B, 'b')], [add(A, B, 'blocks', 5000)]);
    assert.equal(store.hasDependency({ issue_id: a, target: b, dep_type: 'blocks' }), true);
    applyAll(store, [remove(A, B, 'blocks', 5001, actors[1])]);
    assert.equal(store.hasDependency({ issue_id: a, target: b, dep_type: 'blocks' }), false);
    assert.deepEqual(store.orderingSuccessors(a), []);
    applyAll(store, [add(A, B, 'blocks', 5000, actors[1])]); // an old add arriving late changes nothing
    assert.equal(store.hasDependency({ issue_id: a, target: b, dep_type: 'blocks' }), false);
  } finally {
    await store.close();
  }
});

test('edges recorded before their issue is created are indexed once it is', async () => {
  const store = Store.open(tempDir());
  try {
    applyAll(store, [created(B, 'b'), add(A, B, 'depends_on', 2000)]);
    assert.deepEqual(store.dependentsOf(b), [], 'no issue A yet');
    applyAll(store, [created(A, 'a')]);
    assert.deepEqual(store.dependentsOf(b), [{ issue_id: a, target: b, dep_type: 'depends_on' }]);
  } finally {
    await store.close();
  }
});

test("an issue's events are its own range of the log; a string that is not an issue id has none", async () => {
  const store = Store.open(tempDir());
  try {
    applyAll(store, [created(A, 'a'), created(B, 'b'), add(A, B, 'depends_on', 2000)]);
    assert.deepEqual(store.issueEventsOf(a).map((e) => e.kind.type), ['IssueCreated', 'DependencyAdded']);
    assert.equal(store.lastEventOf(a)?.kind.type, 'DependencyAdded');
    assert.deepEqual(store.issueEventsOf(b).map((e) => e.kind.type), ['IssueCreated']);
    for (const bad of ['zz', a.slice(0, 8), '']) {
      assert.deepEqual(store.issueEventsOf(bad), [], bad);
      assert.equal(store.lastEventOf(bad), undefined, bad);
    }
  } finally {
    await store.close();
  }
});

test('db check compares the dependency indexes with the projections; rebuild repairs them', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const [x, y] = await createdIssues(repo, ['X', 'Y']);
  await gritSetup(repo, ['issue', 'dep', 'add', x, '--target', y, '--type', 'depends_on']);
  assert.deepEqual((await gritSetup(repo, ['db', 'check'])).errors, []);
  const actorDir = join(repo, '.git', 'grit', 'actors', gritOk(repo, ['actor', 'current']).actor.actor_id);
  const root = open({ path: join(actorDir, 'store.mdb'), maxDbs: 16, compression: false });
  root.transactionSync(() => {
    root.openDB({ name: 'rdeps' }).removeSync(`${y}:${x}:depends_on`);
    root.openDB({ name: 'deps' }).putSync(`${y}:${x}:blocks`, true);
  });
  await root.close();
  const problems = (await gritSetup(repo, ['db', 'check'])).errors;
  assert.deepEqual(problems.map((e: any) => e.problem), ['index_mismatch', 'index_mismatch']);
  assert.match(problems[0].message, /forward dependency index holds .*:blocks, which no issue records/);
  assert.match(problems[1].message, /reverse dependency index lacks .*:depends_on/);
  gritOk(repo, ['rebuild']);
  assert.deepEqual((await gritSetup(repo, ['db', 'check'])).errors, []);
  assert.deepEqual(gritOk(repo, ['issue', 'dep', 'list', y, '--reverse']).dependencies.map((e: any) => e.issue_id), [x]);
});
