import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeChunk, scanChunkRecords } from '../../src/core/chunk.js';
import { makeEvent, type Event } from '../../src/core/event.js';
import { FillFolds } from '../../src/core/fill-folds.js';
import { PROJECT_CONTEXT_ID } from '../../src/core/ids.js';
import { batchCount, BOUNDS_PER_ISSUE, foldBatch, INLINE, NO_ISSUE, type FoldedBatch, type FoldJob } from '../../src/core/issue-rows.js';
import { summarize } from '../../src/core/projection.js';
import { Store } from '../../src/core/store.js';
import { StoreFill } from '../../src/core/store-fill.js';
import { joinChunks } from '../../src/workers/wal-reader-messages.js';
import { pick, rng } from '../helpers/random.js';
import { randomKind } from '../helpers/random-kinds.js';
import { tempDir } from '../helpers/repo.js';
import { walHead } from '../helpers/wal-head.js';

const actors = [1, 2, 3].map((n) => new Uint8Array(16).fill(0x10 + n));

/** `count` issues of a few events each (one in ten without its IssueCreated), and project context entries. */
function manyIssues(count: number, seed: number): Event[] {
  const rand = rng(seed);
  const ids = Array.from({ length: count }, () => Uint8Array.from({ length: 16 }, () => Math.floor(rand() * 256)));
  const out: Event[] = [];
  ids.forEach((issue, i) => {
    let ts = 1000 + i;
    if (i % 10 !== 0) out.push(makeEvent({ issue_id: issue, actor: pick(actors, rand), ts_unix_ms: ts, parent: null, kind: { type: 'IssueCreated', title: `t${i}`, body: '', labels: ['bug'] } }));
    for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) {
      out.push(makeEvent({ issue_id: issue, actor: pick(actors, rand), ts_unix_ms: (ts += 1 + Math.floor(rand() * 3)), parent: null, kind: randomKind(rand, { targets: ids, creates: false }) }));
    }
  });
  for (let i = 0; i < 20; i++) {
    out.push(makeEvent({ issue_id: PROJECT_CONTEXT_ID, actor: pick(actors, rand), ts_unix_ms: 5000 + i, parent: null, kind: { type: 'ProjectContextUpdated', key: pick(['lang', 'build'], rand), value: `v${i}` } }));
  }
  return out;
}

/** A fill of `events` taken as a WAL reader thread hands them over: as records, in shared memory, 50 a chunk. */
function sharedFill(events: readonly Event[]): StoreFill {
  const fill = new StoreFill();
  for (let i = 0; i < events.length; i += 50) {
    const { bytes } = joinChunks([encodeChunk(events.slice(i, i + 50)).bytes], '');
    fill.addRecords(scanChunkRecords(new Uint8Array(bytes))!);
  }
  return fill;
}

test("a long fill's issues folded by the helper thread are what folding them here gives, each batch written once and in order", { timeout: 60_000 }, async () => {
  const fill = sharedFill(manyIssues(1000, 1));
  const job: FoldJob = { plan: fill.plan(), ...fill.recordSpans };
  const written: FoldedBatch[] = [];
  const folds = new FillFolds(fill.size, job.buffers, 1);
  try {
    folds.begin(job);
    // Let the helper answer before this thread takes what is left.
    for (let waited = 0; written.length === 0 && waited < 30_000; waited += 10) {
      await sleep(10);
      folds.poll((b) => written.push(b));
    }
    folds.finish((b) => written.push(b));
  } finally {
    folds.stop();
  }
  assert.ok(folds.helped > 0, 'the helper folded none');
  const batches = batchCount(job.plan);
  assert.ok(batches > 4);
  // In order, though the two threads fold at once: the store appends the rows.
  assert.deepEqual(
    written.map((b) => b.batch),
    Array.from({ length: batches }, (_, b) => b),
  );
  // (Compared as bytes: from the helper thread the keys arrive as plain Uint8Arrays, not Buffers.)
  const bytes = (b: FoldedBatch) => ({ ...b, rows: Buffer.from(b.rows), labelKeys: b.labelKeys.map((k) => Buffer.from(k)) });
  for (const b of written) assert.deepEqual(bytes(b), bytes(foldBatch(job, b.batch)), `batch ${b.batch}`);
  const bounds = written.flatMap((b) => [...b.bounds].filter((_, i) => i % BOUNDS_PER_ISSUE === 0));
  assert.ok(bounds.includes(INLINE), 'the project context issue is left to the store');
  assert.ok(bounds.includes(NO_ISSUE), 'issues without IssueCreated write nothing');
});

test('a store filled with a helper thread from records in shared memory holds what applying the events gives', { timeout: 60_000 }, async () => {
  const events = manyIssues(600, 2);
  const contents = async (build: (store: Store) => boolean) => {
    const store = Store.open(tempDir());
    try {
      assert.ok(build(store));
      return {
        meta: { ...store.getMeta(), last_rebuild_ts: null },
        issues: [...store.issueIds()].map((id) => store.getIssue(id)),
        bug: store.listIssues({ label: 'bug' }).length,
        list: store.listIssues(),
        deps: [...store.allDependencies()],
        project: store.context.projectEntries(),
        depProblems: store.depIndexProblems(),
      };
    } finally {
      await store.close();
    }
  };
  const viaFill = await contents((store) => store.fill(sharedFill(events), walHead(), { foldThreadFrom: 1 }));
  assert.deepEqual(viaFill, await contents((store) => store.apply(events, null, walHead())));
  assert.deepEqual(viaFill.list, viaFill.issues.map((i) => summarize(i!)));
  assert.ok(viaFill.issues.length > 500 && viaFill.project.length === 2 && viaFill.deps.length > 0);
});
