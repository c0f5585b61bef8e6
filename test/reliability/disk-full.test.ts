/**
 * Disk full and read-only repositories: a write that cannot be stored fails with io_error and
 * leaves the WAL and the store as they were; a write whose WAL commit landed is acknowledged even
 * when the store (a cache) cannot take it, and the next command catches the store up. Meanwhile a
 * read answers with the events the store lacks applied in memory, saying why (the disk is full),
 * and a failed command leaves no file behind.
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
import { chmodSync, closeSync, existsSync, ftruncateSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GRIT_BIN, REPO_ROOT } from '../helpers/paths.js';
import { fsckClean, git, grit, gritAsync, gritDoctor, gritOk, tempDir, tempRepo, type GritResult, gritInit, gritSetup } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';
import { startDaemon } from '../helpers/daemon.js';

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

/** The warning of a read whose store cannot take `n` events (RepoContext.read). */
const behind = (n: number, why: string) =>
  new RegExp(`grit: warning: the store is ${n} events? behind the WAL and cannot catch up: ${why}; this answer includes (it|them), applied in memory only; `);
const diskFull = (actorDir: string) => `the disk holding ${actorDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is full \\(\\d+ bytes free\\)`;

/** What a failed command must not leave in the actor's directory: temporary files, an empty lease. */
function leftInActorDir(actorDir: string): string[] {
  return readdirSync(actorDir).filter((name) => !['config.toml', 'store.mdb', 'store.mdb-lock', 'store.unsynced', 'daemon.lock'].includes(name));
}

const bigBody = (): string => {
  const file = join(tempDir(), 'body');
  writeFileSync(file, randomBytes(60_000).toString('base64')); // 80 KB that barely compresses
  return file;
};

async function repoWithIssues(dir: string, n: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'gc.auto', '0');
  await gritInit(dir);
  for (let i = 0; i < n; i++) await gritSetup(dir, ['issue', 'create', '--title', `before ${i}`]);
  return dir;
}

const tmpObjects = (repo: string): string[] =>
  readdirSync(join(repo, '.git', 'objects'), { recursive: true, encoding: 'utf8' }).filter((p) => p.includes('tmp_obj'));

/** `issue list` as set-up, or to compare (gritSetup): the data `issue list --json` gives. */
const listed = (repo: string): Promise<any> => gritSetup(repo, ['issue', 'list']);

/** The data dir of `repo`'s default actor. */
const actorDirOf = async (repo: string): Promise<string> => (await gritSetup(repo, ['actor', 'show'])).actor.data_dir;

/** A failed write: io_error (exit 1, or 5 where the environment refused it), no stack trace, the WAL head and the issue list as before. */
async function assertRefused(r: GritResult, repo: string, head: string, list: unknown, what: string, code = 1): Promise<void> {
  assert.equal(r.code, code, `${what}: ${r.stdout} ${r.stderr}`);
  assert.equal(r.json?.error?.code, 'io_error', `${what}: ${r.stdout}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: stack trace`);
  assert.equal(walHead(repo), head, `${what}: the WAL moved`);
  assert.deepEqual(await listed(repo), list, `${what}: the store changed`);
  assert.deepEqual(tmpObjects(repo), [], `${what}: temporary object files left behind`);
}

