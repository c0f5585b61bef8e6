import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DependencyFold, type DepEdge } from '../../src/core/deps.js';
import { makeEvent, type Event } from '../../src/core/event.js';
import { toHex } from '../../src/core/hex.js';
import type { EventKind } from '../../src/core/kinds.js';
import { decodeRow, encode as encodeRow } from '../../src/core/plain-cbor.js';
import { foldIssue, foldIssueState, foldMore, summarize, type Folded, type FoldState, type Issue } from '../../src/core/projection.js';
import { Store } from '../../src/core/store.js';
import { pick, rng, shuffle } from '../helpers/random.js';
import { oneStampEach, shifted, SHIFTS } from '../helpers/shifted-events.js';
import { randomKind } from '../helpers/random-kinds.js';
import { tempDir } from '../helpers/repo.js';
import { walHead } from '../helpers/wal-head.js';

const issues = [1, 2, 3].map((n) => new Uint8Array(16).fill(n));
const actors = [1, 2, 3].map((n) => new Uint8Array(16).fill(0x10 + n));


/**
 * Random events for `issue`, mostly in timestamp order (as an actor writes them) with colliding
 * timestamps and stragglers from the past (as a sync brings them), and duplicates. Parents as
 * writers name them (the event before, or an older one when a sync interleaved), and sometimes
 * none, one not held, or an event of another issue (`elsewhere`).
 */
function randomEvents(rand: () => number, issue: Uint8Array, elsewhere: readonly Event[] = []): Event[] {
  const out: Event[] = [];
  let ts = 1000;
  const n = 2 + Math.floor(rand() * 30);
  for (let i = 0; i < n; i++) {
    ts += Math.floor(rand() * 3);
    const at = rand() < 0.15 ? ts - Math.floor(rand() * 10) : ts;
    const kind: EventKind = i === 0 && rand() < 0.8 ? { type: 'IssueCreated', title: 'first', body: '', labels: ['bug'] } : randomKind(rand, { targets: issues, creates: true });
    out.push(makeEvent({ issue_id: issue, actor: pick(actors, rand), ts_unix_ms: at, parent: randomParent(rand, out, elsewhere), kind }));
  }
  return [...out, ...out.filter(() => rand() < 0.1)];
}

function randomParent(rand: () => number, before: readonly Event[], elsewhere: readonly Event[]): Uint8Array | null {
  const r = rand();
  if (r < 0.1 || before.length === 0) return null;
  if (r < 0.15) return elsewhere.length > 0 ? pick(elsewhere, rand).event_id : new Uint8Array(32).fill(0xee);
  return (r < 0.8 ? before[before.length - 1] : pick(before, rand)).event_id;
}

/** Splits `events` into 1-6 batches, in their order or shuffled. */
function batches(rand: () => number, events: Event[]): Event[][] {
  const order = rand() < 0.5 ? events : shuffle(events, rand);
  const out: Event[][] = [];
  for (let i = 0; i < order.length; ) {
    const n = 1 + Math.floor(rand() * 6);
    out.push(order.slice(i, i + n));
    i += n;
  }
  return out;
}

/**
 * Folds one issue's `events` in random batches as the store does (only events it does not hold
 * yet, onto its stored fold as it reads it back: `stored`), checking each against the full fold.
 * Counts the batches folded on top, and those of them that place a remove's parent.
 */
function foldInBatches(rand: () => number, events: Event[], stored: (f: Folded) => Folded, what: string): { incremental: number; withParents: number } {
  const counts = { incremental: 0, withParents: 0 };
  const seen = new Map<string, Event>();
  let folded: Folded | null = null;
  for (const batch of batches(rand, events)) {
    const fresh = [...new Map(batch.filter((e) => !seen.has(toHex(e.event_id))).map((e) => [toHex(e.event_id), e])).values()];
    for (const e of fresh) seen.set(toHex(e.event_id), e);
    if (fresh.length === 0) continue;
    const more: Folded | null = folded && foldMore(stored(folded), fresh);
    if (more) counts.incremental++;
    if (more && fresh.some((e) => e.parent !== null && e.kind.type.endsWith('Removed'))) counts.withParents++;
    folded = more ?? foldIssueState([...seen.values()]);
    assert.equal(JSON.stringify(folded?.issue ?? null), JSON.stringify(foldIssue([...seen.values()])), what);
  }
  return counts;
}

