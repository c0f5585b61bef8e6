import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeEvent } from '../../src/core/event.js';
import { fromHex, toHex } from '../../src/core/hex.js';
import { contextIssueId } from '../../src/core/ids.js';
import { Wal } from '../../src/git/wal.js';
import { dropObjects, fsckClean, git, grit, gritOk, gritDoctor, setSignaturePolicy, tempDir, tempRepo, gritInit, gritLib, gritSetup, createdIssues } from '../helpers/repo.js';
import { eventIds, network, walEvents } from '../sync/_helpers.js';
import { writeRaw } from '../helpers/write-raw.js';

const IDS = ['git_repo', 'wal_ref', 'actor_config', 'actor_dirs', 'store_integrity', 'rebuild_threshold', 'snapshots', 'dependency_cycles', 'signatures', 'lock_refs', 'temp_files'];
const check = (d: any, id: string) => d.checks.find((c: any) => c.id === id);

async function populated() {
  const repo = tempRepo();
  const actor = (await gritInit(repo)).actor;
  const ids: string[] = [];
  for (let k = 0; k < 5; k++) ids.push((await gritLib(repo, 'IssueCreate', { title: `issue ${k}`, labels: [k % 2 ? 'odd' : 'even'] })).issue_id);
  await gritLib(repo, 'IssueComment', { issue_id: ids[1], body: 'hello' });
  await gritLib(repo, 'IssueClose', { issue_id: ids[2] });
  return { repo, actor, ids };
}

test('doctor on a healthy repository: every check ok, in order, nothing applied', async () => {
  const { repo } = await populated();
  const d = gritDoctor(repo);
  assert.deepEqual(d.checks.map((c: any) => c.id), IDS);
  for (const c of d.checks) {
    assert.equal(c.status, 'ok', `${c.id}: ${c.message}`);
    assert.equal(c.plan, null);
    assert.equal(typeof c.message, 'string');
  }
  assert.equal(check(d, 'dependency_cycles').message, 'no cycles among 0 blocks/depends_on edges');
  assert.match(check(d, 'wal_ref').message, /7 commits, 7 events/);
  assert.deepEqual(d.applied, []);
  assert.deepEqual(gritDoctor(repo, ['--fix']).applied, []);
  // Human output.
  const h = grit(repo, ['doctor']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /^ok\s+git_repo/m);
});

/**
 * Doctor reads the WAL once for all its checks (src/commands/doctor-wal.ts): a WAL with a problem
 * for each of them at once, each of which must still be found. The store was built from a head
 * since rewritten (a snapshot taken there too); the rewritten commit is then copied; two issues
 * depend on each other; a known actor's event has a bad signature and adds a third cycle.
 */
