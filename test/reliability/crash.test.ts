/**
 * kill -9 a CLI writer at randomized moments across 90 appends (seeded): after every kill, each
 * acknowledged event (the command printed its id) is in the WAL, the WAL only grew (linear, never
 * rewritten), `git fsck --full` is clean, and the next command is not blocked by anything the dead
 * process left behind; after every completed command the acknowledged events are in the store.
 * Kills land at random delays and at the crash points of src/core/fault.ts: between "commit
 * written" and "ref updated", between "ref updated" and "store updated", and while holding the
 * ref's `.lock`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../src/core/hex.js';
import { Store } from '../../src/core/store.js';
import { LOCK_WAIT_MS, STALE_LOCK_MS } from '../../src/git/refs.js';
import { Wal } from '../../src/git/wal.js';
import { GRIT_BIN } from '../helpers/paths.js';
import { pick, rng, shuffle } from '../helpers/random.js';
import { fsckClean, gritAsync, gritOk, gritDoctor, tempRepo, gritInit } from '../helpers/repo.js';
import { until } from '../helpers/wait.js';

const SEED = Number(process.env.GRIT_CRASH_SEED ?? 424242);
const APPENDS = 90;
const RANDOM_KILLS = 28;
const FAULT_KILLS = { 'wal:after-objects': 6, 'write:after-append': 6, 'ref:locked': 2 } as const;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  reply: any;
}

function run(repo: string, args: string[], opts: { killAfterMs?: number; fault?: string } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, GRIT_NO_DAEMON: '1', NO_COLOR: '1' };
    delete env.GRIT_HOME;
    if (opts.fault) env.GRIT_FAULT = opts.fault;
    const t0 = performance.now();
    const child = spawn(process.execPath, [GRIT_BIN, ...args, '--json'], { cwd: repo, env });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = opts.killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      let reply: any = null;
      try {
        reply = JSON.parse(out);
      } catch {
        /* killed before it answered */
      }
      resolve({ code, signal, ms: performance.now() - t0, reply });
    });
  });
}

/** `.lock` files anywhere under the git dir (ref locks, index.lock, …). */
function lockFiles(repo: string): string[] {
  const gitDir = join(repo, '.git');
  return readdirSync(gitDir, { recursive: true, encoding: 'utf8' })
    .filter((p) => p.endsWith('.lock') && !p.startsWith('objects'))
    .map((p) => join(gitDir, p));
}

