import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blake2b128, loadFastHash } from '../../src/core/hash.js';
import { contextIdsCached, contextIssueId, isContextIssueIdOf } from '../../src/core/ids.js';

const derived = (path: string) => blake2b128(new TextEncoder().encode(`grit:context:file:${path}`));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('context ids: the cache gives each path its own id, however paths come and go', async () => {
  await loadFastHash();
  // More paths than the cache keeps, asked for in an order that evicts and re-derives them, with
  // names that differ only at their ends.
  const paths = Array.from({ length: 600 }, (_, i) => `src/${i % 3 === 0 ? 'a' : 'b'}/file${i}.ts`);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < paths.length; i++) {
      const p = paths[(i * 7 + round * 13) % paths.length];
      assert.equal(hex(contextIssueId(p)), hex(derived(p)), p);
      assert.ok(isContextIssueIdOf(derived(p), p), p);
      const other = paths[(i * 7 + round * 13 + 1) % paths.length];
      assert.ok(!isContextIssueIdOf(derived(other), p), `${other} under ${p}`);
    }
  }
});

test('context ids: the cache stays bounded', () => {
  for (let i = 0; i < 5000; i++) contextIssueId(`bounded/${i}`);
  assert.ok(contextIdsCached() <= 256, `${contextIdsCached()} ids kept`);
  assert.ok(contextIdsCached() > 0);
});

test('context ids: an id handed out is a copy, so changing it changes no later answer', () => {
  const first = contextIssueId('src/kept.ts');
  first.fill(0);
  assert.equal(hex(contextIssueId('src/kept.ts')), hex(derived('src/kept.ts')));
  assert.ok(isContextIssueIdOf(derived('src/kept.ts'), 'src/kept.ts'));
});