test('one WAL with a problem for every check that reads it: each is reported, under warn and under reject', async () => {
  const repo = tempRepo();
  const writer = (await gritInit(repo, { generate_key: true })).actor;
  const [x, y, z] = await createdIssues(repo, ['x', 'y', 'z']);
  await gritSetup(repo, ['issue', 'dep', 'add', x, '--target', y, '--type', 'depends_on']);
  // The edge that closes the cycle (commands refuse it; sync can bring it).
  await writeRaw(repo, y, { type: 'DependencyAdded', target: fromHex(x, 16)!, dep_type: 'depends_on' });
  const created = (await gritSetup(repo, ['issue', 'show', z])).events[0];
  const forged = makeEvent({
    issue_id: fromHex(z, 16)!,
    actor: fromHex(writer.actor_id, 16)!,
    parent: null,
    ts_unix_ms: created.ts_unix_ms + 5,
    kind: { type: 'DependencyAdded', target: fromHex(z, 16)!, dep_type: 'blocks' },
  });
  const wal = new Wal(join(repo, '.git'));
  await wal.append([{ ...forged, sig: fromHex(created.sig, 64)! }], writer.actor_id);
  wal.objects.close();
  await gritSetup(repo, ['issue', 'comment', x, '--body', 'the commit to rewrite']);
  await gritSetup(repo, ['snapshot']);
  const head = git(repo, 'rev-parse', 'refs/grit/wal').trim();
  const rewritten = git(repo, 'commit-tree', `${head}^{tree}`, '-p', `${head}^`, '-m', 'grit: 1 event').trim();
  const copy = git(repo, 'commit-tree', `${head}^{tree}`, '-p', rewritten, '-m', 'grit: 1 event').trim();
  git(repo, 'update-ref', 'refs/grit/wal', copy);

  const r = grit(repo, ['doctor', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const d = r.json.data;
  const seen = (id: string) => [check(d, id).status, check(d, id).message];
  assert.deepEqual(d.checks.map((c: any) => c.id), IDS);
  assert.deepEqual(seen('wal_ref'), ['warn', 'refs/grit/wal: 8 commits, 8 events, linear and valid, but 1 of them is a further copy of an event before (an event written twice, each copy with its own signature, or a commit copied or re-parented by a tool other than grit)']);
  assert.deepEqual(seen('store_integrity'), ['ok', `7 events and 3 issues checked, all valid; built from WAL commit ${head}, since rewritten (every event of it is in the WAL); the next command catches up`]);
  assert.equal(check(d, 'snapshots').status, 'warn');
  assert.match(check(d, 'snapshots').message, /^1 of 1 snapshot can never be used: refs\/grit\/snapshots\/\d+ \(/);
  assert.equal(check(d, 'dependency_cycles').status, 'warn');
  assert.match(check(d, 'dependency_cycles').message, /^2 dependency cycles \(from concurrent edits merged by sync\): /);
  assert.ok(check(d, 'dependency_cycles').message.includes(`${z.slice(0, 8)} → ${z.slice(0, 8)}`), check(d, 'dependency_cycles').message);
  assert.deepEqual(seen('signatures'), ['error', '1 event from known actors with a bad or missing signature, APPLIED to this store (signature_policy = warn); 7 of 8 signatures valid, 0 events from actors with unknown keys (1 known key, signature_policy = warn)']);
  for (const id of ['git_repo', 'actor_config', 'rebuild_threshold', 'lock_refs', 'temp_files']) assert.equal(check(d, id).status, 'ok', id);

  // Under reject the forged edge is not in the store, so not in a cycle; signatures still names it.
  setSignaturePolicy(repo, 'reject');
  const rejected = gritDoctor(repo);
  assert.equal(check(rejected, 'dependency_cycles').status, 'warn');
  assert.match(check(rejected, 'dependency_cycles').message, /^1 dependency cycle \(from concurrent edits merged by sync\): /);
  assert.ok(!check(rejected, 'dependency_cycles').message.includes(z.slice(0, 8)), check(rejected, 'dependency_cycles').message);
  assert.match(check(rejected, 'signatures').message, /^1 event from known actors with a bad or missing signature, refused by this store; 7 of 8 /);
  assert.equal(check(rejected, 'wal_ref').status, 'warn');
  assert.equal(check(rejected, 'snapshots').status, 'warn');
});

/**
 * A hole in the WAL (a commit git lacks) whose events the store holds (QA round 9, finding 2): the
 * state two syncs that shared a pack name left, the head and its parent gone. Nothing is lost, and
 * the plan says so; --fix puts the store's events back on the remote's WAL as of the last sync,
 * and a sync pushes every event.
 */
test('a hole in the WAL whose events the store holds: the plan says nothing is lost, --fix rebuilds the WAL from the store on the remote\'s, sync pushes every event', async () => {
  const { remote, clones } = await network(1);
  const [repo] = clones;
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'pushed'])).issue_id;
  await gritSetup(repo, ['sync']);
  const remoteHead = git(repo, 'rev-parse', 'refs/grit-remote/origin/wal').trim();
  await gritSetup(repo, ['issue', 'comment', id, '--body', 'local']);
  for (let k = 0; k < 3; k++) await gritSetup(repo, ['issue', 'create', '--title', `local ${k}`]);
  const events = eventIds(await walEvents(join(repo, '.git')));
  const list = await gritSetup(repo, ['issue', 'list']);
  const [head, parent] = git(repo, 'rev-list', 'refs/grit/wal').trim().split('\n');
  dropObjects(repo, head, parent);

  const d = gritDoctor(repo);
  const w = check(d, 'wal_ref');
  assert.equal(w.status, 'error');
  assert.match(w.message, new RegExp(`^the local WAL is not whole: WAL commit ${head} is missing from this repository's git objects`));
  assert.equal(
    w.plan,
    "this clone's store holds every event of the WAL, the missing commit's included, so nothing is lost: `grit doctor --fix` points refs/grit/wal at " +
      `refs/grit-remote/origin/wal (commit ${remoteHead}, 1 event: the remote's WAL as of the last sync) and appends to it again the events the store holds that it lacks ` +
      '(docs/troubleshooting.md, "the local WAL is not whole"); `grit sync` then publishes them',
  );

  const fixed = gritDoctor(repo, ['--fix']);
  assert.deepEqual(fixed.applied, [
    `pointed refs/grit/wal at refs/grit-remote/origin/wal (commit ${remoteHead}) and appended the 4 events the store held that it lacked (the old WAL had a hole; \`grit sync\` publishes them)`,
  ]);
  assert.deepEqual(fixed.failed, []);
  for (const c of fixed.checks) assert.equal(c.status, 'ok', `${c.id}: ${c.message}`);
  assert.equal(git(repo, 'merge-base', 'refs/grit/wal', remoteHead).trim(), remoteHead, 'built on the remote\'s WAL');
  assert.deepEqual(await gritSetup(repo, ['issue', 'list']), list);

  assert.equal((await gritSetup(repo, ['sync'])).pushed, 4);
  const onRemote = new Set(eventIds(await walEvents(remote)));
  for (const e of events) assert.ok(onRemote.has(e), `event ${e} is on the remote`);
  fsckClean(repo);
});

