import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { makeEvent, type Event } from '../../src/core/event.js';
import { encode as encodeRow } from '../../src/core/plain-cbor.js';
import { Store } from '../../src/core/store.js';
import { startDaemon } from '../helpers/daemon.js';
import { git, grit, gritOk, gritDoctor, tempDir, tempRepo, gritInit, gritSetup, createdIssues } from '../helpers/repo.js';
import { walHead } from '../helpers/wal-head.js';

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

test('db stats: path, size, counts, rebuild counters and the recommendation', async () => {
  const repo = tempRepo();
  const actor = (await gritInit(repo)).actor;
  const a = (await gritSetup(repo, ['issue', 'create', '--title', 'a'])).issue_id;
  await gritSetup(repo, ['issue', 'create', '--title', 'b']);
  await gritSetup(repo, ['issue', 'comment', a, '--body', 'c']);
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
  await gritSetup(repo, ['issue', 'close', a]);
  s = gritOk(repo, ['db', 'stats']);
  assert.deepEqual([s.events_since_rebuild, s.rebuild_recommended], [3, true]);
  const r = gritOk(repo, ['rebuild']);
  assert.equal(r.event_count, 4);
  s = gritOk(repo, ['db', 'stats']);
  assert.deepEqual([s.event_count, s.events_since_rebuild, s.rebuild_recommended], [4, 0, false]);
  assert.ok(Date.now() - s.last_rebuild_ts < 60_000);
});

test('db stats counts issues, not the ids events are logged under (project context), and sees a write transaction\'s own', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['context', 'set', 'build.command', 'make']);
  assert.deepEqual([gritOk(repo, ['db', 'stats']).issue_count, gritOk(repo, ['db', 'stats']).event_count], [0, 1]);
  await gritSetup(repo, ['issue', 'create', '--title', 'a']);
  assert.equal(gritOk(repo, ['db', 'stats']).issue_count, 1);

  // The count is LMDB's for the table in the transaction open now: a lagging store's reads
  // (RepoContext.read) run in the write transaction that applies the lag, then aborts it.
  const store = Store.open(tempDir());
  try {
    const issue = (n: number, kind: Event['kind']): Event => makeEvent({ issue_id: new Uint8Array(16).fill(n), actor: new Uint8Array(16).fill(9), ts_unix_ms: 1000 + n, parent: null, kind });
    const created = (n: number) => issue(n, { type: 'IssueCreated', title: `${n}`, body: '', labels: [] });
    assert.equal(store.issueCount(), 0);
    // An event of an issue whose creation has not come yet makes no issue.
    assert.ok(store.apply([created(1), created(2), issue(3, { type: 'CommentAdded', body: 'early' })], null, walHead(1)));
    assert.equal(store.issueCount(), 2);
    assert.deepEqual(store.readApplied([created(3), created(4)], walHead(1), walHead(2), () => store.issueCount()), { value: 4 });
    assert.equal(store.issueCount(), 2, 'nothing of the aborted transaction stays');
  } finally {
    await store.close();
  }
});

test('db check recomputes every event id: a record changed in LMDB is reported; a rebuild clears it', async () => {
  const repo = tempRepo();
  const actor = (await gritInit(repo)).actor;
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'target title'])).issue_id;
  await gritSetup(repo, ['issue', 'comment', id, '--body', 'x']);
  await gritSetup(repo, ['issue', 'create', '--title', 'other']);
  const clean = await gritSetup(repo, ['db', 'check']);
  assert.deepEqual(clean, { events_checked: 3, events_valid: 3, corrupt_count: 0, errors: [], behind_wal: 0 });

  const bad = await tamperStoredEvent(join(actor.data_dir, 'store.mdb'), 'target title');
  const c = await gritSetup(repo, ['db', 'check']);
  assert.deepEqual([c.events_checked, c.events_valid, c.corrupt_count], [3, 2, 1]);
  assert.equal(c.errors[0].event_id, bad);
  assert.equal(c.errors[0].problem, 'corrupt');
  assert.match(c.errors[0].message, /does not match its content/);
  // Like `git fsck`, it fails while the store is damaged, the report whole in the envelope; through a daemon too.
  const daemon = await startDaemon();
  try {
    for (const env of [{}, daemon.env]) {
      const cli = grit(repo, ['db', 'check', '--json'], { env });
      assert.deepEqual([cli.code, cli.json.ok, cli.json.data.corrupt_count], [1, true, 1], cli.stderr);
      assert.equal(grit(repo, ['db', 'check'], { env }).code, 1);
    }
  } finally {
    await daemon.stop();
  }

  const doc = gritDoctor(repo);
  assert.equal(doc.checks.find((x: any) => x.id === 'store_integrity').status, 'error');
  const fixed = gritDoctor(repo, ['--fix']);
  assert.equal(fixed.applied.length, 1);
  assert.match(fixed.applied[0], /rebuilt the store/);
  assert.ok(fixed.checks.every((x: any) => x.status === 'ok'), JSON.stringify(fixed.checks));
  assert.deepEqual((await gritSetup(repo, ['db', 'check'])).corrupt_count, 0);
  assert.equal((await gritSetup(repo, ['issue', 'show', id])).issue.title, 'target title');
});

