#!/usr/bin/env node
// Peak memory (RSS) of the CLI listing 1k issues (local, and as a thin client of a warm daemon) and
// of a daemon serving 4 actors in 2 repos after a burst of writes and reads, against the peak RSS
// of bare `node -e 0` measured in the same run.
// Usage: node bench/memory.js [--quick]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GRIT, isMain, printTable, row, seedIssues, startDaemon, tempRepo } from './lib.js';
import { runLocal } from '../dist/src/commands/run.js';

const PROBE = new URL('./rss-probe.js', import.meta.url).href;

/** Peak RSS in MiB of a node process running `args` (reported by rss-probe.js at its exit). */
function peakRss(args, { cwd, env } = {}) {
  const dir = mkdtempSync('/tmp/gb-rss-');
  const out = join(dir, 'rss');
  try {
    const r = spawnSync(process.execPath, ['--import', PROBE, ...args], { cwd, env: { ...process.env, ...env, GRIT_BENCH_RSS_OUT: out }, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
    return Number(readFileSync(out, 'utf8')) / 1024;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Peak RSS in MiB of a running process (Linux: VmHWM). */
function peakOfPid(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

export async function run({ quick = false } = {}) {
  const n = quick ? 200 : 1000;
  const daemon = await startDaemon();
  const rows = [];
  try {
    const baseline = peakRss(['-e', '0']);
    const vsNode = (name, mib) => row('memory', name, mib, 'MiB', { baseline: 'node -e 0', baselineValue: baseline });
    const repo = tempRepo();
    await runLocal('Init', { no_agents_md: true }, { cwd: repo });
    await seedIssues(daemon, repo, n);
    const k = n >= 1000 ? `${n / 1000}k` : String(n);
    rows.push(vsNode(`CLI issue list --json (${k} issues), local`, peakRss([GRIT, 'issue', 'list', '--json'], { cwd: repo, env: { GRIT_NO_DAEMON: '1' } })));
    rows.push(vsNode(`CLI issue list --json (${k} issues), daemon`, peakRss([GRIT, 'issue', 'list', '--json'], { cwd: repo, env: daemon.env })));

    // Four actors in two repos, each with its own worker thread and store.
    const targets = [];
    for (const dir of [repo, tempRepo()]) {
      if (dir !== repo) await runLocal('Init', { no_agents_md: true }, { cwd: dir });
      const second = await runLocal('ActorInit', { label: 'second' }, { cwd: dir });
      targets.push({ repoRoot: dir }, { repoRoot: dir, actorId: second.actor.actor_id });
    }
    const clients = await Promise.all(targets.map(() => daemon.client()));
    await Promise.all(
      clients.map(async (c, i) => {
        for (let w = 0; w < (quick ? 20 : 200); w++) await c.issueCreate({ title: `w${w}` }, targets[i]);
        await c.issueList({}, targets[i]);
      }),
    );
    for (const c of clients) c.close();
    rows.push(vsNode('daemon serving 4 actors in 2 repos', peakOfPid(daemon.pid)));
  } finally {
    await daemon.stop();
  }
  return rows;
}

if (isMain(import.meta.url)) printTable(await run({ quick: process.argv.includes('--quick') }));