test('a hole in the WAL: with no store the plan says what is lost and --fix leaves it; with the store and no remote --fix starts the WAL anew from it', async () => {
  const repo = tempRepo();
  const actor = (await gritInit(repo)).actor;
  for (let k = 0; k < 4; k++) await gritSetup(repo, ['issue', 'create', '--title', `issue ${k}`]);
  const events = eventIds(await walEvents(join(repo, '.git')));
  const list = await gritSetup(repo, ['issue', 'list']);
  const [, child, middle] = git(repo, 'rev-list', 'refs/grit/wal').trim().split('\n');
  dropObjects(repo, middle);
  const store = join(actor.data_dir, 'store.mdb');
  renameSync(store, `${store}.away`);
  rmSync(`${store}-lock`, { force: true });

  const lost = gritDoctor(repo, ['--fix']);
  const w = check(lost, 'wal_ref');
  assert.equal(w.message.split(' (')[0], `the local WAL is not whole: WAL commit ${middle}, the parent of ${child}, is missing from this repository's git objects`);
  assert.match(w.plan, /^this clone's store does not hold the events of the missing commit \(there is no store to read\), so they are lost unless a remote has them\. If that commit was pushed, `git fetch --refetch /);
  assert.deepEqual(lost.applied, []);

  renameSync(`${store}.away`, store);
  const held = check(gritDoctor(repo), 'wal_ref');
  assert.match(held.plan, /so nothing is lost: `grit doctor --fix` starts refs\/grit\/wal anew with the events the store holds \(there is no remote-tracking WAL to build on\)/);
  const fixed = gritDoctor(repo, ['--fix']);
  assert.deepEqual(fixed.applied, ['started refs/grit/wal anew with the 4 events the store held (the old WAL had a hole; `grit sync` publishes them)']);
  for (const c of fixed.checks) assert.equal(c.status, 'ok', `${c.id}: ${c.message}`);
  assert.deepEqual(eventIds(await walEvents(join(repo, '.git'))).sort(), [...events].sort(), 'every event, once');
  assert.deepEqual(await gritSetup(repo, ['issue', 'list']), list);
  gritOk(repo, ['rebuild']);
  assert.deepEqual(await gritSetup(repo, ['issue', 'list']), list, 'the WAL alone gives the same issues');
});

test('doctor counts in words that agree with the number', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  await gritSetup(repo, ['issue', 'create', '--title', 'one']);
  const d = gritDoctor(repo);
  assert.match(check(d, 'wal_ref').message, /^refs\/grit\/wal: 1 commit, 1 event, linear/);
  assert.match(check(d, 'store_integrity').message, /^1 event and 1 issue checked/);
  assert.match(check(d, 'signatures').message, /1 event from actors with unknown keys \(0 known keys/);
});

for (const [label, size] of [
  ['to its two meta pages', () => 8192],
  ['to half its size', (n: number) => Math.floor(n / 2)],
] as const) {
  test(`a truncated LMDB file (${label}): doctor survives and reports it, --fix rebuilds, issue list is as before`, async () => {
    const { repo, actor, ids } = await populated();
    const before = await gritSetup(repo, ['issue', 'list']);
    const show = await gritSetup(repo, ['issue', 'show', ids[1]]);
    const storePath = join(actor.data_dir, 'store.mdb');
    truncateSync(storePath, size(statSync(storePath).size));

    // A command that maps the truncated file can die by SIGBUS; doctor must not.
    const r = grit(repo, ['doctor', '--json']);
    assert.equal(r.code, 1, r.stderr); // a check at error fails the command; the report is all there
    assert.equal(r.json.ok, true);
    const si = check(r.json.data, 'store_integrity');
    assert.equal(si.status, 'error', si.message);
    // Caught before LMDB maps it (src/core/store-file.ts); before that check, the reader died by SIGBUS.
    assert.match(si.message, /is damaged: \d+ bytes, but its newest meta page .* uses \d+: the file was truncated/);
    assert.match(si.plan, /rebuild the store/);
    assert.equal(check(r.json.data, 'rebuild_threshold').message, 'not checked: no readable store');
    assert.equal(check(r.json.data, 'wal_ref').status, 'ok');

    const fixed = gritDoctor(repo, ['--fix']);
    assert.equal(fixed.applied.length, 1);
    assert.match(fixed.applied[0], /rebuilt the store .*7 events from the WAL/);
    assert.deepEqual(fixed.failed, []);
    assert.ok(fixed.checks.every((c: any) => c.status === 'ok'), JSON.stringify(fixed.checks));
    assert.deepEqual(await gritSetup(repo, ['issue', 'list']), before);
    assert.deepEqual(await gritSetup(repo, ['issue', 'show', ids[1]]), show);
  });
}

test('garbage in the LMDB file and a snapshot: --fix rebuilds from the snapshot; a live daemon blocks the fix', async () => {
  const { repo, actor, ids } = await populated();
  await gritSetup(repo, ['snapshot']);
  await gritSetup(repo, ['issue', 'comment', ids[0], '--body', 'after the snapshot']);
  const before = await gritSetup(repo, ['issue', 'list']);
  const storePath = join(actor.data_dir, 'store.mdb');
  const bytes = readFileSync(storePath);
  for (let i = 0; i < bytes.length; i += 97) bytes[i] ^= 0xa5;
  writeFileSync(storePath, bytes);

  // A daemon (here: this live process) holding the store: doctor will not delete it under it.
  const lock = join(actor.data_dir, 'daemon.lock');
  writeFileSync(lock, JSON.stringify({ pid: process.pid, expires_ts: Date.now() + 60_000 }));
  const blocked = gritDoctor(repo, ['--fix']);
  assert.equal(check(blocked, 'store_integrity').status, 'error');
  assert.deepEqual(blocked.applied, []);
  assert.match(blocked.failed[0], /^store_integrity: a daemon \(pid \d+\) serves from this store: .*: run `grit doctor --fix` without --no-daemon/);
  assert.ok(existsSync(lock), 'a live lock is never removed');

  writeFileSync(lock, JSON.stringify({ pid: deadPid(), expires_ts: Date.now() - 1 }));
  const fixed = gritDoctor(repo, ['--fix']);
  assert.ok(fixed.applied.some((a: string) => /from refs\/grit\/snapshots\/\d+ and the WAL after it/.test(a)), fixed.applied.join('\n'));
  assert.ok(fixed.applied.some((a: string) => a.includes('daemon.lock')));
  assert.ok(!existsSync(lock));
  assert.ok(fixed.checks.every((c: any) => c.status === 'ok'), JSON.stringify(fixed.checks));
  assert.deepEqual(await gritSetup(repo, ['issue', 'list']), before);
});

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid!;
}