test('file-size limit (ulimit -f): a chunk that cannot be written is an io_error; a store that cannot grow does not lose the write, and only grit says so (no `Write error` line from LMDB)', async () => {
  const repo = await repoWithIssues(tempDir(), 2);
  const head = walHead(repo);
  const list = await listed(repo);
  // Incompressible text bigger than the limit: the chunk's loose object cannot be written.
  const body = randomBytes(75_000).toString('base64'); // 100 KB: one argv string may not exceed 128 KB
  await assertRefused(gritLimited(repo, 64, ['issue', 'create', '--title', 'too big', '--body', body]), repo, head, list, 'chunk over the limit');

  // A limit below the store's size: the WAL commit (small files) lands, the store cannot grow.
  const r = gritLimited(repo, 8, ['issue', 'create', '--title', 'durable', '--body', 'x'.repeat(40_000)]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /written to the WAL .*but the store could not be updated \(the store at .*store\.mdb cannot grow: it is at this process's file size limit\)/);
  // grit's words alone: LMDB's C code prints a `Write error: File too large …` of its own for a page it fails to write.
  assert.doesNotMatch(r.stderr, /Write error/);
  assert.notEqual(walHead(repo), head);
  // A read under the same limit answers with the event applied in memory, and says why it is not stored.
  const stuck = gritLimited(repo, 8, ['issue', 'list']);
  assert.equal(stuck.code, 0, stuck.stdout + stuck.stderr);
  assert.ok(stuck.json.data.issues.some((i: any) => i.issue_id === r.json.data.issue_id));
  assert.match(stuck.stderr, behind(1, `the store at .*store\\.mdb cannot grow: it is at this process's file size limit`));
  assert.doesNotMatch(stuck.stderr, /Write error/);
  const ids = (await listed(repo)).issues.map((i: any) => i.issue_id);
  assert.ok(ids.includes(r.json.data.issue_id), 'the next command catches the store up');
  // A limit a page above the store: the commit is cut short at it (LMDB's EIO), still said as the limit.
  const storeKb = statSync(join(await actorDirOf(repo), 'store.mdb')).size / 1024;
  const crossed = gritLimited(repo, storeKb + 4, ['issue', 'create', '--title', 'crossing', '--body', 'y'.repeat(40_000)]);
  assert.equal(crossed.code, 0, crossed.stdout + crossed.stderr);
  assert.match(crossed.stderr, /^grit: warning: written to the WAL .*but the store could not be updated \(the store at .*store\.mdb cannot grow: it is at this process's file size limit\)/);
  fsckClean(repo);
});

test('file-size limit (ulimit -f): sync with a store that cannot take the WAL still rebases, pulls and pushes, with a warning; without the limit the store catches up', async () => {
  const repo = await repoWithIssues(tempDir(), 2);
  const remote = tempDir();
  git(remote, 'init', '-q', '--bare');
  git(repo, 'remote', 'add', 'origin', remote);
  gritOk(repo, ['sync']);
  // A teammate's event on the remote: the sync below has to rebase the local one over it.
  const other = tempRepo();
  git(other, 'remote', 'add', 'origin', remote);
  await gritInit(other);
  const theirs = gritOk(other, ['issue', 'create', '--title', 'theirs']).issue_id;
  gritOk(other, ['sync']);
  // Landed in the WAL, not in the store (as in the test above); git's objects stay small.
  const mine = gritLimited(repo, 8, ['issue', 'create', '--title', 'mine', '--body', 'x'.repeat(40_000)]);
  assert.match(mine.stderr, /written to the WAL .*but the store could not be updated/);
  const limit = `the store at .*store\\.mdb cannot grow: it is at this process's file size limit`;
  // Before, the sync failed at the store (io_error) after rebasing the local WAL, and never
  // pushed, nor did any retry under the limit (or on a full disk).
  const r = gritLimited(repo, 8, ['sync']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.deepEqual([r.json.data.pulled, r.json.data.pushed, r.json.data.events_rebased], [1, 1, 1], r.stdout);
  assert.match(r.stderr, new RegExp(`^grit: warning: the sync succeeded, but the store could not be updated \\(${limit}\\); the next command catches it up$`, 'm'));
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'stack trace');
  assert.equal(git(remote, 'rev-parse', 'refs/grit/wal').trim(), walHead(repo), 'the sync did not push');
  const list = gritLimited(repo, 8, ['issue', 'list']);
  assert.deepEqual([mine.json.data.issue_id, theirs].map((id) => list.json.data.issues.some((i: any) => i.issue_id === id)), [true, true], list.stdout);
  assert.match(list.stderr, behind(2, limit));
  gritOk(other, ['sync']);
  assert.ok(gritOk(other, ['issue', 'list']).issues.some((i: any) => i.issue_id === mine.json.data.issue_id), 'the teammate does not get the event');
  assert.deepEqual(await listed(repo), list.json.data, 'the store did not catch up without the limit');
  assert.equal(gritOk(repo, ['db', 'check']).behind_wal, 0);
  fsckClean(repo);
});

const NO_TMPFS = 'cannot mount a tmpfs here (needs root); the ulimit -f tests cover the failure paths';

/**
 * Runs `fn` on a tmpfs of `kb` KiB mounted for it; false, having run nothing, where none can be
 * mounted (not root). The mount never outlives the test: it is unmounted when `fn` ends, however
 * it ends (lazily when something still holds it open, a daemon say), and at exit if a timeout
 * left `fn` running (before tempDir's cleanup, which would otherwise empty it and fail).
 */
async function withTmpfs(kb: number, fn: (mnt: string) => void | Promise<void>): Promise<boolean> {
  if (!isRoot) return false;
  const mnt = tempDir('grit-tmpfs-');
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${kb}k`, 'tmpfs', mnt]).status !== 0) return false;
  const unmount = () => {
    if (spawnSync('umount', [mnt]).status !== 0) spawnSync('umount', ['-l', mnt]);
  };
  process.prependListener('exit', unmount);
  try {
    await fn(mnt);
  } finally {
    process.removeListener('exit', unmount);
    unmount();
  }
  return true;
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

test('a full disk (small tmpfs): at every fill level a write either lands whole or fails with io_error leaving everything as it was', { timeout: 60_000 }, async (t) => {
  const ran = await withTmpfs(3072, async (mnt) => {
    const repo = await repoWithIssues(join(mnt, 'repo'), 3);
    const filler = openSync(join(mnt, 'filler'), 'w');
    const outcomes: Record<string, number> = {};
    try {
      // Levels around where an append (about 10 loose objects and a few store pages) stops fitting.
      for (const freeKb of [0, 24, 40, 48, 52, 56, 64, 96]) {
        const head = walHead(repo);
        const list = await listed(repo);
        fillLeaving(filler, freeKb);
        const r = grit(repo, ['issue', 'create', '--title', `at ${freeKb} KiB free`, '--json']);
        ftruncateSync(filler, 0);
        if (r.code === 0) {
          const outcome = /store could not be updated/.test(r.stderr) ? 'in the WAL, store caught up later' : 'written';
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
          assert.equal(git(repo, 'rev-list', '--count', `${head}..refs/grit/wal`).trim(), '1');
          const ids = (await listed(repo)).issues.map((i: any) => i.issue_id);
          assert.ok(ids.includes(r.json.data.issue_id), `${freeKb} KiB: acknowledged issue missing`);
        } else {
          outcomes.io_error = (outcomes.io_error ?? 0) + 1;
          await assertRefused(r, repo, head, list, `${freeKb} KiB free`);
        }
      }
    } finally {
      closeSync(filler);
    }
    console.log(`# outcomes by fill level: ${JSON.stringify(outcomes)}`);
    assert.ok((outcomes.io_error ?? 0) > 0, 'the disk was never full enough to refuse a write');
    assert.ok((outcomes.written ?? 0) > 0, 'no write ever succeeded');
    fsckClean(repo);
  });
  if (!ran) t.skip(NO_TMPFS);
});

/**
 * Fills the disk leaving ever more room until `issue create` of `bodyFile` lands in the WAL while
 * the store cannot take it (its chunk fits, the store's growth, two copies of the body, does not);
 * the disk stays that full. Returns the new issue's id.
 */
function createWithStoreFull(repo: string, filler: number, bodyFile: string, env: NodeJS.ProcessEnv, actorDir: string): string {
  for (let freeKb = 90; freeKb <= 300; freeKb += 10) {
    fillLeaving(filler, freeKb);
    const r = grit(repo, ['issue', 'create', '--title', 'big', '--body-file', bodyFile, '--json'], { env });
    if (r.code !== 0) continue; // the chunk does not fit yet: refused, as the test above checks
    assert.match(r.stderr, new RegExp(`written to the WAL \\([0-9a-f]{40}\\), but the store could not be updated \\(${diskFull(actorDir)}\\)`), r.stderr);
    return r.json.data.issue_id;
  }
  assert.fail('no fill level left room for the chunk and not for the store');
}

/** doctor's store_integrity check. */
function storeCheck(repo: string, env: NodeJS.ProcessEnv): { status: string; message: string; plan: string | null } {
  return gritDoctor(repo, [], { env }).checks.find((c: any) => c.id === 'store_integrity');
}

/**
 * With no room at all, commands that make files fail without leaving them empty behind: a new
 * actor's; an export's `.gitignore`, temporary file or `.grit/`, locally and through `daemonEnv`'s
 * daemon, saying the disk is full for the file it could not write.
 */
function leavesNothingEmpty(repo: string, filler: number, daemonEnv: NodeJS.ProcessEnv): void {
  fillLeaving(filler, 0);
  const gritDir = join(repo, '.git', 'grit');
  const actors = readdirSync(join(gritDir, 'actors'));
  assert.equal(grit(repo, ['actor', 'init', '--label', 'no-room', '--json']).json?.error?.code, 'io_error');
  assert.deepEqual(readdirSync(join(gritDir, 'actors')), actors, 'an actor directory left empty');
  assert.deepEqual(readdirSync(gritDir).filter((n) => n.endsWith('.tmp')), []);
  const exports: [string[], string][] = [
    [[], join(repo, '.grit', '.gitignore')],
    [['-o', '.grit/x.json'], join(repo, '.grit', 'x.json')],
    [['-o', 'x.json'], join(repo, 'x.json')],
  ];
  for (const env of [{}, daemonEnv]) {
    for (const [args, file] of exports) {
      const what = `export ${args.join(' ')}${env === daemonEnv ? ' through the daemon' : ''}`;
      const r = grit(repo, ['export', '--format', 'json', ...args, '--json'], { env });
      assert.equal(r.json?.error?.code, 'io_error', `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.json.error.message, new RegExp(`^${diskFull(dirname(file))}$`), what);
      assert.equal(r.json.error.details.path, file, what);
      assert.equal(r.json.error.details.disk_full, true, what);
      assert.match(r.json.error.details.suggestion, /^free space on that disk, or export elsewhere/, what);
      assert.ok(!existsSync(join(repo, '.grit')), `${what}: left a .grit/ (an empty .gitignore would stay and ignore nothing)`);
      assert.deepEqual(readdirSync(repo).filter((n) => n.includes('.tmp')), [], `${what}: left a temporary file`);
    }
  }
}

test('a full disk (small tmpfs): a store that cannot catch up is not written at all, so LMDB fails no page write: no `Write error` line, from a CLI read or from a long-lived process reading 400 times', { timeout: 120_000 }, async (t) => {
  const bodyFile = bigBody();
  const ran = await withTmpfs(3072, async (mnt) => {
    const repo = await repoWithIssues(join(mnt, 'repo'), 2);
    const actorDir = await actorDirOf(repo);
    const filler = openSync(join(mnt, 'filler'), 'w');
    try {
      // In the WAL, not in the store (the writer killed in between): the store's file ends where
      // its pages do, so catching it up writes new pages past its end, on a disk with no room.
      const killed = grit(repo, ['issue', 'create', '--title', 'big', '--body-file', bodyFile], { env: { GRIT_FAULT: 'write:after-append' } });
      assert.equal(killed.code, -1, killed.stderr); // SIGKILL
      fillLeaving(filler, 0);
      const list = grit(repo, ['issue', 'list', '--json']);
      assert.equal(list.code, 0, list.stdout + list.stderr);
      assert.equal(list.json.data.total, 3);
      assert.match(list.stderr, behind(1, diskFull(actorDir)));
      // LMDB's line for a page write that failed outright, each of which then has lmdb-js format
      // its error into a 100-byte buffer that a longer message overruns (a bigger store's
      // position): a process meeting a few hundred (a daemon or a library caller on a full disk)
      // corrupts its heap and aborts, `malloc(): invalid size` (disk-full.ts, noRoomForStoreWrite).
      assert.doesNotMatch(list.stderr, /Write error/);
      const script =
        `import { openRepo } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'src', 'index.js'))};\n` +
        `const repo = await openRepo({ cwd: ${JSON.stringify(repo)} });\n` +
        `for (let i = 0; i < 400; i++) if ((await repo.run('IssueList', {})).total !== 3) throw new Error('read ' + i);\n` +
        `console.log('read 400 times');\n`;
      const reads = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 100_000 });
      assert.deepEqual([reads.status, reads.signal, reads.stdout.trim()], [0, null, 'read 400 times'], reads.stderr.slice(-600));
      assert.doesNotMatch(reads.stderr, /Write error/);
      ftruncateSync(filler, 0);
      assert.equal((await listed(repo)).total, 3, 'with room, the store catches up');
    } finally {
      closeSync(filler);
    }
  });
  if (!ran) t.skip(NO_TMPFS);
});

test('a full disk (small tmpfs): a read answers with the events its store cannot take, saying the disk is full; a write is refused; nothing is left behind; alike through a daemon', { timeout: 120_000 }, async (t) => {
  const bodyFile = bigBody();
  const ran = await withTmpfs(3072, async (mnt) => {
    const repo = await repoWithIssues(join(mnt, 'repo'), 2);
    const actorDir = await actorDirOf(repo);
    const filler = openSync(join(mnt, 'filler'), 'w');
    const daemon = await startDaemon();
    try {
      // The daemon holds the actor's store from here on; --no-daemon commands share it.
      assert.equal(gritOk(repo, ['issue', 'list'], { env: daemon.env }).total, 2);
      for (const [label, env] of [['local', {}], ['daemon', daemon.env]] as const) {
        const id = createWithStoreFull(repo, filler, bodyFile, env, actorDir);
        const head = walHead(repo);
        const list = grit(repo, ['issue', 'list', '--json'], { env });
        assert.equal(list.code, 0, `${label}: ${list.stdout}${list.stderr}`);
        assert.ok(list.json.data.issues.some((i: any) => i.issue_id === id), `${label}: the issue in the WAL is not in the answer`);
        assert.match(list.stderr, behind(1, diskFull(actorDir)), label);
        const show = grit(repo, ['issue', 'show', id.slice(0, 8), '--json'], { env });
        assert.equal(show.code, 0, `${label}: ${show.stdout}${show.stderr}`);
        assert.equal(show.json.data.issue.body, readFileSync(bodyFile, 'utf8'));
        assert.match(show.stderr, behind(1, diskFull(actorDir)), label);
        // An export reads its snapshot in that in-memory transaction, whole, before it writes.
        const exported = grit(repo, ['export', '--format', 'json', '--output', '-'], { env });
        assert.equal(exported.code, 0, `${label}: ${exported.stderr}`);
        assert.ok(JSON.parse(exported.stdout).issues.some((i: any) => i.issue_id === id), `${label}: the issue in the WAL is not in the export`);
        assert.match(exported.stderr, behind(1, diskFull(actorDir)), label);
        // doctor says so too (it does not write the store to find out), not that the next command catches up.
        const stuck = storeCheck(repo, env);
        assert.equal(stuck.status, 'warn', `${label}: ${stuck.message}`);
        assert.match(stuck.message, new RegExp(`; the store is 1 event behind the WAL and cannot catch up: ${diskFull(actorDir)}; reads answer with it applied in memory only \\(saying so\\), and writes are refused until there is room$`), label);
        assert.match(stuck.plan ?? '', /^free space on that disk: nothing written is lost/, label);

        const write = grit(repo, ['issue', 'comment', id, '--body', 'refused', '--json'], { env });
        assert.equal(write.code, 1, `${label}: ${write.stdout}${write.stderr}`);
        assert.equal(write.json.error.code, 'io_error');
        assert.match(write.json.error.message, new RegExp(`^${diskFull(actorDir)}$`), label);
        assert.equal(write.json.error.details.disk_full, true);
        assert.equal(walHead(repo), head, `${label}: a refused write moved the WAL`);
        // `db check` checks the store as it is, and says what it lacks.
        const checked = grit(repo, ['db', 'check', '--json'], { env });
        assert.deepEqual([checked.code, checked.json?.data?.behind_wal], [0, 1], `${label}: ${checked.stdout}${checked.stderr}`);
        assert.match(grit(repo, ['db', 'check'], { env }).stdout, /\nthe WAL has 1 more event that the store does not hold yet/, label);
        assert.doesNotMatch(list.stderr + show.stderr + write.stderr, /\n\s+at /, 'stack trace');
        assert.deepEqual(leftInActorDir(actorDir), [], label);
        if (label === 'local') leavesNothingEmpty(repo, filler, daemon.env);

        ftruncateSync(filler, 0);
        assert.match(storeCheck(repo, env).message, /; behind the WAL; the next command catches up$/, label);
        const caughtUp = grit(repo, ['issue', 'list', '--json'], { env });
        assert.equal(caughtUp.stderr, '', `${label}: the store did not catch up once there was room`);
        assert.deepEqual(caughtUp.json.data, list.json.data);
        assert.equal(gritOk(repo, ['db', 'check'], { env }).behind_wal, 0, label);
      }
    } finally {
      await daemon.stop();
      closeSync(filler);
    }
    assert.deepEqual(leftInActorDir(actorDir), []);
    fsckClean(repo);
  });
  if (!ran) t.skip(NO_TMPFS);
});

test('a full disk (small tmpfs): a pack that does not fit (a WAL append, a snapshot, a sync\'s rebase) is the disk-full io_error naming the pack directory, not a bare ENOSPC; nothing is left behind', { timeout: 120_000 }, async (t) => {
  const ran = await withTmpfs(3072, async (mnt) => {
    const remote = join(tempDir('grit-remote-'), 'r.git');
    git(tempDir(), 'init', '-q', '--bare', remote);
    const repo = await repoWithIssues(join(mnt, 'repo'), 2);
    git(repo, 'remote', 'add', 'origin', remote);
    gritOk(repo, ['sync']);
    // A teammate's event on the remote, and one of ours: the sync below rebases ours over it.
    const other = tempRepo();
    git(other, 'remote', 'add', 'origin', remote);
    await gritInit(other);
    gritOk(other, ['sync']);
    gritOk(other, ['issue', 'create', '--title', 'theirs']);
    gritOk(other, ['sync']);
    gritOk(repo, ['issue', 'create', '--title', 'ours']);
    const packDir = join(repo, '.git', 'objects', 'pack');
    const filler = openSync(join(mnt, 'filler'), 'w');
    const refused = (r: GritResult, what: string) => {
      assert.equal(r.code, 1, `${what}: ${r.stdout}${r.stderr}`);
      assert.equal(r.json.error.code, 'io_error', what);
      assert.match(r.json.error.message, new RegExp(`^${diskFull(packDir)}$`), what);
      assert.deepEqual([r.json.error.details.errno, r.json.error.details.disk_full], ['ENOSPC', true], what);
      assert.match(r.json.error.details.path, /\/objects\/pack\/pack-[0-9a-f]{40}\.pack$/, what);
      assert.match(r.json.error.details.suggestion, /^free space on that disk and run the command again/, what);
      assert.deepEqual(readdirSync(packDir).filter((n) => n.startsWith('tmp_')), [], `${what}: temporary pack files left`);
    };
    try {
      const head = walHead(repo);
      fillLeaving(filler, 0);
      refused(grit(repo, ['snapshot', '--json']), 'snapshot');
      assert.equal(git(repo, 'for-each-ref', 'refs/grit/snapshots').trim(), '', 'no snapshot ref');
      refused(grit(repo, ['issue', 'create', '--title', 'no room', '--json']), 'issue create');
      assert.equal(walHead(repo), head);
      // The disk fills between the sync's fetch and its rebase.
      ftruncateSync(filler, 0);
      const paused = join(tempDir(), 'paused');
      const sync = gritAsync(repo, ['sync', '--json'], { env: { GRIT_FAULT: `sync:fetched:pause:${paused}` } });
      await until('the sync fetched', () => existsSync(paused));
      fillLeaving(filler, 0);
      rmSync(paused);
      refused(await sync, 'sync (rebase)');
      assert.equal(walHead(repo), head, 'the local WAL is as it was');
      ftruncateSync(filler, 0);
      assert.equal(gritOk(repo, ['sync']).events_rebased, 1, 'with room, the sync rebases');
    } finally {
      closeSync(filler);
    }
    fsckClean(repo);
  });
  if (!ran) t.skip(NO_TMPFS);
});

test('a full disk (small tmpfs) at the ref lock, after the pack fit: the disk-full io_error naming the ref directory, not a bare ENOSPC; the lock is removed at once, so the next writer does not wait for it to go stale', { timeout: 60_000 }, async (t) => {
  const ran = await withTmpfs(3072, async (mnt) => {
    const repo = await repoWithIssues(join(mnt, 'repo'), 1);
    const head = walHead(repo);
    const list = await listed(repo);
    const lock = join(repo, '.git', 'refs', 'grit', 'wal.lock');
    const filler = openSync(join(mnt, 'filler'), 'w');
    try {
      // Paused holding refs/grit/wal.lock, its one line not yet written: the disk fills then.
      const paused = join(tempDir(), 'paused');
      const write = gritAsync(repo, ['issue', 'create', '--title', 'no room for the ref', '--json'], { env: { GRIT_FAULT: `ref:locked:pause:${paused}` } });
      await until('the write holds the ref lock', () => existsSync(paused));
      fillLeaving(filler, 0);
      rmSync(paused);
      const r = await write;
      ftruncateSync(filler, 0);
      // Before: `ENOSPC: no space left on device, write`, no path, and an empty wal.lock left
      // behind that every writer waited on for STALE_LOCK_MS (5 s) before breaking it.
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.json.error.code, 'io_error');
      assert.match(r.json.error.message, new RegExp(`^${diskFull(dirname(lock))}$`));
      assert.deepEqual([r.json.error.details.errno, r.json.error.details.disk_full, r.json.error.details.path], ['ENOSPC', true, lock]);
      assert.equal(r.json.error.details.suggestion, 'free space on that disk and run the command again: refs/grit/wal is as it was');
      assert.equal(existsSync(lock), false, 'the empty ref lock was left behind');
      await assertRefused(r, repo, head, list, 'ref lock');
      const started = Date.now();
      gritOk(repo, ['issue', 'create', '--title', 'with room']);
      assert.ok(Date.now() - started < 4_000, `the next write waited ${Date.now() - started} ms`);
    } finally {
      closeSync(filler);
    }
    fsckClean(repo);
  });
  if (!ran) t.skip(NO_TMPFS);
});

test('a full disk (small tmpfs): a store to be made anew is refused with the disk-full error, not a crash, by a daemon too, which leaves no lease file; with a little room, reads answer from memory', { timeout: 120_000 }, async (t) => {
  const bodyFile = bigBody();
  const ran = await withTmpfs(3072, async (mnt) => {
    const repo = await repoWithIssues(join(mnt, 'repo'), 2);
    await gritSetup(repo, ['issue', 'create', '--title', 'big', '--body-file', bodyFile]);
    const actorDir = await actorDirOf(repo);
    const expected = await listed(repo);
    for (const f of ['store.mdb', 'store.mdb-lock']) rmSync(join(actorDir, f)); // a discarded cache, as doctor --fix leaves it
    const filler = openSync(join(mnt, 'filler'), 'w');
    const daemon = await startDaemon();
    try {
      fillLeaving(filler, 0);
      for (const env of [{}, daemon.env]) {
        // LMDB would make its lock file and write it through a memory map: SIGBUS (exit 135) with no room.
        const r = grit(repo, ['issue', 'list', '--json'], { env });
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.json.error.message, new RegExp(`^${diskFull(actorDir)}$`));
        assert.equal(r.json.error.details.store_unwritable, true);
        assert.deepEqual(readdirSync(actorDir), ['config.toml'], 'no store files, no lease, no temporary file');
      }
      const none = storeCheck(repo, {});
      assert.equal(none.status, 'warn', none.message);
      assert.match(none.message, new RegExp(`^no store yet at .*store\\.mdb, and none can be made: ${diskFull(actorDir)}; until there is room every command that uses the store fails$`));
      // Room for the store's files, not for the issues: the read replays the WAL in memory.
      fillLeaving(filler, 96);
      const r = grit(repo, ['issue', 'list', '--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(r.json.data, expected);
      assert.match(r.stderr, behind(3, diskFull(actorDir)));
      ftruncateSync(filler, 0);
      assert.deepEqual(grit(repo, ['issue', 'list', '--json'], { env: daemon.env }).json.data, expected);
    } finally {
      await daemon.stop();
      closeSync(filler);
    }
    assert.deepEqual(leftInActorDir(actorDir), []);
  });
  if (!ran) t.skip(NO_TMPFS);
});

test('init and actor init on a nearly full disk (small tmpfs): at every fill level the actor is made whole and the default, or nothing of it is left; a retry after freeing space makes exactly one; AGENTS.md is never cut short', { timeout: 120_000 }, async (t) => {
  // Not a whole page: an AGENTS.md rewritten in place then takes a page more than it gave back.
  const agents = `# Agents\n\n${'Notes a person wrote. '.repeat(180)}\n`;
  const ran = await withTmpfs(3072, async (mnt) => {
    const filler = openSync(join(mnt, 'filler'), 'w');
    try {
      for (const args of [['init'], ['init', '--generate-key'], ['actor', 'init', '--label', 'agent-7', '--generate-key']]) {
        const failed: number[] = [];
        for (let freeKb = 0; freeKb <= 24; freeKb += 4) {
          const what = `${args.join(' ')} at ${freeKb} KiB free`;
          const repo = join(mnt, 'repo');
          mkdirSync(repo);
          git(repo, 'init', '-q');
          writeFileSync(join(repo, 'AGENTS.md'), agents);
          const gritDir = join(repo, '.git', 'grit');
          fillLeaving(filler, freeKb);
          const r = grit(repo, [...args, '--json']);
          ftruncateSync(filler, 0);
          if (r.code !== 0) {
            failed.push(freeKb);
            assert.equal(r.json?.error?.code, 'io_error', `${what}: ${r.stdout}${r.stderr}`);
            assert.match(r.json.error.message, /^the disk holding \/.* is full \(\d+ bytes free\)$/, what);
            assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: stack trace`);
            // Nothing of the actor, or (when only AGENTS.md could not be written) the actor whole and the default.
            const actors = existsSync(join(gritDir, 'actors')) ? readdirSync(join(gritDir, 'actors')) : [];
            const named = existsSync(join(gritDir, 'config.toml')) ? readFileSync(join(gritDir, 'config.toml'), 'utf8') : '';
            if (actors.length) {
              assert.deepEqual(actors.length, 1, what);
              assert.match(named, new RegExp(`default_actor = "${actors[0]}"`), `${what}: an actor left that is not the default`);
            }
            assert.deepEqual(readdirSync(gritDir).filter((n) => n.endsWith('.tmp')), [], what);
          }
          const text = readFileSync(join(repo, 'AGENTS.md'), 'utf8');
          const whole = text === agents || (text.startsWith(`${agents}\n## Grit\n`) && text.endsWith('exit code 0 means success.\n'));
          assert.ok(whole, `${what}: AGENTS.md is ${JSON.stringify(text.slice(agents.length))} after the person's text`);
          gritOk(repo, args);
          const { actors } = await gritSetup(repo, ['actor', 'list']);
          assert.equal(actors.length, 1, `${what}, retried: ${JSON.stringify(actors)}`);
          assert.equal(actors[0].is_default, true, what);
          assert.ok(actors[0].public_key || !args.includes('--generate-key'), `${what}: no key`);
          if (args[0] === 'init') assert.equal(readFileSync(join(repo, 'AGENTS.md'), 'utf8').split('## Grit').length, 2, what);
          rmSync(repo, { recursive: true });
        }
        console.log(`# ${args.join(' ')} failed at ${failed.join(', ')} KiB free`);
        assert.ok(failed.length > 0 && failed.length < 7, `${args.join(' ')}: failed at ${failed.join(', ')} KiB free`);
      }
    } finally {
      closeSync(filler);
    }
  });
  if (!ran) t.skip(NO_TMPFS);
});

test('a read-only object directory: io_error, nothing changed (skipped as root, where permission bits do not apply)', async (t) => {
  if (isRoot) {
    t.skip('running as root: chmod does not stop root from writing');
    return;
  }
  const repo = await repoWithIssues(tempDir(), 1);
  const head = walHead(repo);
  const list = await listed(repo);
  const objects = join(repo, '.git', 'objects');
  const dirs = [objects, ...readdirSync(objects).map((d) => join(objects, d))];
  for (const d of dirs) chmodSync(d, 0o555);
  try {
    const r = grit(repo, ['issue', 'create', '--title', 'nope', '--json']);
    await assertRefused(r, repo, head, list, 'read-only objects', 5);
    assert.match(r.json.error.details.suggestion, /^check the permissions of .*\/\.git\/objects\/pack and of the directories above it$/);
  } finally {
    for (const d of dirs) chmodSync(d, 0o755);
  }
});

/**
 * Runs `fn` with `dir` bind-mounted read-only over itself (a real EROFS, which binds root too);
 * false, having run nothing, where that cannot be mounted (not root). Unmounted however `fn` ends.
 */
async function withReadOnlyMount(dir: string, fn: () => void | Promise<void>): Promise<boolean> {
  if (!isRoot) return false;
  if (spawnSync('mount', ['--bind', dir, dir]).status !== 0) return false;
  const unmount = () => {
    if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
  };
  process.prependListener('exit', unmount);
  try {
    if (spawnSync('mount', ['-o', 'remount,bind,ro', dir]).status !== 0) return false;
    await fn();
  } finally {
    process.removeListener('exit', unmount);
    unmount();
  }
  return true;
}

test('a read-only mount (.git/objects, then .git/grit; as root too): io_error, exit 5 as for permissions, saying to mount it read-write; nothing changed, and all works once it is writable again', { timeout: 60_000 }, async (t) => {
  const repo = await repoWithIssues(tempDir(), 1);
  const head = walHead(repo);
  const list = await listed(repo);
  const readOnly = (what: string, r: GritResult, dir: string) => {
    assert.equal(r.code, 5, `${what}: ${r.stdout} ${r.stderr}`);
    assert.equal(r.json?.error?.code, 'io_error', `${what}: ${r.stdout}`);
    assert.equal(r.json.error.details.errno, 'EROFS', `${what}: ${r.stdout}`);
    // Not "check free disk space and write permission", nor "give this user write permission": no permission helps.
    assert.match(r.json.error.details.suggestion, new RegExp(`^the file system holding ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\S* is mounted read-only: mount it read-write`), `${what}: ${r.stdout}`);
  };
  const objects = join(repo, '.git', 'objects');
  const mounted = await withReadOnlyMount(objects, () => {
    readOnly('a write, objects read-only', grit(repo, ['issue', 'create', '--title', 'nope', '--json'], { env: { GRIT_NO_DAEMON: '1' } }), objects);
  });
  if (!mounted) {
    t.skip('cannot bind-mount read-only here (needs root); the permission tests cover the refusal');
    return;
  }
  const gritDir = join(repo, '.git', 'grit');
  await withReadOnlyMount(gritDir, () => {
    for (const args of [['issue', 'list'], ['issue', 'create', '--title', 'nope'], ['sync']]) {
      readOnly(`${args.join(' ')}, .git/grit read-only`, grit(repo, [...args, '--json'], { env: { GRIT_NO_DAEMON: '1' } }), gritDir);
    }
  });
  assert.equal(walHead(repo), head, 'the WAL moved');
  assert.deepEqual(await listed(repo), list, 'the store changed');
  assert.deepEqual(tmpObjects(repo), []);
  gritOk(repo, ['issue', 'create', '--title', 'writable again'], { env: { GRIT_NO_DAEMON: '1' } });
  fsckClean(repo);
});

/**
 * Runs commands as a user that permission bits apply to: this one, or (as root, whom they do not
 * bind) user 65534 through setpriv, with `runDir` as its HOME and daemon run directory. With
 * `owns`, that user is made the owner of `repo` (all of it), as a repository's user is.
 */
function permissionBound(repo: string, runDir: string, owns = false) {
  mkdirSync(runDir, { mode: 0o700 });
  const asOther = isRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
  if (isRoot) {
    // That user's own git config (HOME is the run dir) trusts root's repository, as git asks of
    // another user's (safe.directory): what is tested is grit's files, not the ownership.
    writeFileSync(join(runDir, '.gitconfig'), '[safe]\n\tdirectory = *\n');
    spawnSync('chown', ['-R', '65534:65534', runDir, ...(owns ? [repo] : [])]);
  }
  const env = { ...process.env, NO_COLOR: '1', HOME: runDir, GRIT_RUN_DIR: runDir };
  const exec = (argv: string[], extra: NodeJS.ProcessEnv = {}) => {
    const [cmd, ...args] = [...asOther, ...argv];
    return spawnSync(cmd, args, { cwd: repo, encoding: 'utf8', env: { ...env, ...extra } });
  };
  return {
    grit(args: string[], daemon: boolean): GritResult {
      const r = exec([process.execPath, GRIT_BIN, ...args, '--json'], { GRIT_NO_DAEMON: daemon ? '' : '1' });
      let json: any = null;
      try {
        json = JSON.parse(r.stdout);
      } catch {
        /* not JSON */
      }
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr + (r.error?.message ?? ''), json };
    },
    git: (...args: string[]): string => String(exec(['git', ...args]).stdout).trim(),
  };
}