test('folding new events onto a stored fold gives the full fold (500 seeds)', () => {
  let incremental = 0;
  let withParents = 0;
  for (let seed = 1; seed <= 500; seed++) {
    const rand = rng(seed);
    const counts = foldInBatches(rand, randomEvents(rand, issues[0]), structuredClone, `seed ${seed}`);
    incremental += counts.incremental;
    withParents += counts.withParents;
  }
  // The property means something only if the incremental path runs often.
  assert.ok(incremental > 400, `only ${incremental} incremental folds`);
  assert.ok(withParents > 100, `only ${withParents} incremental folds place a remove's parent`);
});

/** An issue without what moving its events' timestamps changes: the timestamps and event ids. */
const shape = (i: Issue | null) => JSON.stringify(i, (k, v) => (['created_ts', 'updated_ts', 'ts_unix_ms', 'event_id'].includes(k) ? undefined : v));

/** Random events of every issue that `shifted` keeps in event order, and those events moved by each of `SHIFTS`. */
function shiftedEvents(rand: () => number): { events: Event[]; far: [bigint, Event[]][] } {
  const all: Event[] = [];
  for (const issue of issues) all.push(...randomEvents(rand, issue, all));
  const events = oneStampEach(all);
  return { events, far: SHIFTS.map((by) => [by, shifted(events, by)]) };
}
const eventsOf = (events: Event[], issue: Uint8Array) => events.filter((e) => toHex(e.issue_id) === toHex(issue));
/** A fold as the store's rows give it back: plain CBOR (src/core/plain-cbor.ts). */
const fromRows = (f: Folded): Folded => ({ issue: decodeRow(encodeRow(f.issue)) as Issue, state: decodeRow(encodeRow(f.state)) as FoldState });

test('events stamped across 2^53 and up to 2^64 - 1 fold as the same events stamped below 2^53: full fold, folded onto stored rows, doctor\'s dependency fold (150 seeds x 3 shifts)', () => {
  let incremental = 0;
  for (let seed = 1; seed <= 150; seed++) {
    const rand = rng(seed);
    const { events, far } = shiftedEvents(rand);
    for (const [by, moved] of far) {
      const what = `seed ${seed}, +${by}`;
      assert.ok(moved.some((e) => e.ts_exact !== undefined), what);
      for (const issue of issues) {
        assert.equal(shape(foldIssue(eventsOf(moved, issue))), shape(foldIssue(eventsOf(events, issue))), what);
        incremental += foldInBatches(rand, eventsOf(moved, issue), fromRows, what).incremental;
      }
      assert.deepEqual(streamedEdges(shuffle([...moved], rand)), streamedEdges(events), what);
    }
  }
  assert.ok(incremental > 500, `only ${incremental} incremental folds`);
});

test('the store applied events stamped across 2^53 and up to 2^64 - 1 in random batches holds their full fold, the fold of the same events below 2^53 (20 seeds x 3 shifts)', async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const rand = rng(seed);
    const { events, far } = shiftedEvents(rand);
    for (const [by, moved] of far) {
      const store = Store.open(tempDir());
      try {
        let head: string | null = null;
        for (const [n, batch] of batches(rand, moved).entries()) assert.ok(store.apply(batch, head, (head = walHead(n))));
        for (const issue of issues) {
          const expected = foldIssue(eventsOf(moved, issue));
          assert.equal(JSON.stringify(store.getIssue(toHex(issue)) ?? null), JSON.stringify(expected), `seed ${seed}, +${by}`);
          assert.equal(shape(expected), shape(foldIssue(eventsOf(events, issue))), `seed ${seed}, +${by}`);
        }
        assertSummaries(store, `seed ${seed}, +${by}`);
      } finally {
        await store.close();
      }
    }
  }
});