test('stale lock files: old ref locks and dead-process locks are removed by --fix, fresh ones are left alone', async () => {
  const { repo, actor } = await populated();
  const stale = join(repo, '.git/refs/grit/wal.lock');
  writeFileSync(stale, '');
  const old = new Date(Date.now() - 120_000);
  utimesSync(stale, old, old);
  mkdirSync(join(repo, '.git/refs/grit/locks'), { recursive: true });
  const fresh = join(repo, '.git/refs/grit/locks/abcd.lock');
  writeFileSync(fresh, '');
  // Dated a minute ahead, it stays younger than the 5 s staleness (STALE_LOCK_MS) however long
  // the doctor runs below take on a loaded host: written now, it could grow stale before them.
  const ahead = new Date(Date.now() + 60_000);
  utimesSync(fresh, ahead, ahead);
  const deadLock = join(actor.data_dir, 'daemon.lock');
  writeFileSync(deadLock, JSON.stringify({ pid: deadPid(), started_ts: 0, expires_ts: Date.now() + 60_000 }));

  const d = gritDoctor(repo);
  const w = check(d, 'wal_ref');
  assert.equal(w.status, 'warn');
  assert.ok(w.message.includes('wal.lock') && !w.message.includes('abcd.lock'), w.message);
  assert.match(check(d, 'actor_config').message, /daemon\.lock .*not running/);
  assert.equal(check(d, 'actor_config').status, 'warn');
  assert.ok(existsSync(stale) && existsSync(deadLock), 'doctor without --fix changes nothing');

  const fixed = gritDoctor(repo, ['--fix']);
  assert.equal(fixed.applied.length, 2);
  assert.ok(!existsSync(stale) && !existsSync(deadLock));
  assert.ok(existsSync(fresh));
  assert.equal(check(fixed, 'wal_ref').status, 'ok');
  assert.equal(check(fixed, 'actor_config').status, 'ok');
  await gritSetup(repo, ['issue', 'create', '--title', 'writes work']);
});

