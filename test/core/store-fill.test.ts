import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareEvents, makeEvent, type Event } from '../../src/core/event.js';
import { toHex } from '../../src/core/hex.js';
import { PROJECT_CONTEXT_ID } from '../../src/core/ids.js';
import type { EventKind } from '../../src/core/kinds.js';
import { summarize } from '../../src/core/projection.js';
import { Store } from '../../src/core/store.js';
import { StoreFill, type FillPlan } from '../../src/core/store-fill.js';
import { GritError } from '../../src/core/errors.js';
import { pick, rng, shuffle } from '../helpers/random.js';
import { randomKind } from '../helpers/random-kinds.js';
import { tempDir } from '../helpers/repo.js';
import { walHead } from '../helpers/wal-head.js';

const issues = [1, 2, 3, 4].map((n) => new Uint8Array(16).fill(n));
const actors = [1, 2, 3].map((n) => new Uint8Array(16).fill(0x10 + n));

/**
 * Random events of several issues, some before their IssueCreated, with colliding timestamps,
 * project context entries, and (with `repeats`) duplicates.
 */
function randomEvents(rand: () => number, repeats: boolean): Event[] {
  const out: Event[] = [];
  for (const issue of issues) {
    let ts = 1000;
    const n = 1 + Math.floor(rand() * 25);
    const createdAt = rand() < 0.2 ? Math.floor(rand() * n) : 0; // a few issues get events before their create
    for (let i = 0; i < n; i++) {
      ts += Math.floor(rand() * 3);
      const kind: EventKind =
        i === createdAt && rand() < 0.9 ? { type: 'IssueCreated', title: `t${i}`, body: '', labels: ['bug'] } : randomKind(rand, { targets: issues, creates: true });
      out.push(makeEvent({ issue_id: issue, actor: pick(actors, rand), ts_unix_ms: ts, parent: null, kind }));
    }
  }
  for (let i = 0; i < 3; i++) {
    const kind: EventKind = { type: 'ProjectContextUpdated', key: pick(['lang', 'build'], rand), value: `v${i}` };
    out.push(makeEvent({ issue_id: PROJECT_CONTEXT_ID, actor: pick(actors, rand), ts_unix_ms: 1000 + Math.floor(rand() * 40), parent: null, kind }));
  }
  return repeats ? [...out, ...out.filter(() => rand() < 0.1)] : out;
}

/** Everything a command can read from a store; its summary table checked against its issue rows. */
function contents(store: Store) {
  assert.deepEqual(store.summaryProblems([...store.issueIds()].map((id) => summarize(store.getIssue(id)!))), []);
  return {
    meta: { ...store.getMeta(), last_rebuild_ts: null },
    events: [...store.allEvents()].map((e) => toHex(e.event_id)),
    issues: [...store.issueIds()].map((id) => store.getIssue(id)),
    labels: ['bug', 'p0', 'ui'].map((label) => store.listIssues({ label }).map((s) => s.issue_id)),
    list: store.listIssues(),
    deps: [...store.allDependencies()],
    rdeps: issues.map((i) => store.dependentsOf(toHex(i))),
    project: store.context.projectEntries(),
  };
}

/**
 * What a store holds after `build` made it from `events`, and after `later` was applied on top
 * (which folds onto the fold states `build` left).
 */
async function built(build: (store: Store) => boolean, later: readonly Event[]) {
  const store = Store.open(tempDir());
  try {
    assert.ok(build(store));
    const first = contents(store);
    assert.ok(store.apply(later, walHead(), walHead(2)));
    return [first, contents(store)];
  } finally {
    await store.close();
  }
}

for (const [order, repeats] of [['event order', false], ['any order', false], ['any order, with repeats', true]] as const) {
  test(`a store filled from events in ${order} holds what applying them gives, and takes more events alike (100 seeds)`, async () => {
    for (let seed = 1; seed <= 100; seed++) {
      const rand = rng(seed);
      const all = randomEvents(rand, repeats);
      const events = order === 'event order' ? [...all].sort(compareEvents) : shuffle(all, rand);
      const cut = Math.floor(events.length * 0.7);
      const [first, later] = [events.slice(0, cut), events.slice(cut)];
      const size = 1 + Math.floor(rand() * 20);
      const fill = new StoreFill(8);
      for (let i = 0; i < first.length; i += size) fill.add(first.slice(i, i + size));
      const viaFill = await built((store) => store.fill(fill, walHead()), later);
      const viaApply = await built((store) => store.apply(first, null, walHead()), later);
      assert.deepEqual(viaFill, viaApply, `seed ${seed}`);
    }
  });
}

