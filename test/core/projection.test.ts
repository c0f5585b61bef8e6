import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEvent, type Event } from '../../src/core/event.js';
import type { EventKind } from '../../src/core/kinds.js';
import { foldIssue } from '../../src/core/projection.js';
import { pick, rng, shuffle } from '../helpers/random.js';
import { randomKind } from '../helpers/random-kinds.js';

const issue = new Uint8Array(16).fill(1);
const actors = [1, 2, 3].map((n) => new Uint8Array(16).fill(0x10 + n));

function ev(kind: EventKind, ts: number, actor = actors[0]): Event {
  return makeEvent({ issue_id: issue, actor, ts_unix_ms: ts, parent: null, kind });
}

const targets = [5, 6, 7].map((n) => new Uint8Array(16).fill(n));

test('folding is the same in any order and with duplicates (200 seeds x 20 orders)', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const rand = rng(seed);
    const events = [ev({ type: 'IssueCreated', title: 'first', body: '', labels: ['bug'] }, 1000)];
    const n = 5 + Math.floor(rand() * 40);
    // Timestamps collide often on purpose: ties are where order-dependence hides.
    for (let i = 0; i < n; i++) {
      const kind = randomKind(rand, { targets });
      // Parents as writers name them (the newest event they had seen), or none.
      const parent = rand() < 0.8 ? pick(events, rand).event_id : null;
      events.push(makeEvent({ issue_id: issue, actor: pick(actors, rand), ts_unix_ms: 1000 + Math.floor(rand() * 10), parent, kind }));
    }
    const expected = JSON.stringify(foldIssue(events));
    for (let k = 0; k < 20; k++) {
      const dupes = events.filter(() => rand() < 0.3);
      assert.equal(JSON.stringify(foldIssue(shuffle([...events, ...dupes], rand))), expected, `seed ${seed}`);
    }
  }
});

test('title: the highest (ts, actor, event_id) wins', () => {
  const created = ev({ type: 'IssueCreated', title: 'a', body: '', labels: [] }, 1);
  const late = ev({ type: 'IssueUpdated', title: 'late', body: null }, 10, actors[0]);
  const early = ev({ type: 'IssueUpdated', title: 'early', body: null }, 5, actors[2]);
  const tieLow = ev({ type: 'IssueUpdated', title: 'tie-low', body: null }, 20, actors[0]);
  const tieHigh = ev({ type: 'IssueUpdated', title: 'tie-high', body: null }, 20, actors[1]);
  assert.equal(foldIssue([created, late, early])!.title, 'late');
  assert.equal(foldIssue([tieHigh, created, tieLow])!.title, 'tie-high');
});

test('labels: a later remove wins, a concurrent add beats a remove', () => {
  const created = ev({ type: 'IssueCreated', title: 'a', body: '', labels: ['bug'] }, 1);
  const removed = ev({ type: 'LabelRemoved', label: 'bug' }, 5);
  assert.deepEqual(foldIssue([created, removed])!.labels, []);
  const concurrentAdd = ev({ type: 'LabelAdded', label: 'bug' }, 5, actors[1]);
  assert.deepEqual(foldIssue([removed, created, concurrentAdd])!.labels, ['bug']);
  const readd = ev({ type: 'LabelAdded', label: 'bug' }, 6);
  assert.deepEqual(foldIssue([created, removed, readd])!.labels, ['bug']);
});

test('events before IssueCreated are kept and applied once it arrives', () => {
  const comment = ev({ type: 'CommentAdded', body: 'early bird' }, 2);
  assert.equal(foldIssue([comment]), null);
  const created = ev({ type: 'IssueCreated', title: 'a', body: '', labels: [] }, 3);
  const folded = foldIssue([comment, created])!;
  assert.equal(folded.comment_count, 1);
  assert.equal(folded.comments[0].body, 'early bird');
});

test('comments are ordered by (ts, actor, event_id) and labels come out sorted', () => {
  const created = ev({ type: 'IssueCreated', title: 'a', body: '', labels: ['zeta', 'alpha'] }, 1);
  const c2 = ev({ type: 'CommentAdded', body: 'second' }, 3);
  const c1 = ev({ type: 'CommentAdded', body: 'first' }, 2);
  const f = foldIssue([c2, created, c1])!;
  assert.deepEqual(f.comments.map((c) => c.body), ['first', 'second']);
  assert.deepEqual(f.labels, ['alpha', 'zeta']);
});

test('labels and assignees come out in UTF-8 byte order, as the event hashes and shows them (SPEC §1)', () => {
  // UTF-16 code units put U+1F600 (a surrogate pair, 0xD83D…) before U+FF01; UTF-8 bytes put it after.
  const created = ev({ type: 'IssueCreated', title: 'a', body: '', labels: ['😀', '！', 'a'] }, 1);
  const assignees = ['😀', '！'].map((user, i) => ev({ type: 'AssigneeAdded', user }, 2 + i));
  const f = foldIssue([created, ...assignees])!;
  assert.deepEqual(f.labels, ['a', '！', '😀']);
  assert.deepEqual(f.assignees, ['！', '😀']);
});