test('a fold state that disagrees with its issue is not used', () => {
  const e = (ts: number, kind: EventKind) => makeEvent({ issue_id: issues[0], actor: actors[0], ts_unix_ms: ts, parent: null, kind });
  const folded = foldIssueState([e(1, { type: 'IssueCreated', title: 'a', body: '', labels: [] })])!;
  const later = [e(2, { type: 'LabelAdded', label: 'x' })];
  assert.ok(foldMore(structuredClone(folded), later));
  // Another writer folded an event into the issue without updating the state.
  const stale = structuredClone(folded);
  stale.issue.event_count++;
  assert.equal(foldMore(stale, later), null);
});

test('the store applied in random batches holds the full fold of every issue, and matching indexes (50 seeds)', async () => {
  for (let seed = 1; seed <= 50; seed++) {
    const rand = rng(seed);
    const store = Store.open(tempDir());
    try {
      const all: Event[] = [];
      for (const issue of issues) all.push(...randomEvents(rand, issue, all));
      let head: string | null = null;
      const applied: Event[] = [];
      for (const [n, batch] of batches(rand, all).entries()) {
        assert.ok(store.apply(batch, head, (head = walHead(n))));
        applied.push(...batch);
        for (const issue of issues) {
          const id = toHex(issue);
          const expected = foldIssue(applied.filter((e) => toHex(e.issue_id) === id));
          assert.equal(JSON.stringify(store.getIssue(id) ?? null), JSON.stringify(expected), `seed ${seed}, batch ${n}`);
          for (const label of ['bug', 'p0', 'ui']) {
            const listed = store.listIssues({ label }).some((s) => s.issue_id === id);
            assert.equal(listed, expected?.labels.includes(label) ?? false, `seed ${seed}, label ${label}`);
          }
        }
        assert.deepEqual(store.depIndexProblems(), [], `seed ${seed}`);
        assertSummaries(store, `seed ${seed}, batch ${n}`);
      }
    } finally {
      await store.close();
    }
  }
});

/** The store's listings are the summaries of its issue rows (all, by state, by label). */
function assertSummaries(store: Store, what: string): void {
  const rows = [...store.issueIds()].map((id) => store.getIssue(id)!);
  const summaries = (keep: (i: Issue) => boolean) => rows.filter(keep).map(summarize);
  assert.deepEqual(store.listIssues(), summaries(() => true), what);
  assert.deepEqual(store.listIssues({ state: 'closed' }), summaries((i) => i.state === 'closed'), what);
  assert.deepEqual(store.listIssues({ label: 'bug' }), summaries((i) => i.labels.includes('bug')), what);
  assert.deepEqual(store.summaryProblems(rows.map(summarize)), [], what);
}

test("an issue's listed summary follows each kind of change applied to it, and its events before its IssueCreated", async () => {
  const [a, b] = issues;
  let ts = 1;
  const e = (issue: Uint8Array, kind: EventKind) => makeEvent({ issue_id: issue, actor: actors[0], ts_unix_ms: ts++, parent: null, kind });
  const changes: [string, Event[]][] = [
    ['comments before an IssueCreated', [e(b, { type: 'CommentAdded', body: 'early' }), e(b, { type: 'LabelAdded', label: 'bug' })]],
    ['create', [e(a, { type: 'IssueCreated', title: 'a', body: 'body', labels: ['bug', 'ui'] })]],
    ['its IssueCreated arrives', [e(b, { type: 'IssueCreated', title: 'b', body: '', labels: [] })]],
    ['title', [e(a, { type: 'IssueUpdated', title: 'a2', body: null })]],
    ['body only', [e(a, { type: 'IssueUpdated', title: null, body: 'long '.repeat(1000) })]],
    ['state', [e(a, { type: 'StateChanged', state: 'closed' })]],
    ['label add', [e(a, { type: 'LabelAdded', label: 'p0' })]],
    ['label remove', [e(a, { type: 'LabelRemoved', label: 'bug' })]],
    ['assignee add', [e(a, { type: 'AssigneeAdded', user: 'ann' }), e(a, { type: 'AssigneeAdded', user: 'bob' })]],
    ['assignee remove', [e(a, { type: 'AssigneeRemoved', user: 'ann' })]],
    ['comments', [e(a, { type: 'CommentAdded', body: 'c1' }), e(a, { type: 'CommentAdded', body: 'c2' })]],
    ['reopen, and an older event arriving late (a refold)', [e(a, { type: 'StateChanged', state: 'open' }), makeEvent({ issue_id: b, actor: actors[1], ts_unix_ms: 0, parent: null, kind: { type: 'CommentAdded', body: 'late' } })]],
  ];
  const store = Store.open(tempDir());
  try {
    let head: string | null = null;
    for (const [n, [what, events]] of changes.entries()) {
      assert.ok(store.apply(events, head, (head = walHead(n))));
      assertSummaries(store, what);
    }
    assert.deepEqual(store.listIssues().find((s) => s.issue_id === toHex(a)), {
      issue_id: toHex(a), title: 'a2', state: 'open', labels: ['p0', 'ui'], assignees: ['bob'], updated_ts: ts - 1, comment_count: 2,
    });
    assert.equal(store.getSummary(toHex(b))?.comment_count, 2);
  } finally {
    await store.close();
  }
});