test(`kill -9 across ${APPENDS} appends (seed ${SEED}): nothing acknowledged is lost, the WAL stays linear and fsck-clean`, { timeout: 240_000 }, async () => {
  const rand = rng(SEED);
  const repo = tempRepo();
  const actorDir = (await gritInit(repo)).actor.data_dir as string;
  const gitDir = join(repo, '.git');

  // The kill schedule: which attempts die, and how.
  const plan: (string | null)[] = new Array(APPENDS).fill(null);
  const kinds = [...Array(RANDOM_KILLS).fill('random'), ...Object.entries(FAULT_KILLS).flatMap(([f, n]) => Array(n).fill(f))];
  shuffle([...Array(APPENDS - 5).keys()].map((i) => i + 5), rand) // the first five calibrate the timing
    .slice(0, kinds.length)
    .forEach((at, k) => (plan[at] = kinds[k]));

  const acked = new Map<string, string>(); // event id -> what acknowledged it
  const issues: string[] = [];
  const walIds = new Set<string>();
  let walSeen: string | null = null;
  const durations: number[] = [];
  const stats = { kills: 0, randomKillsLanded: 0, faultKills: 0, survivedKill: 0, staleLocksFound: 0, nextCommandMaxMs: 0 };

  /** Acknowledged events must be in the WAL, which may only have grown since the last look. */
  const checkWal = async () => {
    const wal = new Wal(gitDir);
    const head = await wal.head();
    assert.ok(await wal.isAncestor(walSeen, head), `the WAL was rewritten: ${walSeen} is not an ancestor of ${head}`);
    for (const c of await wal.readSince(walSeen, head)) for (const e of c.events) walIds.add(toHex(e.event_id));
    walSeen = head;
    for (const [id, what] of acked) assert.ok(walIds.has(id), `acknowledged event ${id} (${what}) is not in the WAL`);
  };
  const checkStore = async () => {
    const store = Store.open(actorDir);
    try {
      const stored = new Set([...store.allEvents()].map((e) => toHex(e.event_id)));
      for (const [id, what] of acked) assert.ok(stored.has(id), `acknowledged event ${id} (${what}) is not in the store`);
    } finally {
      await store.close();
    }
  };

  let afterKill = false;
  for (let i = 0; i < APPENDS; i++) {
    const op = issues.length === 0 || rand() < 0.6 ? 'create' : rand() < 0.7 ? 'comment' : 'label';
    const target = issues.length ? pick(issues, rand) : '';
    const args =
      op === 'create'
        ? ['issue', 'create', '--title', `attempt ${i}`]
        : op === 'comment'
          ? ['issue', 'comment', target, '--body', `comment ${i}`]
          : ['issue', 'label', 'add', target, '--label', `l${i % 7}`];
    const how = plan[i];
    // Of the last few runs only: the host's load moves a run's length by several times within a test.
    const recent = durations.slice(-9).sort((a, b) => a - b);
    const median = recent.length ? recent[recent.length >> 1] : 0;
    const r = await run(repo, args, {
      fault: how && how !== 'random' ? how : undefined,
      // Anywhere from late start-up to just past a typical run.
      killAfterMs: how === 'random' ? median * (0.45 + 0.65 * rand()) : undefined,
    });
    const killed = r.signal === 'SIGKILL';
    if (r.reply?.ok) {
      acked.set(r.reply.data.event_id, `${op} attempt ${i}`);
      if (op === 'create') issues.push(r.reply.data.issue_id);
    } else if (!killed) {
      assert.fail(`attempt ${i} (${args.join(' ')}) failed: ${JSON.stringify(r.reply)}`);
    }
    if (how && !killed) {
      stats.survivedKill++;
      // A random kill that came after the run ended gets another try at the next free attempt.
      const next = plan.indexOf(null, i + 1);
      if (how === 'random' && next >= 0) plan[next] = 'random';
    }
    if (killed) {
      stats.kills++;
      if (how === 'random') stats.randomKillsLanded++;
      else stats.faultKills++;
      await checkWal();
      fsckClean(repo);
      // A lock left by the dead writer: once older than its lease, the next writer breaks it.
      // (Waiting out the lease for real is done once, in the test below.)
      const locks = lockFiles(repo);
      if (locks.length) {
        stats.staleLocksFound++;
        const past = new Date(Date.now() - STALE_LOCK_MS - 1000);
        for (const l of locks) utimesSync(l, past, past);
      }
      afterKill = true;
      continue;
    }
    if (!how) durations.push(r.ms);
    if (afterKill) {
      stats.nextCommandMaxMs = Math.max(stats.nextCommandMaxMs, r.ms);
      assert.ok(r.ms < STALE_LOCK_MS, `the command after a kill took ${r.ms} ms`);
      afterKill = false;
    }
    await checkStore();
  }
  await checkWal();
  await checkStore();
  fsckClean(repo);
  assert.deepEqual(lockFiles(repo), []);
  assert.ok(stats.kills >= 30, `only ${stats.kills} kills landed: ${JSON.stringify(stats)}`);
  assert.equal(stats.faultKills, Object.values(FAULT_KILLS).reduce((a, b) => a + b, 0));
  // Every acknowledged issue is listed, nothing else is.
  const listed = new Set(gritOk(repo, ['issue', 'list']).issues.map((x: any) => x.issue_id));
  for (const id of issues) assert.ok(listed.has(id), `issue ${id} missing from issue list`);
  console.log(`# ${APPENDS} attempts, ${acked.size} acknowledged, ${walIds.size} events in the WAL; ${JSON.stringify(stats)}`);
});