for (const what of ['directory', 'lock file'] as const) test(`an actor ${what} this user cannot write: io_error, exit 5, naming it, alike locally and through the daemon, for lock status and export too; doctor offers no rebuild`, { timeout: 60_000 }, async (t) => {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const repo = await repoWithIssues(join(dir, 'repo'), 1);
  const actorDir = await actorDirOf(repo);
  // Root's files, which user 65534 cannot write; or this user's, made read-only below.
  const run = permissionBound(repo, join(dir, 'run')).grit;
  // A writable directory and data file beside a read-only LMDB lock file (a repository shared
  // after grit made its files): lmdb-js would crash the process (SIGSEGV) opening it.
  const lockFile = join(actorDir, 'store.mdb-lock');
  const denied = what === 'directory' ? actorDir : lockFile;
  if (what === 'lock file') {
    chmodSync(actorDir, 0o777);
    chmodSync(join(actorDir, 'store.mdb'), 0o666);
    chmodSync(lockFile, 0o444);
  }
  else if (!isRoot) chmodSync(actorDir, 0o555);
  try {
    const probe = run(['--version'], false);
    if (probe.code !== 0) return t.skip(`cannot run grit as another user here: ${probe.stderr}`);
    // `lock status` reads no store, and `export` writes .grit/ before it reads one: both refused
    // all the same, as the daemon (which cannot take its lease there) refuses them.
    for (const [daemon, command] of [false, true].flatMap((d) => [['issue', 'list'], ['lock', 'status'], ['export']].map((c) => [d, c] as const))) {
      const r = run(command, daemon);
      assert.equal(r.code, 5, `${command.join(' ')}, daemon ${daemon}: ${r.stdout}${r.stderr}`);
      assert.equal(r.json.error.code, 'io_error');
      const why = what === 'directory' ? 'grit keeps its store (a cache) there and writes it' : 'it is part of the store (a cache), which grit writes';
      assert.equal(r.json.error.message, `${denied} is not writable by this user: ${why} even to answer a read`);
      assert.equal(r.json.error.details.store_unwritable, true);
    }
    const doctor = run(['doctor'], false);
    const store = doctor.json.data.checks.find((c: any) => c.id === 'store_integrity');
    assert.equal(store.status, 'error');
    assert.match(store.plan, /^give this user write permission on /);
    assert.doesNotMatch(store.plan, /rebuild/);
  } finally {
    const stop = run(['daemon', 'stop'], true);
    // The daemon that answered is the one stopped: a worker's crash would have taken it down.
    assert.equal(stop.json?.data?.stopped, true, `${stop.stdout}${stop.stderr}`);
    chmodSync(actorDir, 0o755);
    chmodSync(lockFile, 0o644);
  }
});