test('temporary files of killed writers: listed, deleted by --fix; a live writer\'s and a recently written one are kept', async () => {
  const { repo, actor } = await populated();
  // Exports' are found in every worktree's .grit/, where exports go by default.
  git(repo, 'commit', '-q', '--allow-empty', '-m', 'base');
  const linked = join(tempDir(), 'linked');
  git(repo, 'worktree', 'add', '-q', linked);
  const dead = deadPid();
  const old = new Date(Date.now() - 120_000);
  const home = join(tempDir(), 'home');
  const homeEnv = { GRIT_HOME: home };
  gritOk(repo, ['actor', 'init'], { env: homeEnv });
  const put = (path: string, age: Date | null) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, 'partial');
    if (age) utimesSync(path, age, age);
    return path;
  };
  const gone = [
    put(join(repo, `.git/objects/pack/tmp_pack_grit_${dead}_a1b2c3d4e5f6`), old),
    put(join(repo, `.git/objects/3f/tmp_obj_grit_${dead}_0a0b0c0d0e0f`), old),
    put(join(actor.data_dir, `daemon.lock.${dead}.1796400000000.tmp`), old),
    put(join(repo, '.grit', `.export.json.grit-${dead}.tmp`), old),
    put(join(linked, '.grit', `.x.csv.grit-${dead}.tmp`), old),
    put(join(actor.data_dir, `store.mdb.before-rebuild-${dead}`), old), // a killed rebuild's copy of the store
    put(join(home, `store.mdb.before-rebuild-${dead}`), old), // in a data dir outside the repository
    put(join(repo, '.git/refs/grit/snapshots/1796470639865.lock'), old), // a snapshot killed creating its ref
  ];
  const kept = [
    put(join(repo, `.git/objects/pack/tmp_pack_grit_${process.pid}_ffffffffffff`), old),
    put(join(repo, `.git/objects/pack/tmp_pack_grit_${dead}_eeeeeeeeeeee`), null),
    put(join(repo, '.git/objects/pack/tmp_pack_12345'), old),
    put(join(repo, '.grit', `export.json.${dead}.tmp`), old), // a user's name, not grit's
    put(join(linked, '.grit', `.export.json.grit-${process.pid}.tmp`), old),
    put(join(actor.data_dir, `store.mdb.before-rebuild-${process.pid}`), old), // a rebuild running now
    put(join(repo, '.git/refs/grit/snapshots/1796470639866.lock'), null), // a snapshot creating its ref now
  ];
  const doctor = gritDoctor(repo, [], { env: homeEnv });
  // A snapshot ref's lock blocks no write: snapshot ref names are never reused.
  assert.equal(check(doctor, 'wal_ref').status, 'ok', check(doctor, 'wal_ref').message);
  const d = check(doctor, 'temp_files');
  assert.equal(d.status, 'warn');
  assert.match(d.message, /^8 temporary files \(56 bytes\) left by writers that were killed: /);
  const named = d.message.replace(/^[^:]+: /, '').replace(/, …$/, '').split(', ');
  assert.equal(named.length, 5, 'the message names five');
  for (const f of named) assert.ok(gone.includes(f), `${f} is one of those left`);
  for (const f of kept) assert.ok(!d.message.includes(f), `${f} not in ${d.message}`);

  const fixed = gritDoctor(repo, ['--fix'], { env: homeEnv });
  assert.deepEqual(fixed.applied, ['deleted 8 temporary files left by killed writers']);
  assert.equal(check(fixed, 'temp_files').status, 'ok');
  for (const f of gone) assert.ok(!existsSync(f), f);
  for (const f of kept) assert.ok(existsSync(f), f);
  await gritSetup(repo, ['issue', 'create', '--title', 'writes work']);
});

