#!/usr/bin/env node
// `grit sync --pull` of N new events from a local bare remote, against a plain `git fetch` of the
// same refs measured in the same rounds. Each round a writer pushes N new events to the remote;
// then four clones that were all at the previous round's state take them in, one per mode:
//   git fetch    `git fetch origin +refs/grit/*:refs/grit-remote/origin/*` (the transport floor)
//   CLI          `grit sync --pull --json` (GRIT_NO_DAEMON=1: node and oclif start-up included)
//   CLI, daemon  the same command as users run it by default: forwarded to the warm daemon
//   in-process   runLocal('Sync', {pull: true}) in this process
//   daemon       GritClient.request('Sync', …) to a warm private daemon
// Round 0 is a warm-up (small, untimed). Values are medians over the timed rounds.
// Usage: node bench/sync.js [--quick]
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { GRIT, isMain, printTable, row, startDaemon, tempRepo } from './lib.js';
import { runLocal } from '../dist/src/commands/run.js';
import { generateWal } from '../dist/test/helpers/gen-events.js';

const MODES = ['CLI', 'CLI, daemon', 'in-process', 'daemon'];

function git(cwd, ...args) {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function timed(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * One case: `rounds` timed rounds of `events` new events each (`batchMax` events per WAL commit
 * at most, 1 = one commit per event, the worst case).
 */
async function pullCase({ events, batchMax, rounds, label, target }, daemon, client) {
  const dirs = [];
  const repo = () => {
    const d = tempRepo();
    dirs.push(d);
    return d;
  };
  const remote = join(repo(), 'remote.git');
  git(join(remote, '..'), 'init', '-q', '--bare', remote);
  const writer = repo();
  git(writer, 'remote', 'add', 'origin', remote);
  await runLocal('Init', { no_agents_md: true }, { cwd: writer });
  const clones = {};
  for (const mode of ['git fetch', ...MODES]) {
    clones[mode] = repo();
    git(clones[mode], 'remote', 'add', 'origin', remote);
    await runLocal('Init', { no_agents_md: true }, { cwd: clones[mode] });
  }
  const cli = (env) => (cwd) => {
    const r = spawnSync(process.execPath, [GRIT, 'sync', '--pull', '--json'], { cwd, encoding: 'utf8', env: { ...process.env, GRIT_NO_PROGRESS: '1', ...env } });
    if (r.status !== 0) throw new Error(`grit sync: ${r.stdout}${r.stderr}`);
  };
  const pull = {
    'git fetch': (cwd) => git(cwd, 'fetch', '-q', '--no-tags', 'origin', '+refs/grit/*:refs/grit-remote/origin/*'),
    CLI: cli({ GRIT_NO_DAEMON: '1' }),
    'CLI, daemon': cli(daemon.env),
    'in-process': (cwd) => runLocal('Sync', { pull: true }, { cwd }),
    daemon: (cwd) => client.request('Sync', { pull: true }, { repoRoot: cwd }),
  };
  const times = Object.fromEntries(Object.keys(pull).map((m) => [m, []]));
  let ts;
  for (let round = 0; round <= rounds; round++) {
    const gen = await generateWal(join(writer, '.git'), {
      seed: round + 1,
      events: round === 0 ? 50 : events,
      actors: [{ id: 'aa'.repeat(16) }],
      batchMax,
      startTs: ts,
    });
    ts = gen.nextTs;
    git(writer, 'push', '-q', 'origin', 'refs/grit/wal:refs/grit/wal');
    for (const [mode, fn] of Object.entries(pull)) {
      const ms = await timed(() => fn(clones[mode]));
      if (round > 0) times[mode].push(ms);
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  const base = median(times['git fetch']);
  return MODES.map((mode) => row('sync', `pull ${label} (${mode})`, median(times[mode]), 'ms', { baseline: 'git fetch', baselineValue: base, target }));
}

export async function run({ quick = false } = {}) {
  const cases = quick
    ? [{ events: 200, batchMax: 1, rounds: 1, label: '200 events, 1 per commit' }]
    : [
        { events: 1000, batchMax: 1, rounds: 5, label: '1k events, 1 per commit', target: '<= 2x' },
        // Realistic batching: 1 to 4 events per WAL commit (about 4,000 commits).
        { events: 10000, batchMax: 4, rounds: 3, label: '10k events, 1-4 per commit' },
      ];
  const daemon = await startDaemon();
  const client = await daemon.client();
  try {
    const rows = [];
    for (const c of cases) rows.push(...(await pullCase(c, daemon, client)));
    return rows;
  } finally {
    client.close();
    await daemon.stop();
  }
}

if (isMain(import.meta.url)) printTable(await run({ quick: process.argv.includes('--quick') }));
