/**
 * Disk full and read-only repositories: a write that cannot be stored fails with io_error and
 * leaves the WAL and the store as they were; a write whose WAL commit landed is acknowledged even
 * when the store (a cache) cannot take it, and the next command catches the store up.
 *
 * Three ways to make writes fail, each used when this machine allows it (docs/reliability.md):
 * a small tmpfs filled to the brim (needs root and a working `mount`), a file-size limit
 * (`ulimit -f`, works everywhere), and a read-only `.git/objects` (only when not root: root
 * ignores permission bits).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, ftruncateSync, fstatSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { GRIT_BIN } from '../helpers/paths.js';
import { fsckClean, git, grit, gritOk, tempDir, type GritResult } from '../helpers/repo.js';

const walHead = (repo: string) => git(repo, 'rev-parse', 'refs/grit/wal').trim();
const isRoot = process.getuid?.() === 0;

/** `grit <args> --json` under `ulimit -f <kb>`, with SIGXFSZ ignored so an oversized write fails with EFBIG instead of killing. */
function gritLimited(repo: string, kb: number, args: string[]): GritResult {
  const quoted = [GRIT_BIN, ...args, '--json'].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f ${kb}; exec '${process.execPath}' ${quoted}`], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', GRIT_NO_DAEMON: '1' },
  });
  let json: any = null;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    /* not JSON */
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

function repoWithIssues(dir: string, n: number): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'gc.auto', '0');
  gritOk(dir, ['init', '--no-agents-md']);
  for (let i = 0; i < n; i++) gritOk(dir, ['issue', 'create', '--title', `before ${i}`]);
  return dir;
}

const tmpObjects = (repo: string): string[] =>
  readdirSync(join(repo, '.git', 'objects'), { recursive: true, encoding: 'utf8' }).filter((p) => p.includes('tmp_obj'));

/** A failed write: io_error, no stack trace, the WAL head and the issue list as before. */
function assertRefused(r: GritResult, repo: string, head: string, list: unknown, what: string): void {
  assert.equal(r.code, 1, `${what}: ${r.stdout} ${r.stderr}`);
  assert.equal(r.json?.error?.code, 'io_error', `${what}: ${r.stdout}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: stack trace`);
  assert.equal(walHead(repo), head, `${what}: the WAL moved`);
  assert.deepEqual(gritOk(repo, ['issue', 'list']), list, `${what}: the store changed`);
  assert.deepEqual(tmpObjects(repo), [], `${what}: temporary object files left behind`);
}

test('file-size limit (ulimit -f): a chunk that cannot be written is an io_error; a store that cannot grow does not lose the write', () => {
  const repo = repoWithIssues(tempDir(), 2);
  const head = walHead(repo);
  const list = gritOk(repo, ['issue', 'list']);
  // Incompressible text bigger than the limit: the chunk's loose object cannot be written.
  const body = randomBytes(75_000).toString('base64'); // 100 KB: one argv string may not exceed 128 KB
  assertRefused(gritLimited(repo, 64, ['issue', 'create', '--title', 'too big', '--body', body]), repo, head, list, 'chunk over the limit');

  // A limit below the store's size: the WAL commit (small files) lands, the store cannot grow.
  const r = gritLimited(repo, 8, ['issue', 'create', '--title', 'durable', '--body', 'x'.repeat(40_000)]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /written to the WAL .*but the store could not be updated \(the store at .*store\.mdb cannot grow: it is at this process's file size limit\)/);
  assert.notEqual(walHead(repo), head);
  const ids = gritOk(repo, ['issue', 'list']).issues.map((i: any) => i.issue_id);
  assert.ok(ids.includes(r.json.data.issue_id), 'the next command catches the store up');
  fsckClean(repo);
});

function mountTmpfs(dir: string, kb: number): boolean {
  if (!isRoot) return false;
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k`, 'tmpfs', dir]).status === 0;
}

/** Fills the file system with `fd` and then gives back `freeKb` KiB. */
function fillLeaving(fd: number, freeKb: number): void {
  ftruncateSync(fd, 0);
  const block = Buffer.alloc(64 << 10, 1);
  for (const chunk of [block, block.subarray(0, 4096)]) {
    for (;;) {
      try {
        writeSync(fd, chunk);
      } catch {
        break; // ENOSPC
      }
    }
  }
  const size = fstatSync(fd).size;
  ftruncateSync(fd, Math.max(0, size - freeKb * 1024));
}