test('an issue new to the store is folded from the events just stored, not read back; one with earlier events is read back', async () => {
  const e = (issue: Uint8Array, ts: number, kind: EventKind) => makeEvent({ issue_id: issue, actor: actors[0], ts_unix_ms: ts, parent: null, kind });
  const store = Store.open(tempDir());
  const readBack: string[] = [];
  const issueEventsOf = store.issueEventsOf.bind(store);
  store.issueEventsOf = (id: string) => (readBack.push(id), issueEventsOf(id));
  try {
    // A comment on issues[1] arrives before its IssueCreated: the log holds it, no projection does.
    assert.ok(store.apply([e(issues[0], 1, { type: 'IssueCreated', title: 'a', body: '', labels: [] }), e(issues[1], 2, { type: 'CommentAdded', body: 'early' })], null, walHead(1)));
    readBack.length = 0;
    const later = [
      e(issues[1], 3, { type: 'IssueCreated', title: 'b', body: '', labels: ['bug'] }),
      e(issues[2], 4, { type: 'IssueCreated', title: 'c', body: '', labels: [] }),
      e(issues[2], 5, { type: 'LabelAdded', label: 'ui' }),
    ];
    assert.ok(store.apply(later, walHead(1), walHead(2)));
    assert.deepEqual(readBack, [toHex(issues[1])]);
    assert.equal(store.getIssue(toHex(issues[1]))?.comment_count, 1);
    assert.deepEqual(store.getIssue(toHex(issues[2]))?.labels, ['ui']);
    assert.equal(JSON.stringify(store.getIssue(toHex(issues[2]))), JSON.stringify(foldIssue(later.slice(1))));
  } finally {
    await store.close();
  }
});

const edgeKey = (d: DepEdge) => `${d.issue_id} ${d.target} ${d.dep_type}`;

/** The edges of doctor's streaming dependency fold of `events`, taken in their order. */
function streamedEdges(events: readonly Event[]): string[] {
  const fold = new DependencyFold();
  for (const e of events) fold.take(e);
  const graph = fold.graph();
  return [...graph.orderingEdges().flatMap(([before, after]) => graph.edgesBetween(before, after)), ...graph.related].map(edgeKey).sort();
}

test("doctor's streaming dependency fold gives the dependencies the full fold gives, events in any order (300 seeds)", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const rand = rng(seed);
    const all: Event[] = [];
    for (const issue of issues) all.push(...randomEvents(rand, issue, all));
    const streamed = streamedEdges(shuffle(all, rand));
    const expected = issues
      .flatMap((issue) => foldIssue(eventsOf(all, issue))?.dependencies.map((d) => edgeKey({ issue_id: toHex(issue), ...d })) ?? [])
      .sort();
    assert.deepEqual(streamed, expected, `seed ${seed}`);
  }
});
