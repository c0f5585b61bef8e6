/**
 * Sync timings: `node dist/test/helpers/bench-sync.js [events] [batchMax]` (default 1000 events,
 * 1 event per WAL commit: the worst case). A bare remote and fresh clones on local disk:
 *  - push:      a clone holding the events pushes them to the empty remote (`grit sync`)
 *  - pull:      a fresh clone pulls them (`grit sync`: fetch, validate, fast-forward, apply to the store)
 *  - git fetch: a plain `git fetch` of the same refs into a fresh clone (the transport floor)
 *  - rebase:    a clone with as many local-only events of its own syncs: pull, re-append all of them, push
 * Every `grit sync` is a CLI run (GRIT_NO_DAEMON=1), node start-up included.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { runLocal } from '../../src/commands/run.js';
import { generateWal } from './gen-events.js';
import { GRIT_BIN } from './paths.js';
import { git, tempDir, tempRepo } from './repo.js';

const total = Number(process.argv[2] ?? 1000);
const batchMax = Number(process.argv[3] ?? 1);
const remote = join(tempDir('grit-bench-remote-'), 'remote.git');
git(tempDir(), 'init', '-q', '--bare', remote);

async function clone(): Promise<string> {
  const dir = tempRepo();
  git(dir, 'remote', 'add', 'origin', remote);
  await runLocal('Init', { no_agents_md: true }, { cwd: dir });
  return dir;
}

function timed(cwd: string, cmd: string, args: string[]): { ms: number; out: string } {
  const t = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, GRIT_NO_DAEMON: '1' } });
  const ms = Math.round(performance.now() - t);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return { ms, out: r.stdout };
}
const sync = (cwd: string) => {
  const r = timed(cwd, process.execPath, [GRIT_BIN, 'sync', '--json']);
  return { ms: r.ms, ...JSON.parse(r.out).data };
};

const a = await clone();
const gen = await generateWal(join(a, '.git'), { seed: 1, events: total, actors: [{ id: 'aa'.repeat(16) }], batchMax });
await runLocal('IssueList', {}, { cwd: a }); // the writer's store is up to date, as after real writes
const push = sync(a);

const b = await clone();
const pull = sync(b);

const c = await clone();
const fetch = timed(c, 'git', ['fetch', '-q', '--no-tags', 'origin', '+refs/grit/*:refs/grit-remote/origin/*']);
const startTs = gen.nextTs;

const d = await clone();
await generateWal(join(d, '.git'), { seed: 2, events: total, actors: [{ id: 'dd'.repeat(16) }], batchMax, startTs });
await runLocal('IssueList', {}, { cwd: d });
const rebase = sync(d);

const pick = (s: any) => ({ ms: s.ms, pulled: s.pulled, pushed: s.pushed, events_rebased: s.events_rebased });
console.log(
  JSON.stringify(
    {
      events: total,
      wal_commits: gen.commits,
      push: pick(push),
      pull: pick(pull),
      plain_git_fetch_ms: fetch.ms,
      rebase: pick(rebase),
    },
    null,
    2,
  ),
);