test('db check compares the summary table (what issue list reads) with the issue rows; a rebuild repairs it', async () => {
  const repo = tempRepo();
  const actor = (await gritInit(repo)).actor;
  const [x, y] = await createdIssues(repo, ['X', 'Y']);
  const list = await gritSetup(repo, ['issue', 'list']);
  assert.deepEqual((await gritSetup(repo, ['db', 'check'])).errors, []);
  const stray = 'ab'.repeat(16);
  const root = open({ path: join(actor.data_dir, 'store.mdb'), maxDbs: 16, compression: false });
  root.transactionSync(() => {
    const summaries = root.openDB({ name: 'summaries', encoding: 'binary' });
    summaries.putSync(x, encodeRow({ ...list.issues.find((i: any) => i.issue_id === x), title: 'not X' }));
    summaries.removeSync(y);
    summaries.putSync(stray, encodeRow({ issue_id: stray }));
  });
  await root.close();
  // The listing is the summary table's: it shows the change, not the issue rows.
  const listed = new Map((await gritSetup(repo, ['issue', 'list'])).issues.map((i: any) => [i.issue_id, i.title]));
  assert.deepEqual([listed.get(x), listed.has(y), listed.has(stray)], ['not X', false, true]);
  const problems = (await gritSetup(repo, ['db', 'check'])).errors;
  assert.deepEqual(problems.map((e: any) => e.problem), ['index_mismatch', 'index_mismatch', 'index_mismatch']);
  assert.deepEqual(problems.map((e: any) => e.message).sort(), [
    `the summary of issue ${x} differs from its projection`,
    `the summary table holds issue ${stray}, which the store does not`,
    `the summary table lacks issue ${y}`,
  ]);
  gritOk(repo, ['rebuild']);
  assert.deepEqual((await gritSetup(repo, ['db', 'check'])).errors, []);
  assert.deepEqual(await gritSetup(repo, ['issue', 'list']), list);
});

test('db verify of a WAL that cannot be read to its end: a wal_error first, the events before it verified', async () => {
  const repo = tempRepo();
  gritOk(repo, ['init', '--no-agents-md', '--generate-key']);
  for (const title of ['a', 'b', 'c']) await gritSetup(repo, ['issue', 'create', '--title', title]);
  // A copy of the head commit whose meta.json names another actor than its event's.
  const head = git(repo, 'rev-parse', 'refs/grit/wal').trim();
  const [events, meta] = git(repo, 'ls-tree', head).trim().split('\n');
  const metaJson = { ...JSON.parse(git(repo, 'cat-file', '-p', meta.split(/\s+/)[2])), actor_id: '00'.repeat(16), prev_wal: head };
  const stdin = (args: string[], input: string) => spawnSync('git', args, { cwd: repo, input, encoding: 'utf8' }).stdout.trim();
  const blob = stdin(['hash-object', '-w', '--stdin'], `${JSON.stringify(metaJson)}\n`);
  const root = stdin(['mktree'], `${events}\n100644 blob ${blob}\tmeta.json\n`);
  const bad = git(repo, 'commit-tree', root, '-p', head, '-m', 'grit: 1 event').trim();
  git(repo, 'update-ref', 'refs/grit/wal', bad);

  const v = gritOk(repo, ['db', 'verify']);
  assert.equal(v.errors[0].problem, 'wal_error');
  assert.match(v.errors[0].message, new RegExp(`^WAL commit ${bad}: meta.json names actor 0{32}, but event [0-9a-f]{64} is by `));
  assert.deepEqual([v.events_checked, v.signatures_checked, v.signatures_valid, v.error_count], [3, 3, 3, 1]);
});