test('a directory of .git/grit this user cannot read, the daemon warm: the io_error and exit 5 of a run without the daemon, naming the file', { timeout: 60_000 }, async (t) => {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const repo = await repoWithIssues(join(dir, 'repo'), 1);
  const { grit: run } = permissionBound(repo, join(dir, 'run'), true);
  if (run(['--version'], false).code !== 0) return t.skip('cannot run grit as another user here');
  try {
    for (const sub of ['grit/actors', 'grit']) {
      const denied = join(repo, '.git', sub);
      // The daemon's worker and its remembered route to the actor, both made before the change.
      assert.equal(run(['issue', 'list'], true).code, 0);
      chmodSync(denied, 0o000);
      try {
        const [local, daemon] = [run(['issue', 'list'], false), run(['issue', 'list'], true)];
        assert.equal(local.code, 5, `${sub}: ${local.stdout}${local.stderr}`);
        assert.equal(local.json.error.details.errno, 'EACCES');
        assert.match(local.json.error.message, /config\.toml: cannot be read: permission denied$/);
        assert.equal(daemon.code, 5, `${sub}, through the daemon: ${daemon.stdout}${daemon.stderr}`);
        assert.deepEqual(daemon.json, local.json);
      } finally {
        chmodSync(denied, 0o755);
      }
    }
  } finally {
    run(['daemon', 'stop'], true);
  }
});