test('actor directories an interrupted init left are reported; --fix deletes only those that provably hold nothing, never a key, a store or an actor with events', async () => {
  const { repo } = await populated();
  const base = join(repo, '.git', 'grit', 'actors');
  const put = (id: string, config: string | null, files: Record<string, string> = {}): string => {
    const dir = join(base, id);
    mkdirSync(dir, { recursive: true });
    if (config !== null) writeFileSync(join(dir, 'config.toml'), config);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    return dir;
  };
  // An actor config as an older grit wrote it, made long before the default.
  const config = (id: string, more = '') => `actor_id = "${id}"\nlabel = ""\ncreated_ts = 1000\n${more}`;
  const keyed = (await gritSetup(repo, ['actor', 'init', '--data-dir', join(tempDir(), 'home'), '--generate-key'])).actor;
  const secret = readFileSync(join(keyed.data_dir, 'keys', 'signing.key'), 'utf8');
  const named = `public_key = "${keyed.public_key}"\nkey_scheme = "ed25519"\n`;
  const wrote = (await gritSetup(repo, ['actor', 'init'])).actor.actor_id;
  await gritSetup(repo, ['issue', 'create', '--title', 'by another actor', '--actor', wrote]);
  for (const f of ['store.mdb', 'store.mdb-lock']) rmSync(join(base, wrote, f));
  writeFileSync(join(base, wrote, 'config.toml'), config(wrote));

  const removed = [
    put('a'.repeat(32), config('a'.repeat(32))), // an older grit's init could not name it the default
    put('b'.repeat(32), null), // half-made: nothing in it
    put('c'.repeat(32), config('c'.repeat(32)), { 'default.pending': '' }), // stopped before it was named
  ];
  const reported = [
    put('d'.repeat(32), null, { 'keys/signing.key': secret }),
    put('e'.repeat(32), config('e'.repeat(32), named), { 'keys/signing.key': secret }),
    put('f'.repeat(32), null, { 'store.mdb': 'a store without its config' }),
  ];
  const left = [
    put('1'.repeat(32), config('1'.repeat(32), named)), // a teammate's config: their key, not its secret
    put('2'.repeat(32), config('2'.repeat(32)).replace('label = ""', 'label = "ci"')), // labelled: someone meant it
    join(base, (await gritSetup(repo, ['actor', 'init'])).actor.actor_id), // made after the default
    join(base, wrote), // wrote events
  ];
  const d = check(gritDoctor(repo), 'actor_dirs');
  assert.equal(d.status, 'warn');
  assert.match(d.message, /^6 actor directories left by an interrupted `grit init` or `grit actor init`: /);
  for (const dir of [...removed, ...reported]) assert.ok(d.message.includes(dir.slice(-32)), `${dir} in ${d.message}`);
  for (const dir of left) assert.ok(!d.message.includes(dir.slice(-32)), `${dir} not in ${d.message}`);
  assert.match(d.message, new RegExp(`actor ${'a'.repeat(32)} has no label, no store and no event, and is older than the default [0-9a-f]{32}: left by a \`grit init\` of an older grit`));
  assert.match(d.message, new RegExp(`${reported[0]} has no config.toml: an actor whose making was cut short; it holds keys`));
  assert.match(d.plan, new RegExp(`delete ${reported[1]} yourself if its key is not needed`));

  const fixed = gritDoctor(repo, ['--fix']);
  assert.deepEqual(fixed.applied, ['deleted 3 actor directories that held nothing']);
  for (const dir of removed) assert.ok(!existsSync(dir), dir);
  for (const dir of [...reported, ...left]) assert.ok(existsSync(dir), dir);
  assert.equal(readFileSync(join(reported[1], 'keys', 'signing.key'), 'utf8'), secret);
  assert.match(check(fixed, 'actor_dirs').message, /^3 actor directories left by /);
  assert.equal((await gritSetup(repo, ['issue', 'list'])).total, 6);
});