test('db verify on a WAL without keys: everything unverifiable, nothing wrong', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'a']);
  const v = gritOk(repo, ['db', 'verify']);
  assert.deepEqual(
    [v.events_checked, v.signatures_checked, v.signatures_valid, v.error_count, v.errors, v.unverified, v.known_keys],
    [1, 0, 0, 0, [], 1, 0],
  );
  const empty = tempRepo();
  assert.equal(gritOk(empty, ['db', 'verify']).events_checked, 0);
  assert.deepEqual((await gritSetup(empty, ['db', 'check'])).errors, []);
});

/**
 * `db check` (and doctor's store probe) reads each stored record once: the issue rows, then the log,
 * folding each issue's run of events as it ends (src/commands/db-commands.ts, checkStore). Every
 * kind of damage at once, each reported where it is, events first, then issues in id order.
 */
test('db check with every kind of store damage at once: each found, in order, a fold judged only where all its events decode', async () => {
  const repo = tempRepo();
  const actor = (await gritInit(repo)).actor;
  const [a, b, c, d] = await createdIssues(repo, ['alpha', 'beta', 'gamma', 'delta']);
  await gritSetup(repo, ['issue', 'comment', a, '--body', 'comment on alpha']);
  await gritSetup(repo, ['issue', 'comment', b, '--body', 'comment on beta']);
  const tampered = await tamperStoredEvent(join(actor.data_dir, 'store.mdb'), 'comment on alpha');
  const env = open({ path: join(actor.data_dir, 'store.mdb'), maxDbs: 16, compression: false });
  const log = env.openDB<Buffer, Buffer>({ name: 'issue_log', keyEncoding: 'binary', encoding: 'binary' });
  const rows = env.openDB<Buffer, string>({ name: 'issues', encoding: 'binary' });
  const keysOf = (issue: string) => [...log.getKeys({ start: Buffer.from(issue, 'hex'), end: Buffer.from(`${issue}${'ff'.repeat(57)}`, 'hex') })];
  const [, bComment] = keysOf(b);
  const [aCreated] = keysOf(a);
  const misplaced = Buffer.concat([Buffer.from(c, 'hex'), aCreated.subarray(16)]);
  await env.transaction(() => {
    log.put(bComment, Buffer.from([0xff, 0x00])); // no longer CBOR: b's fold cannot be judged
    log.put(misplaced, log.get(aCreated)!); // a's event in c's run, under a key that is not its own
    rows.put(c, rows.get(d)!); // c's projection is d's
    rows.remove(d); // d has events, no projection
    rows.put('not-an-id', rows.get(a)!);
  });
  await env.close();

  const r = await gritSetup(repo, ['db', 'check']);
  assert.deepEqual([r.events_checked, r.events_valid, r.corrupt_count], [7, 4, 3 + 1]);
  const problems = r.errors.map((e: any) => [e.problem, e.event_id ?? e.issue_id ?? null]);
  const eventId = (key: Buffer) => key.subarray(-32).toString('hex');
  const inLog = [
    [a, ['corrupt', tampered]],
    [b, ['corrupt', eventId(bComment)]],
    [c, ['key_mismatch', eventId(misplaced)]],
  ].sort(([x], [y]) => ((x as string) < (y as string) ? -1 : 1)).map(([, p]) => p);
  // a folds with its tampered comment (the store's reads take it as it is), c with a's event;
  // b's is not judged, d has no row to judge.
  const byRow = [[a, ['projection_mismatch', a]], [c, ['projection_mismatch', c]], ['not-an-id', ['corrupt', null]]]
    .sort(([x], [y]) => ((x as string) < (y as string) ? -1 : 1))
    .map(([, p]) => p);
  assert.deepEqual(problems, [...inLog, ['count_mismatch', null], ...byRow, ['projection_missing', d]]);
  gritOk(repo, ['rebuild']);
  assert.deepEqual((await gritSetup(repo, ['db', 'check'])).errors, []);
});