test('a store that is not empty is not filled', async () => {
  const events = randomEvents(rng(3), false).sort(compareEvents);
  const store = Store.open(tempDir());
  try {
    assert.ok(store.apply(events.slice(0, 1), null, walHead(0)));
    const fill = new StoreFill();
    fill.add(events);
    assert.equal(store.fill(fill, walHead(1)), false);
    assert.equal(store.getMeta().wal_head, walHead(0));
    assert.equal([...store.allEvents()].length, 1);
  } finally {
    await store.close();
  }
});

test('an append LMDB refuses (a key out of order) fails the fill with internal_error, and nothing is written', async () => {
  /** A fill that claims each issue's events are in order while handing them over newest first. */
  class Misordered extends StoreFill {
    override plan(): FillPlan {
      const plan = super.plan();
      const order = plan.order.slice();
      for (let i = 0; i + 1 < plan.starts.length; i++) order.subarray(plan.starts[i], plan.starts[i + 1]).reverse();
      return { ...plan, order };
    }
  }
  const fill = new Misordered();
  fill.add(randomEvents(rng(5), false).sort(compareEvents));
  const store = Store.open(tempDir());
  try {
    assert.throws(
      () => store.fill(fill, walHead()),
      (err: unknown) => err instanceof GritError && err.code === 'internal_error' && /out of order/.test(err.message),
    );
    assert.deepEqual([store.getMeta().wal_head, [...store.allEvents()].length, [...store.issueIds()].length], [null, 0, 0]);
  } finally {
    await store.close();
  }
});

test('a store filled from records taken undecoded holds what applying their events gives; one that does not decode fails the fill with wal_error, and nothing is written', async () => {
  const { encodeChunk, scanChunkRecords } = await import('../../src/core/chunk.js');
  for (let seed = 1; seed <= 20; seed++) {
    const rand = rng(seed);
    const events = shuffle(randomEvents(rand, true), rand);
    const fill = new StoreFill(8);
    for (let i = 0; i < events.length; i += 7) fill.addRecords(scanChunkRecords(encodeChunk(events.slice(i, i + 7)).bytes)!);
    const viaRecords = await built((store) => store.fill(fill, walHead()), []);
    const viaApply = await built((store) => store.apply(events, null, walHead()), []);
    assert.deepEqual(viaRecords, viaApply, `seed ${seed}`);
  }
  const { chunkOfRecords, unknownKindRecord } = await import('../helpers/bad-records.js');
  const fill = new StoreFill();
  fill.addRecords(scanChunkRecords(encodeChunk(randomEvents(rng(7), false)).bytes)!);
  fill.addRecords(scanChunkRecords(chunkOfRecords([unknownKindRecord(issues[2], actors[0], 1001)]))!);
  const store = Store.open(tempDir());
  try {
    assert.throws(
      () => store.fill(fill, walHead()),
      (err: unknown) => err instanceof GritError && err.code === 'wal_error' && /^event [0-9a-f]{64} in the WAL is not valid/.test(err.message),
    );
    assert.deepEqual([store.getMeta().wal_head, [...store.allEvents()].length, [...store.issueIds()].length], [null, 0, 0]);
  } finally {
    await store.close();
  }
});

test('issues whose ids begin alike are kept apart (a fill files issues by the first bytes of their ids)', async () => {
  const twins = [1, 2, 3].map((last) => Uint8Array.from([7, 7, 7, 7, ...new Array(11).fill(0), last]));
  const rand = rng(11);
  const events = shuffle(
    twins.flatMap((issue, i) => [
      makeEvent({ issue_id: issue, actor: actors[0], ts_unix_ms: 1000 + i, parent: null, kind: { type: 'IssueCreated', title: `twin ${i}`, body: '', labels: [] } }),
      ...[1, 2, 3].map((k) => makeEvent({ issue_id: issue, actor: actors[k - 1], ts_unix_ms: 2000 + k, parent: null, kind: { type: 'CommentAdded', body: `c${i}.${k}` } })),
    ]),
    rand,
  );
  const fill = new StoreFill();
  fill.add(events);
  const [viaFill] = await built((store) => store.fill(fill, walHead()), []);
  const [viaApply] = await built((store) => store.apply(events, null, walHead()), []);
  assert.deepEqual(viaFill, viaApply);
  assert.deepEqual(viaFill.issues.map((i) => i?.title), ['twin 0', 'twin 1', 'twin 2']);
  assert.deepEqual(viaFill.issues.map((i) => i?.comments.length), [3, 3, 3]);
});