test('a writer killed while holding the WAL ref lock: the next writer waits the lock out and gets through', { timeout: 30_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  gritOk(repo, ['issue', 'create', '--title', 'before']);
  const r = await run(repo, ['issue', 'create', '--title', 'dies holding the lock'], { fault: 'ref:locked' });
  assert.equal(r.signal, 'SIGKILL');
  const [lock] = lockFiles(repo);
  assert.match(lock, /refs\/grit\/wal\.lock$/);
  // doctor calls it stale only once its lease is over.
  assert.equal(gritDoctor(repo).checks.find((c: any) => c.id === 'wal_ref').status, 'ok');

  const t0 = performance.now();
  gritOk(repo, ['issue', 'create', '--title', 'after the lease']);
  const waited = performance.now() - t0;
  assert.ok(waited < LOCK_WAIT_MS, `waited ${waited} ms for a lock abandoned by a dead writer`);
  assert.deepEqual(lockFiles(repo), []);
  assert.deepEqual(
    gritOk(repo, ['issue', 'list']).issues.map((i: any) => i.title).sort(),
    ['after the lease', 'before'],
  );
  fsckClean(repo);
});

test('a writer stopped past the lock lease between its check and its rename loses nothing: the one that broke its lock, and it, both land once', { timeout: 60_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  gritOk(repo, ['issue', 'create', '--title', 'before']);
  const other = gritOk(repo, ['actor', 'init', '--label', 'other']).actor.actor_id;
  const lock = join(repo, '.git', 'refs', 'grit', 'wal.lock');
  const [pausedA, pausedB] = [join(tempRepo(), 'a'), join(tempRepo(), 'b')];
  // A holds the lock, its commit written into it and checked to be its own, then stops.
  const a = run(repo, ['issue', 'create', '--title', 'A'], { fault: `ref:checked:pause:${pausedA}` });
  await until('A paused before its rename', () => existsSync(pausedA));
  // As if it had stopped past the lease: B breaks the lock, takes its own and stops at the same point.
  const past = new Date(Date.now() - STALE_LOCK_MS - 1_000);
  utimesSync(lock, past, past);
  const b = run(repo, ['issue', 'create', '--title', 'B', '--actor', other], { fault: `ref:checked:pause:${pausedB}` });
  await until('B paused before its rename', () => existsSync(pausedB));
  // A goes on first and renames B's lock onto the ref; then B finds its lock gone.
  const release = (file: string) => setInterval(() => rmSync(file, { force: true }), 20);
  const releasing = [release(pausedA)];
  try {
    const ranA = await a;
    releasing.push(release(pausedB));
    const ranB = await b;
    for (const [who, r] of [['A', ranA], ['B', ranB]] as const) assert.equal(r.code, 0, `${who}: ${JSON.stringify(r.reply)}`);
    const wal = new Wal(join(repo, '.git'));
    const ids = (await wal.readSince(null, (await wal.head())!)).flatMap((c) => c.events.map((e) => toHex(e.event_id)));
    for (const r of [ranA, ranB]) assert.equal(ids.filter((id) => id === r.reply.data.event_id).length, 1, `acknowledged, and in the WAL once: ${r.reply.data.event_id}`);
  } finally {
    releasing.forEach(clearInterval);
  }
  assert.deepEqual(gritOk(repo, ['issue', 'list']).issues.map((i: any) => i.title).sort(), ['A', 'B', 'before']);
  fsckClean(repo);
});

test('a WAL ref lock that stays fresh (a live holder) gives db_busy with a plan, not a hang', { timeout: 30_000 }, async () => {
  const repo = tempRepo();
  await gritInit(repo);
  gritOk(repo, ['issue', 'create', '--title', 'before']);
  const lock = join(repo, '.git', 'refs', 'grit', 'wal.lock');
  writeFileSync(lock, '', { flag: 'wx' });
  const keepFresh = setInterval(() => utimesSync(lock, new Date(), new Date()), 500);
  try {
    const t0 = performance.now();
    const busy = await gritAsync(repo, ['issue', 'create', '--title', 'blocked', '--json']);
    const waited = performance.now() - t0;
    assert.equal(busy.json?.error?.code, 'db_busy', busy.stdout);
    assert.equal(busy.code, 5);
    assert.match(busy.json.error.details.suggestion, /remove .*wal\.lock/);
    // The wait's end outlasts the lock it finds once (refs.ts casRef): one kept fresh, never more.
    assert.ok(waited < LOCK_WAIT_MS + STALE_LOCK_MS + 1_000 + 2500, `waited ${waited} ms`);
  } finally {
    clearInterval(keepFresh);
    rmSync(lock, { force: true });
  }
  assert.deepEqual(gritOk(repo, ['issue', 'list']).issues.map((i: any) => i.title), ['before']);
});
