/**
 * grit after plain git commands changed `refs/grit/*` behind its back: a WAL fetched with
 * `--depth`, and a local WAL overwritten by a forced fetch (docs/sync.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { git, grit, gritOk } from '../helpers/repo.js';
import { network } from './_helpers.js';

test('a shallow WAL (fetched with --depth) is a wal_error that says so and names the fix; --unshallow mends it', { timeout: 60_000 }, () => {
  const { remote, clones } = network(2);
  const [a, s] = clones;
  for (let i = 0; i < 3; i++) gritOk(a, ['issue', 'create', '--title', `i${i}`]);
  gritOk(a, ['sync']);
  // A shallow fetch needs a transport that does not hard-link objects: file:// does.
  git(s, 'fetch', '-q', '--depth', '1', `file://${remote}`, 'refs/grit/wal:refs/grit/wal');
  const boundary = git(s, 'rev-parse', 'refs/grit/wal').trim();
  for (const args of [['issue', 'list'], ['sync']]) {
    const r = grit(s, [...args, '--json']);
    assert.equal(r.json.error.code, 'wal_error', r.stdout);
    assert.match(r.json.error.message, new RegExp(`refs/grit/wal is shallow .*${boundary} is a shallow boundary`));
    assert.equal(r.json.error.details.shallow_boundary, boundary);
    assert.match(r.json.error.details.suggestion, /git fetch --unshallow <remote> refs\/grit\/wal/);
  }
  assert.match(grit(s, ['issue', 'list']).stderr, /--unshallow/);
  const walRef = gritOk(s, ['doctor']).checks.find((c: { id: string }) => c.id === 'wal_ref');
  assert.equal(walRef.status, 'error');
  assert.match(walRef.message, /shallow/);
  assert.match(walRef.plan, /git fetch --unshallow <remote> refs\/grit\/wal/);
  git(s, 'fetch', '-q', '--unshallow', `file://${remote}`, 'refs/grit/wal');
  assert.equal(gritOk(s, ['issue', 'list']).issues.length, 3);
});