test('doctor outside a git repository, with no actor, with a broken config, and over the rebuild threshold', async () => {
  const outside = grit(tempDir(), ['doctor', '--json']);
  assert.equal(outside.code, 1);
  assert.equal(outside.json.ok, true);
  assert.equal(grit(tempDir(), ['doctor']).code, 1, 'human output too: a CI step `grit doctor` fails');
  assert.equal(check(outside.json.data, 'git_repo').status, 'error');
  assert.match(check(outside.json.data, 'git_repo').plan, /`git init` creates one/);
  assert.deepEqual(outside.json.data.checks.map((c: any) => c.id), IDS);
  // A bare repository: the plan is the message's (a clone), not `git init`.
  const bareDir = join(tempDir(), 'b.git');
  git(tempDir(), 'init', '-q', '--bare', bareDir);
  const inBare = check(grit(bareDir, ['doctor', '--json']).json.data, 'git_repo');
  assert.match(inBare.message, /is a bare repository: grit works in a clone/);
  assert.equal(inBare.plan, `run grit in a clone (\`git clone ${realpathSync(bareDir)}\`); it syncs with this repository as its remote`);

  const bare = tempRepo();
  const d = gritDoctor(bare);
  assert.equal(check(d, 'actor_config').status, 'warn');
  assert.match(check(d, 'actor_config').plan, /grit init/);
  assert.ok(!existsSync(join(bare, '.git/grit/actors')), 'doctor never creates an actor');

  const { repo } = await populated();
  const cfg = join(repo, '.git/grit/config.toml');
  const good = readFileSync(cfg, 'utf8');
  writeFileSync(cfg, good.replace('max_events = 10000', 'max_events = 3'));
  const over = gritDoctor(repo);
  assert.equal(check(over, 'rebuild_threshold').status, 'warn');
  const fixed = gritDoctor(repo, ['--fix']);
  assert.match(fixed.applied[0], /rebuilt the store/);
  assert.equal(check(fixed, 'rebuild_threshold').status, 'ok');

  writeFileSync(cfg, 'this is = = not toml');
  const broken = gritDoctor(repo);
  assert.equal(check(broken, 'actor_config').status, 'error');
  assert.match(check(broken, 'actor_config').plan, /config\.toml/);
});