test('a pack directory this user cannot list: doctor says so, and --fix leaves the WAL where it was (its commits are there, only unreadable)', { timeout: 60_000 }, async (t) => {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const repo = await repoWithIssues(join(dir, 'repo'), 2);
  const as = permissionBound(repo, join(dir, 'run'), true);
  if (as.grit(['--version'], false).code !== 0) return t.skip('cannot run grit as another user here');
  const head = as.git('rev-parse', 'refs/grit/wal');
  const pack = join(repo, '.git', 'objects', 'pack');
  assert.ok(readdirSync(pack).some((f) => f.endsWith('.pack')), 'the WAL commits are packed');
  chmodSync(pack, 0o300); // writable and searchable, not listable
  let fix: GritResult;
  try {
    fix = as.grit(['doctor', '--fix'], false);
  } finally {
    chmodSync(pack, 0o755);
  }
  const wal = fix.json.data.checks.find((c: any) => c.id === 'wal_ref');
  assert.equal(wal.status, 'error');
  assert.match(wal.message, /permission denied/);
  assert.doesNotMatch(wal.message, /missing/);
  assert.deepEqual(fix.json.data.applied, []);
  assert.equal(as.git('rev-parse', 'refs/grit/wal'), head, 'doctor --fix moved the WAL');
  assert.equal(as.grit(['issue', 'list'], false).json.data.total, 2);
});
