/**
 * Input is read once, by the command function, so the CLI (fast path and oclif), the daemon, the
 * API and MCP read the same text the same way: numbers, TTLs, labels and empty filters.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLocal } from '../../src/commands/run.js';
import { openRepo } from '../../src/index.js';
import { unappliedSettings } from '../../src/commands/daemon.js';
import { parseTtl } from '../../src/git/locks.js';
import { daemonEnv, DAEMON_BIN, startDaemon, testRunDir } from '../helpers/daemon.js';
import { git, grit, gritOk, gritSetup, tempRepo, gritInit } from '../helpers/repo.js';
import { writeRaw } from '../helpers/write-raw.js';

const snapshots = (repo: string) => git(repo, 'for-each-ref', '--format=%(refname)', 'refs/grit/snapshots/').trim().split('\n').filter(Boolean);

test('snapshot gc --keep: anything but a whole number is invalid_args, with or without the daemon, and deletes nothing', { timeout: 120_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  for (const t of ['one', 'two']) {
    await gritSetup(repo, ['issue', 'create', '--title', t]);
    await gritSetup(repo, ['snapshot']);
  }
  const daemon = await startDaemon();
  try {
    for (const env of [{}, daemon.env]) {
      // "" was 0 (delete all), "1e1" 10, "0x2" 2, and "nope" the default through the daemon.
      for (const keep of ['', ' ', 'nope', '1e1', '0x2', '1.5', '-1']) {
        const r = grit(repo, ['snapshot', 'gc', '--keep', keep, '--json'], { env });
        assert.equal(r.code, 2, `--keep ${JSON.stringify(keep)}: ${r.stdout}${r.stderr}`);
        assert.equal(r.json.error.code, 'invalid_args');
        assert.equal(snapshots(repo).length, 2, `--keep ${JSON.stringify(keep)} deleted nothing`);
      }
    }
    assert.deepEqual(gritOk(repo, ['snapshot', 'gc', '--keep', '1'], { env: daemon.env }).kept.length, 1);
  } finally {
    await daemon.stop();
  }
  await assert.rejects(runLocal('SnapshotGc', { keep: 1.5 }, { cwd: repo }), /whole number/);
  assert.equal(snapshots(repo).length, 1);
});

test('number flags: a value out of range, not a number, huge or fractional is invalid_args naming the range, in human and --json output, with and without the daemon', { timeout: 180_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const huge = String(2 ** 53 + 1); // 9007199254740993: a double rounds it to 2^53
  // Each flag, the values it refuses (all: none of them may start a daemon or write), and its range as the hint names it.
  const flags: { line: string[]; flag: string; bad: string[]; range: RegExp }[] = [
    // Spaces around digits are refused as GRIT_DRAIN_TIMEOUT refuses them; no upper end is "0 or more", not 2^53 - 1.
    { line: ['context', 'query', 'x'], flag: '--limit', bad: ['-1', '0', 'ten', '1e309', huge, '1.5', '10001', ' 5', '5 '], range: /from 1 to 10000/ },
    { line: ['snapshot', 'gc'], flag: '--keep', bad: ['-1', 'ten', '1e309', huge, '1.5', ' 5'], range: /a whole number, 0 or more, in digits/ },
    { line: ['daemon', 'start'], flag: '--idle-timeout', bad: ['-1', 'ten', '1e309', huge, '1.5', ' 5', '5\t'], range: /from 0 to 999999999/ },
    { line: ['daemon', 'start'], flag: '--worker-idle-timeout', bad: ['-1', 'ten', '1e309', huge, '1.5', ' 5'], range: /from 0 to 999999999/ },
    // A date that does not exist is refused, not rolled over into the next month. A timestamp's
    // digits go up to SPEC's u64, read exactly (docs/wal.md, "Integers"): 2^64 is too large.
    { line: ['export', '-o', '-'], flag: '--since', bad: ['-1', 'ten', '1e309', '18446744073709551616', '1.5', ' 5', '2025-02-30', '2025-04-31T00:00:00Z', '2023-02-29'], range: /a whole number, 0 or more/ },
    // A duration, fractional ones included (1.5 is 1.5 s): only its range is refused.
    { line: ['lock', 'acquire', '--local', '--resource', 'repo:'], flag: '--ttl', bad: ['-1', '0', 'ten', '1e309', huge], range: /from 1s to 30d/ },
  ];
  const daemon = await startDaemon();
  try {
    for (const [route, extra, env] of [['--no-daemon', ['--no-daemon'], {}], ['the daemon', [], daemon.env]] as const) {
      for (const { line, flag, bad, range } of flags) {
        // The daemon commands refuse --no-daemon itself (test/cli/issues); their numbers are parsed here either way.
        if (extra.length > 0 && line[0] === 'daemon') continue;
        // One parser (src/commands/args.ts) serves both routes: every value locally; through the
        // daemon, the first and the last, to show the raw text reaches it. The human form of the
        // error is the same renderer for every value: two of each flag.
        const values = extra.length > 0 ? bad : [bad[0], bad.at(-1)!];
        for (const [i, value] of values.entries()) {
          const what = `${line.join(' ')} ${flag} ${value} through ${route}`;
          const json = grit(repo, [...line, flag, value, ...extra, '--json'], { env });
          assert.equal(json.code, 2, `${what}: ${json.stdout}${json.stderr}`);
          assert.equal(json.json?.error?.code, 'invalid_args', `${what}: ${json.stdout}`);
          assert.match(json.json.error.message, new RegExp(flag.slice(2), 'i'), `${what}: the message names the flag`);
          assert.match(json.json.error.details.suggestion, range, what);
          if (i >= 2) continue;
          const human = grit(repo, [...line, flag, value, ...extra], { env });
          assert.equal(human.code, 2, what);
          assert.equal(human.stdout, '', what);
          assert.match(human.stderr, new RegExp(`^error: .*\\nhint: .*${range.source}`), `${what}: ${human.stderr}`);
        }
      }
    }
    assert.equal(gritOk(repo, ['lock', 'status']).locks.length, 0, 'no lock was taken');
  } finally {
    await daemon.stop();
  }
});

test('lock TTL: a number is seconds for every caller; ttl_ms is milliseconds and nothing else', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const expiresIn = (reply: any, started: number) => reply.lock.expires_unix_ms - started;
  const api = await openRepo({ cwd: repo });
  let t0 = Date.now();
  const fromApi = await api.run('LockAcquire', { resource: 'path:docs', ttl: 900 });
  assert.ok(Math.abs(expiresIn(fromApi, t0) - 900_000) < 10_000, `900 s, not 900 ms: ${expiresIn(fromApi, t0)}`);
  t0 = Date.now();
  const inMs = await runLocal('LockRenew', { resource: 'path:docs', ttl_ms: 90_000 }, { cwd: repo });
  assert.ok(Math.abs(expiresIn(inMs, t0) - 90_000) < 10_000);
  for (const args of [{ ttl_ms: '15m' }, { ttl_ms: 500 }, { ttl_ms: 1.5e3 + 0.5 }, { ttl: '15m', ttl_ms: 90_000 }, { ttl: true }]) {
    await assert.rejects(runLocal('LockRenew', { resource: 'path:docs', ...args }, { cwd: repo }), (e: any) => e.code === 'invalid_args');
  }
  const cli = gritOk(repo, ['lock', 'renew', '--resource', 'path:docs', '--ttl', '3600']);
  assert.ok(cli.lock.expires_unix_ms - Date.now() > 3_590_000);
});

test('durations: --ttl, the idle timeouts and grit-daemon\'s take exactly the documented forms, through one parser; any other is invalid_args naming them', () => {
  assert.deepEqual(['1.5h', '1.1m', '1500ms', '90', '2d'].map(parseTtl), [5_400_000, 66_000, 1_500, 90_000, 172_800_000]);
  const forms = /lowercase and without spaces/;
  const refused = (e: any) => e.code === 'invalid_args' && forms.test(e.suggestion);
  for (const bad of ['15M', '2H', ' 15m', '15m ', '15 m', '+5m', '1e3', '.5h', '1.h', '5min']) assert.throws(() => parseTtl(bad), refused, JSON.stringify(bad));
  // daemon start reads its timeouts with the same parser, in whole seconds.
  const running = { pid: 1, idle_timeout_s: 300, worker_idle_timeout_s: 120 };
  assert.deepEqual(unappliedSettings(running, { idle_timeout: '10m', worker_idle_timeout: '1.5m' }), [
    { setting: '--idle-timeout', asked: 600, running: 300 },
    { setting: '--worker-idle-timeout', asked: 90, running: 120 },
  ]);
  for (const bad of ['15M', ' 10m', '1.5', '1500ms', '10 m']) {
    assert.throws(() => unappliedSettings(running, { idle_timeout: bad }), (e: any) => refused(e) && /from 0 to 999999999 seconds/.test(e.suggestion), JSON.stringify(bad));
  }
  const r = grit(tempRepo(), ['lock', 'acquire', '--local', '--resource', 'repo:', '--ttl', '15M', '--json']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.json.error.details.suggestion, forms);
  const daemon = spawnSync(process.execPath, [DAEMON_BIN, '--idle-timeout', '5M'], { encoding: 'utf8', env: { ...process.env, ...daemonEnv(testRunDir()) } });
  assert.equal(daemon.status, 2, daemon.stderr);
  assert.match(daemon.stderr, /--idle-timeout must be a whole number of seconds, or a duration/);
});

test('labels: trimmed at every entry point, so a label put on with spaces comes off with them', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = gritOk(repo, ['issue', 'create', '--title', 'lbl', '--label', ' urgent', '--label', 'urgent ', '--label', 'p1']).issue_id;
  const labels = async () => (await gritSetup(repo, ['issue', 'show', id])).issue.labels;
  assert.deepEqual(await labels(), ['p1', 'urgent']);
  assert.deepEqual(gritOk(repo, ['issue', 'list', '--label', ' urgent']).issues.map((i: any) => i.issue_id), [id]);
  assert.equal(gritOk(repo, ['issue', 'dep', 'topo', '--label', 'urgent ']).total, 1);
  gritOk(repo, ['issue', 'label', 'remove', id, '--label', ' urgent']);
  gritOk(repo, ['issue', 'label', 'add', id, '--label', '  bug']);
  assert.deepEqual(await labels(), ['bug', 'p1']);
  await runLocal('IssueLabelRemove', { issue_id: id, label: 'bug\t' }, { cwd: repo });
  assert.deepEqual(await labels(), ['p1']);

  // Empty after trimming, or more than one line: refused everywhere, nothing written.
  const bad: string[][] = [
    ['issue', 'create', '--title', 'x', '--label', '  '],
    ['issue', 'create', '--title', 'x', '--label', 'multi\nline'],
    ['issue', 'label', 'add', id, '--label', ' '],
    ['issue', 'label', 'add', id, '--label', 'esc\u001b[31m'],
    ['issue', 'label', 'remove', id, '--label', ''],
    // An empty filter is not "no filter": `--label "$UNSET"` would list everything.
    ['issue', 'list', '--label', ''],
    ['issue', 'dep', 'topo', '--label', ' '],
  ];
  for (const args of bad) {
    const r = grit(repo, [...args, '--json']);
    assert.equal(r.json?.error?.code, 'invalid_args', `${JSON.stringify(args)}: ${r.stdout}${r.stderr}`);
  }
  await assert.rejects(runLocal('IssueList', { label: '' }, { cwd: repo }), /--label must be non-empty/);
  await assert.rejects(runLocal('IssueCreate', { title: 'x', labels: ['a', 7] }, { cwd: repo }), (e: any) => e.code === 'invalid_args');
  assert.equal((await gritSetup(repo, ['issue', 'list'])).total, 1);
});

test('labels: one stored with its spaces (by an older grit) is removed by its exact text', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'old'])).issue_id;
  await writeRaw(repo, id, { type: 'LabelAdded', label: ' legacy' });
  assert.deepEqual((await gritSetup(repo, ['issue', 'show', id])).issue.labels, [' legacy']);
  gritOk(repo, ['issue', 'label', 'remove', id, '--label', ' legacy']);
  assert.deepEqual((await gritSetup(repo, ['issue', 'show', id])).issue.labels, []);
});

test('labels, assignees and project keys another writer stored (empty, a newline, an escape) are found and removed by their exact text; adding them is still refused', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const id = (await gritSetup(repo, ['issue', 'create', '--title', 'odd'])).issue_id;
  // SPEC types them as text: what another implementation may write, and sync bring.
  const odd = ['', 'a\nb', '\u001b[31m'];
  for (const label of odd) await writeRaw(repo, id, { type: 'LabelAdded', label });
  await writeRaw(repo, id, { type: 'AssigneeAdded', user: '' });
  await writeRaw(repo, 'ff'.repeat(16), { type: 'ProjectContextUpdated', key: '', value: 'empty key' });
  await writeRaw(repo, 'ff'.repeat(16), { type: 'ProjectContextUpdated', key: 'x\ny', value: 'two lines' });
  assert.deepEqual(gritOk(repo, ['issue', 'list', '--label', 'a\nb']).issues.map((i: any) => i.issue_id), [id]);
  assert.equal(gritOk(repo, ['context', 'project', '']).value, 'empty key');
  assert.equal(gritOk(repo, ['context', 'project', 'x\ny']).value, 'two lines');
  assert.equal(gritOk(repo, ['context', 'set', '', 'set again']).key, '');
  assert.equal(gritOk(repo, ['context', 'project', '']).value, 'set again');
  // A new key, label or assignee must still fit.
  for (const args of [['context', 'set', 'a\nb', 'v'], ['context', 'project', 'no such\nkey'], ['issue', 'label', 'add', id, '--label', 'c\nd'], ['issue', 'assignee', 'add', id, '--user', 'e\u001b']]) {
    assert.equal(grit(repo, [...args, '--json']).json?.error?.code, 'invalid_args', JSON.stringify(args));
  }
  for (const label of odd) assert.equal(gritOk(repo, ['issue', 'label', 'remove', id, '--label', label]).label, label);
  gritOk(repo, ['issue', 'assignee', 'remove', id, '--user', '']);
  const issue = (await gritSetup(repo, ['issue', 'show', id])).issue;
  assert.deepEqual([issue.labels, issue.assignees], [[], []]);
});

test('labels and assignees are NFC: typed in NFD (CLI, a request over the socket) they are the NFC member; one an older grit stored in NFD folds under its NFC', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  const nfc = 'caf\u00e9';
  const nfd = 'cafe\u0301';
  const run = (name: string, args: Record<string, unknown>): Promise<any> => runLocal(name, args, { cwd: repo });
  const shown = async (id: string) => (await run('IssueShow', { issue_id: id })).issue;
  const listed = async (label: string) => (await run('IssueList', { label })).issues.map((i: any) => i.issue_id);
  const id = gritOk(repo, ['issue', 'create', '--title', 'accents', '--label', nfd, '--label', nfc]).issue_id;
  assert.deepEqual((await shown(id)).labels, [nfc], 'one label, in NFC');
  assert.deepEqual(gritOk(repo, ['issue', 'list', '--label', nfd]).issues.map((i: any) => i.issue_id), [id]);
  assert.deepEqual(await listed(nfc), [id]);
  const daemon = await startDaemon();
  try {
    const client = await daemon.client('json');
    const target = { repoRoot: repo };
    const added = await client.request<{ user: string }>('IssueAssigneeAdd', { issue_id: id, user: ` j${nfd}r ` }, target);
    assert.equal(added.user, `j${nfc}r`, 'a request sent straight to the daemon is normalised as the CLI is');
    assert.equal((await client.request<{ total: number }>('IssueList', { label: nfd }, target)).total, 1);
  } finally {
    await daemon.stop();
  }
  assert.deepEqual((await shown(id)).assignees, [`j${nfc}r`]);
  await run('IssueAssigneeRemove', { issue_id: id, user: `j${nfd}r` });
  gritOk(repo, ['issue', 'label', 'remove', id, '--label', nfd]);
  const emptied = await shown(id);
  assert.deepEqual([emptied.labels, emptied.assignees], [[], []]);

  // Written in NFD by an older grit (events stay as written): shown, found and removed as NFC.
  const old = (await run('IssueCreate', { title: 'old' })).issue_id;
  await writeRaw(repo, old, { type: 'LabelAdded', label: nfd });
  await writeRaw(repo, old, { type: 'AssigneeAdded', user: nfd });
  const folded = await shown(old);
  assert.deepEqual([folded.labels, folded.assignees], [[nfc], [nfc]]);
  assert.deepEqual(await listed(nfc), [old]);
  assert.equal((await run('IssueLabelRemove', { issue_id: old, label: nfc })).label, nfc);
  await run('Rebuild', {});
  const rebuilt = (await run('IssueShow', { issue_id: old })) as any;
  assert.deepEqual([rebuilt.issue.labels, rebuilt.issue.assignees], [[], [nfc]], 'a rebuild folds the same');
  assert.ok(rebuilt.events.some((e: any) => e.kind.LabelAdded?.label === nfd), 'the event keeps its text');
});

test('an empty actor id is refused, not taken as the current actor', async () => {
  const repo = tempRepo();
  await gritInit(repo);
  for (const cmd of ['show', 'use']) {
    const r = grit(repo, ['actor', cmd, '', '--json']);
    assert.equal(r.json.error.code, 'invalid_args');
    assert.equal(r.json.error.message, '<id> must not be empty');
  }
});
