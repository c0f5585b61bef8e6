import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newIssueId } from '../../src/core/ids.js';
import { randomBytes } from '../../src/core/random.js';

test('pooled random bytes: the asked length, never handed out twice, across pool refills', () => {
  const seen = new Set<string>();
  // 16-byte ids for three pools' worth, with odd sizes in between so refills split requests.
  for (let i = 0; i < 800; i++) {
    const id = Buffer.from(newIssueId()).toString('hex');
    assert.equal(id.length, 32);
    assert.ok(!seen.has(id), `issue id ${id} handed out twice`);
    seen.add(id);
    const odd = randomBytes(1 + (i % 13));
    assert.equal(odd.length, 1 + (i % 13));
  }
  // A copy, not a view into the pool: refilling the pool leaves what was handed out as it was.
  const kept = randomBytes(64);
  const copy = Buffer.from(kept);
  for (let i = 0; i < 200; i++) randomBytes(64);
  assert.deepEqual(kept, copy);
});