test('a broken repo config that would still be refused once repaired gets a plan for a person, and --fix leaves it', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const cfg = join(repo, '.git/grit/config.toml');
  // `foo` parses, so a repair would keep it, and grit refuses a config with an unknown setting.
  const broken = `${readFileSync(cfg, 'utf8')}foo = 1\n[[[garbage\n`;
  writeFileSync(cfg, broken);
  const planned = check(gritDoctor(repo), 'actor_config');
  assert.equal(planned.status, 'error');
  assert.match(planned.plan, /by hand: without line \d+ \("\[\[\[garbage"\) it still fails: unknown setting snapshot\.foo/);
  const fixed = gritDoctor(repo, ['--fix']);
  assert.deepEqual([fixed.applied, fixed.failed], [[], []]);
  assert.equal(readFileSync(cfg, 'utf8'), broken);
});

test('a fix that fails is said in the human output too, not only in --json', async () => {
  const { OPS_ACTIONS } = await import('../../src/cli/ops-actions.js');
  const out = OPS_ACTIONS.doctor.render({
    checks: [{ id: 'store_integrity', status: 'error', message: 'the store cannot be read', plan: 'rebuild it from the WAL' }],
    applied: [],
    failed: ['store_integrity: ENOSPC: no space left on device'],
  }, { args: {}, flags: {} } as never);
  assert.match(out, /^fix failed store_integrity: ENOSPC/m);
});
test('a file-context id that issue events use too (another tool wrote them): wal_ref warns, naming the id and its path', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = toHex(contextIssueId('src/a.ts'));
  await writeRaw(repo, id, { type: 'ContextUpdated', path: 'src/a.ts', language: 'typescript', symbols: [], summary: 's', content_hash: new Uint8Array(32) });
  assert.equal(check(gritDoctor(repo), 'wal_ref').status, 'ok');
  // The reader cannot refuse these: an id is a file's context id only once a ContextUpdated names the path.
  await writeRaw(repo, id, { type: 'IssueCreated', title: 'not an issue', body: '', labels: [] });
  const wal = check(gritDoctor(repo), 'wal_ref');
  assert.equal(wal.status, 'warn');
  assert.match(wal.message, new RegExp(`1 file-context id also holds issue events .*: ${id} \\(context of "src/a.ts"\\)`));
  assert.match(wal.plan, /grit issue close/);
});