test('a full disk (small tmpfs): at every fill level a write either lands whole or fails with io_error leaving everything as it was', { timeout: 60_000 }, (t) => {
  const mnt = tempDir('grit-tmpfs-');
  if (!mountTmpfs(mnt, 3072)) {
    t.skip('cannot mount a tmpfs here (needs root); the ulimit -f test covers the failure paths');
    return;
  }
  try {
    const repo = repoWithIssues(join(mnt, 'repo'), 3);
    const filler = openSync(join(mnt, 'filler'), 'w');
    const outcomes: Record<string, number> = {};
    try {
      // Levels around where an append (about 10 loose objects and a few store pages) stops fitting.
      for (const freeKb of [0, 24, 40, 48, 52, 56, 64, 96]) {
        const head = walHead(repo);
        const list = gritOk(repo, ['issue', 'list']);
        fillLeaving(filler, freeKb);
        const r = grit(repo, ['issue', 'create', '--title', `at ${freeKb} KiB free`, '--json']);
        ftruncateSync(filler, 0);
        if (r.code === 0) {
          const outcome = /store could not be updated/.test(r.stderr) ? 'in the WAL, store caught up later' : 'written';
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
          assert.equal(git(repo, 'rev-list', '--count', `${head}..refs/grit/wal`).trim(), '1');
          const ids = gritOk(repo, ['issue', 'list']).issues.map((i: any) => i.issue_id);
          assert.ok(ids.includes(r.json.data.issue_id), `${freeKb} KiB: acknowledged issue missing`);
        } else {
          outcomes.io_error = (outcomes.io_error ?? 0) + 1;
          assertRefused(r, repo, head, list, `${freeKb} KiB free`);
        }
      }
    } finally {
      closeSync(filler);
    }
    console.log(`# outcomes by fill level: ${JSON.stringify(outcomes)}`);
    assert.ok((outcomes.io_error ?? 0) > 0, 'the disk was never full enough to refuse a write');
    assert.ok((outcomes.written ?? 0) > 0, 'no write ever succeeded');
    fsckClean(repo);
  } finally {
    spawnSync('umount', [mnt]);
  }
});

test('a read-only object directory: io_error, nothing changed (skipped as root, where permission bits do not apply)', (t) => {
  if (isRoot) {
    t.skip('running as root: chmod does not stop root from writing');
    return;
  }
  const repo = repoWithIssues(tempDir(), 1);
  const head = walHead(repo);
  const list = gritOk(repo, ['issue', 'list']);
  const objects = join(repo, '.git', 'objects');
  const dirs = [objects, ...readdirSync(objects).map((d) => join(objects, d))];
  for (const d of dirs) chmodSync(d, 0o555);
  try {
    assertRefused(grit(repo, ['issue', 'create', '--title', 'nope', '--json']), repo, head, list, 'read-only objects');
  } finally {
    for (const d of dirs) chmodSync(d, 0o755);
  }
});

test('an actor directory this user cannot write: io_error, exit 5, naming it, alike locally and through the daemon; doctor offers no rebuild', { timeout: 60_000 }, (t) => {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const repo = repoWithIssues(join(dir, 'repo'), 1);
  const actorDir = gritOk(repo, ['actor', 'show']).actor.data_dir as string;
  const runDir = join(dir, 'run');
  mkdirSync(runDir, { mode: 0o700 });
  // Root ignores permission bits: as root, run grit as another user, who cannot write root's files.
  const asOther = isRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  if (isRoot) spawnSync('chown', ['65534:65534', runDir]);
  else chmodSync(actorDir, 0o555);
  const run = (args: string[], daemon: boolean): GritResult => {
    const argv = [...asOther, process.execPath, GRIT_BIN, ...args, '--json'];
    const r = spawnSync(argv[0], argv.slice(1), {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', HOME: runDir, GRIT_RUN_DIR: runDir, GRIT_NO_DAEMON: daemon ? '' : '1' },
    });
    let json: any = null;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      /* not JSON */
    }
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr + (r.error?.message ?? ''), json };
  };
  try {
    const probe = run(['--version'], false);
    if (probe.code !== 0) return t.skip(`cannot run grit as another user here: ${probe.stderr}`);
    for (const daemon of [false, true]) {
      const r = run(['issue', 'list'], daemon);
      assert.equal(r.code, 5, `daemon ${daemon}: ${r.stdout}${r.stderr}`);
      assert.equal(r.json.error.code, 'io_error');
      assert.equal(r.json.error.message, `${actorDir} is not writable by this user: grit keeps its store (a cache) there and writes it even to answer a read`);
      assert.equal(r.json.error.details.store_unwritable, true);
    }
    const doctor = run(['doctor'], false);
    const store = doctor.json.data.checks.find((c: any) => c.id === 'store_integrity');
    assert.equal(store.status, 'error');
    assert.match(store.plan, /^give this user write permission on /);
    assert.doesNotMatch(store.plan, /rebuild/);
  } finally {
    run(['daemon', 'stop'], true);
    if (!isRoot) chmodSync(actorDir, 0o755);
  }
});
