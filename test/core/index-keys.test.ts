/**
 * The store's index keys hold any text the WAL may bring: labels, paths, symbol names and project
 * keys of any length (up to far past LMDB's 1,978-byte key limit), with NUL and other control
 * characters, empty, or one the prefix of another.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEvent, type Event } from '../../src/core/event.js';
import { contextIssueId, PROJECT_CONTEXT_ID } from '../../src/core/ids.js';
import { Store } from '../../src/core/store.js';
import { tempDir } from '../helpers/repo.js';

const actor = new Uint8Array(16).fill(7);
const ids = (n: number) => new Uint8Array(16).fill(n);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const LABELS = [
  'bug',
  'a'.repeat(30),
  'a'.repeat(31), // with its separator and issue id, 64 characters: lmdb's long-string encoding
  `needs-investigation-by-backend-team-${'q'.repeat(40)}`,
  'x'.repeat(3000),
  'nul\u0000inside',
  'nul',
  'ctrl\u0001\u0002\u0003',
  `${'c'.repeat(70)}\u0001`,
  'émoji 🐛 ünïcode',
  '',
];

test('every label finds exactly its issues, whatever its length or characters', async () => {
  const store = Store.open(tempDir());
  try {
    const events: Event[] = LABELS.map((label, i) =>
      makeEvent({ issue_id: ids(i + 1), actor, ts_unix_ms: 1000 + i, parent: null, kind: { type: 'IssueCreated', title: `t${i}`, body: '', labels: [label] } }),
    );
    // One issue carries every label, then drops the long one: its index entry goes too.
    events.push(makeEvent({ issue_id: ids(99), actor, ts_unix_ms: 2000, parent: null, kind: { type: 'IssueCreated', title: 'all', body: '', labels: LABELS } }));
    events.push(makeEvent({ issue_id: ids(99), actor, ts_unix_ms: 2001, parent: null, kind: { type: 'LabelRemoved', label: 'x'.repeat(3000) } }));
    store.apply(events, null, 'a'.repeat(40));
    for (const [i, label] of LABELS.entries()) {
      if (label === '') continue; // (an empty filter is no filter: every issue)
      const found = store.listIssues({ label }).map((s) => s.issue_id).sort();
      const expected = label === 'x'.repeat(3000) ? [hex(ids(i + 1))] : [hex(ids(i + 1)), hex(ids(99))].sort();
      assert.deepEqual(found, expected, `label ${JSON.stringify(label.slice(0, 40))} (${label.length} chars)`);
    }
    assert.deepEqual(store.listIssues({ label: 'nul\u0000' }), []);
    assert.deepEqual(store.listIssues({ label: 'a'.repeat(29) }), []);
  } finally {
    await store.close();
  }
});

test('file context, symbols and project keys: long, nested and odd paths are stored and found', async () => {
  const store = Store.open(tempDir());
  const deep = `packages/frontend/src/components/${'nested/'.repeat(10)}Button.tsx`;
  const paths = [deep, 'a.ts', `odd\u0001${'p'.repeat(80)}.ts`, `${'long/'.repeat(400)}x.ts`];
  try {
    const events = paths.map((path, i) =>
      makeEvent({
        issue_id: contextIssueId(path),
        actor,
        ts_unix_ms: 1000 + i,
        parent: null,
        kind: {
          type: 'ContextUpdated',
          path,
          language: 'typescript',
          symbols: [
            { name: `renderThing${i}`, kind: 'function', line_start: 1, line_end: 2 },
            { name: `Helper${'X'.repeat(80)}${i}`, kind: 'class', line_start: 3, line_end: 9 },
          ],
          summary: `file ${i}`,
          content_hash: new Uint8Array(32).fill(i + 1),
        },
      }),
    );
    const longKey = 'k'.repeat(2500);
    for (const key of [longKey, 'build', 'nul\u0000key', '']) {
      events.push(makeEvent({ issue_id: PROJECT_CONTEXT_ID, actor, ts_unix_ms: 3000, parent: null, kind: { type: 'ProjectContextUpdated', key, value: `v:${key.length}` } }));
    }
    store.apply(events, null, 'a'.repeat(40));
    const c = store.context;
    for (const path of paths) assert.equal(c.file(path)?.path, path);
    assert.deepEqual([...c.filesUnder('')].map((f) => f.path).sort(), [...paths].sort());
    assert.deepEqual([...c.filesUnder('packages/')].map((f) => f.path), [deep]);
    assert.deepEqual([...c.filesUnder('long/')].map((f) => f.path), [paths[3]], 'a path kept by its hash is under its prefix too');
    const exact = c.query('renderThing0', 10).hits;
    assert.deepEqual(exact.map((h) => [h.path, h.match]), [[deep, 'exact']]);
    const prefix = c.query('renderthing', 10).hits.map((h) => h.path).sort();
    assert.equal(prefix.length, 3, 'the symbols of the path too long for the name index are found through its file only');
    const substring = c.query('xxxx', 10).hits;
    assert.equal(substring.length, 3);
    assert.ok(substring.every((h) => h.match === 'substring'));
    assert.equal(c.projectEntry(longKey)?.value, 'v:2500');
    assert.equal(c.projectEntry('nul\u0000key')?.value, 'v:7');
    assert.equal(c.projectEntry('')?.value, 'v:0');
    assert.equal(c.projectEntries().length, 4);
  } finally {
    await store.close();
  }
});