test('a remove takes away the adds its writer had seen, not a concurrent one stamped before it (SPEC §2: add wins); labels, assignees, dependencies', () => {
  const after = (kind: EventKind, ts: number, parent: Event | Uint8Array | null, actor = actors[0]) =>
    makeEvent({ issue_id: issue, actor, ts_unix_ms: ts, parent: parent instanceof Uint8Array || parent === null ? parent : parent.event_id, kind });
  const sets: { add: EventKind; remove: EventKind; members: (i: NonNullable<ReturnType<typeof foldIssue>>) => string[] }[] = [
    { add: { type: 'LabelAdded', label: 'x' }, remove: { type: 'LabelRemoved', label: 'x' }, members: (i) => i.labels },
    { add: { type: 'AssigneeAdded', user: 'ann' }, remove: { type: 'AssigneeRemoved', user: 'ann' }, members: (i) => i.assignees },
    {
      add: { type: 'DependencyAdded', target: targets[0], dep_type: 'blocks' },
      remove: { type: 'DependencyRemoved', target: targets[0], dep_type: 'blocks' },
      members: (i) => i.dependencies.map((d) => d.target),
    },
  ];
  for (const { add, remove, members } of sets) {
    const present = (events: Event[]) => members(foldIssue(shuffle(events, rng(events.length)))!).length === 1;
    const created = ev({ type: 'IssueCreated', title: 'a', body: '', labels: [] }, 1);
    const added = after(add, 2, created);
    // Clone A removes the member and adds it again; clone B, which saw the first add only, removes it later.
    const removedInA = after(remove, 3, added);
    const addedAgain = after(add, 4, removedInA);
    const removedInB = after(remove, 5, added, actors[1]);
    assert.ok(present([created, added, removedInA, addedAgain, removedInB]), `${add.type}: the concurrent add wins`);
    // A remove whose writer had seen the add: its parent is the add, or any event after it.
    assert.ok(!present([created, added, removedInA, addedAgain, after(remove, 5, addedAgain, actors[1])]), `${add.type}: a remove after the add`);
    const comment = after({ type: 'CommentAdded', body: 'c' }, 5, addedAgain, actors[1]);
    assert.ok(!present([created, added, removedInA, addedAgain, comment, after(remove, 6, comment, actors[1])]), `${add.type}: a remove after a later event`);
    // Without a parent, or with one the fold does not hold (or not of this issue), the clock decides: the later remove wins.
    for (const parent of [null, new Uint8Array(32).fill(9), makeEvent({ issue_id: targets[1], actor: actors[0], ts_unix_ms: 1, parent: null, kind: { type: 'IssueCreated', title: 'other', body: '', labels: [] } }).event_id]) {
      assert.ok(!present([created, added, removedInA, addedAgain, after(remove, 5, parent, actors[1])]), `${add.type}: the clock, parent ${parent && parent[0]}`);
    }
    // An add in the remove's own millisecond is concurrent, whatever the parent says.
    assert.ok(present([created, added, removedInA, addedAgain, after(remove, 4, addedAgain, actors[1])]), `${add.type}: the same millisecond`);
    // A parent stamped after its remove (not how grit writes) places nothing: the clock.
    const late = after({ type: 'CommentAdded', body: 'late' }, 9, addedAgain);
    assert.ok(!present([created, added, removedInA, addedAgain, late, after(remove, 5, late, actors[1])]), `${add.type}: a parent stamped later`);
  }
});

test('timestamps above 2^53 - 1: the last writer is the one of the highest exact timestamp, in a full fold and folded on top; add/remove sets compare them exactly; a new event stamped after the newest stays a u64', async () => {
  const { foldIssueState, foldMore } = await import('../../src/core/projection.js');
  const { stamped, stampAfter, U64_MAX } = await import('../../src/core/timestamp.js');
  const at = (kind: EventKind, ts: bigint, actor: Uint8Array) => makeEvent({ issue_id: issue, actor, ...stamped(ts), parent: null, kind });
  const created = ev({ type: 'IssueCreated', title: 'a', body: '', labels: [] }, 1);
  // Both round to 2^64; by actor alone the earlier one would win.
  const earlier = at({ type: 'IssueUpdated', title: 'earlier', body: null }, U64_MAX - 1n, actors[2]);
  const later = at({ type: 'IssueUpdated', title: 'later', body: null }, U64_MAX, actors[0]);
  assert.equal(foldIssue([later, created, earlier])?.title, 'later');
  for (const [first, second] of [
    [earlier, later],
    [later, earlier],
  ]) {
    const stored = foldIssueState([created, first])!;
    const more = foldMore(structuredClone(stored), [second]) ?? foldIssueState([created, first, second]);
    assert.equal(more?.issue.title, 'later');
  }
  // The sets compare exact timestamps too, though these round to one number: a remove a step after
  // an add takes it away, an add in the remove's own step is concurrent (and wins), and so is one
  // stamped after the remove's parent.
  const x = (type: 'LabelAdded' | 'LabelRemoved', step: bigint, parent: Event | null = null) =>
    makeEvent({ issue_id: issue, actor: actors[1], ...stamped(2n ** 60n + step), parent: parent?.event_id ?? null, kind: { type, label: 'x' } });
  const [add, remove] = [x('LabelAdded', 0n), x('LabelRemoved', 1n)];
  assert.equal(add.ts_unix_ms, remove.ts_unix_ms);
  assert.deepEqual(foldIssue([created, add, remove])?.labels, []);
  assert.deepEqual(foldIssue([created, add, remove, x('LabelAdded', 1n)])?.labels, ['x']);
  const seenUpTo = x('LabelAdded', 2n);
  assert.deepEqual(foldIssue([created, seenUpTo, x('LabelRemoved', 4n, seenUpTo)])?.labels, []);
  assert.deepEqual(foldIssue([created, seenUpTo, x('LabelAdded', 3n), x('LabelRemoved', 4n, seenUpTo)])?.labels, ['x']);

  assert.equal(stampAfter(undefined, 5), 5);
  assert.equal(stampAfter(9, 5), 10);
  assert.equal(stampAfter(Number.MAX_SAFE_INTEGER, 5), 2n ** 53n);
  assert.equal(stampAfter(1_800_000_000_000_000_000n, 5), 1_800_000_000_000_000_001n);
  assert.equal(stampAfter(U64_MAX, 5), U64_MAX, 'no u64 is later: a tie, ordered by actor and id');
});
