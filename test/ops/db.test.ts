import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { gritOk, gritDoctor, tempRepo } from '../helpers/repo.js';

function setConfig(repo: string, from: RegExp, to: string): void {
  const path = join(repo, '.git/grit/config.toml');
  writeFileSync(path, readFileSync(path, 'utf8').replace(from, to));
}

/** Changes one byte inside the first stored event record that contains `needle`, behind grit's back. */
async function tamperStoredEvent(storePath: string, needle: string): Promise<string> {
  const env = open({ path: storePath, maxDbs: 16, compression: false });
  const events = env.openDB<Buffer, Buffer>({ name: 'issue_log', keyEncoding: 'binary', encoding: 'binary' });
  let hit: string | null = null;
  for (const { key, value } of events.getRange()) {
    const at = Buffer.from(value).indexOf(needle);
    if (at < 0) continue;
    const copy = Buffer.from(value);
    copy[at] ^= 0x20; // 't' -> 'T': still valid CBOR text, no longer the content the id hashes
    await events.put(key, copy);
    hit = Buffer.from(key).subarray(-32).toString('hex'); // the key ends with the event id
    break;
  }
  await env.close();
  assert.ok(hit, `no stored event contains ${needle}`);
  return hit!;
}

test('db stats: path, size, counts, rebuild counters and the recommendation', () => {
  const repo = tempRepo();
  const actor = gritOk(repo, ['init', '--no-agents-md']).actor;
  const a = gritOk(repo, ['issue', 'create', '--title', 'a']).issue_id;
  gritOk(repo, ['issue', 'create', '--title', 'b']);
  gritOk(repo, ['issue', 'comment', a, '--body', 'c']);
  let s = gritOk(repo, ['db', 'stats']);
  assert.deepEqual(Object.keys(s), [
    'path',
    'size_bytes',
    'event_count',
    'issue_count',
    'last_rebuild_ts',
    'events_since_rebuild',
    'days_since_rebuild',
    'rebuild_recommended',
  ]);
  assert.equal(s.path, join(actor.data_dir, 'store.mdb'));
  assert.equal(s.size_bytes, statSync(s.path).size);
  assert.ok(s.size_bytes > 0);
  assert.deepEqual([s.event_count, s.issue_count, s.rebuild_recommended], [3, 2, false]);
  // The store was built from nothing with the first event: that is its last full build.
  assert.equal(typeof s.last_rebuild_ts, 'number');
  assert.equal(s.events_since_rebuild, 2);
  assert.ok(s.days_since_rebuild >= 0 && s.days_since_rebuild < 0.01);

  setConfig(repo, /max_events = \d+/, 'max_events = 2');
  gritOk(repo, ['issue', 'close', a]);
  s = gritOk(repo, ['db', 'stats']);
  assert.deepEqual([s.events_since_rebuild, s.rebuild_recommended], [3, true]);
  const r = gritOk(repo, ['rebuild']);
  assert.equal(r.event_count, 4);
  s = gritOk(repo, ['db', 'stats']);
  assert.deepEqual([s.event_count, s.events_since_rebuild, s.rebuild_recommended], [4, 0, false]);
  assert.ok(Date.now() - s.last_rebuild_ts < 60_000);
});

test('db check recomputes every event id: a record changed in LMDB is reported; a rebuild clears it', async () => {
  const repo = tempRepo();
  const actor = gritOk(repo, ['init', '--no-agents-md']).actor;
  const id = gritOk(repo, ['issue', 'create', '--title', 'target title']).issue_id;
  gritOk(repo, ['issue', 'comment', id, '--body', 'x']);
  gritOk(repo, ['issue', 'create', '--title', 'other']);
  const clean = gritOk(repo, ['db', 'check']);
  assert.deepEqual(clean, { events_checked: 3, events_valid: 3, corrupt_count: 0, errors: [], behind_wal: 0 });

  const bad = await tamperStoredEvent(join(actor.data_dir, 'store.mdb'), 'target title');
  const c = gritOk(repo, ['db', 'check']);
  assert.deepEqual([c.events_checked, c.events_valid, c.corrupt_count], [3, 2, 1]);
  assert.equal(c.errors[0].event_id, bad);
  assert.equal(c.errors[0].problem, 'corrupt');
  assert.match(c.errors[0].message, /does not match its content/);

  const doc = gritDoctor(repo);
  assert.equal(doc.checks.find((x: any) => x.id === 'store_integrity').status, 'error');
  const fixed = gritDoctor(repo, ['--fix']);
  assert.equal(fixed.applied.length, 1);
  assert.match(fixed.applied[0], /rebuilt the store/);
  assert.ok(fixed.checks.every((x: any) => x.status === 'ok'), JSON.stringify(fixed.checks));
  assert.deepEqual(gritOk(repo, ['db', 'check']).corrupt_count, 0);
  assert.equal(gritOk(repo, ['issue', 'show', id]).issue.title, 'target title');
});

test('db verify on a WAL without keys: everything unverifiable, nothing wrong', () => {
  const repo = tempRepo();
  gritOk(repo, ['init', '--no-agents-md']);
  gritOk(repo, ['issue', 'create', '--title', 'a']);
  const v = gritOk(repo, ['db', 'verify']);
  assert.deepEqual(
    [v.events_checked, v.signatures_checked, v.signatures_valid, v.error_count, v.errors, v.unverified, v.known_keys],
    [1, 0, 0, 0, [], 1, 0],
  );
  const empty = tempRepo();
  assert.equal(gritOk(empty, ['db', 'verify']).events_checked, 0);
  assert.deepEqual(gritOk(empty, ['db', 'check']).errors, []);
});
