/**
 * Rebuild timings: `node dist/test/helpers/bench-rebuild.js [events] [tail] [batchMax]` builds a WAL of
 * `events` events (default 10000) in a temp repo, writes a snapshot, appends `tail` more (default
 * 200; `batchMax` events per commit at most, default 4), then times a full WAL replay against a rebuild from the snapshot, in-process and via the CLI.
 */
import { spawnSync } from 'node:child_process';
import { runLocal } from '../../src/commands/run.js';
import { generateWal } from './gen-events.js';
import { GRIT_BIN } from './paths.js';
import { tempRepo } from './repo.js';

const total = Number(process.argv[2] ?? 10_000);
const tail = Number(process.argv[3] ?? 200);
const batchMax = Number(process.argv[4] ?? 4);
const repo = tempRepo();
const opts = { cwd: repo };
await runLocal('Init', { no_agents_md: true }, opts);
const actors = [{ id: '11'.repeat(16) }, { id: '22'.repeat(16) }, { id: '33'.repeat(16) }];
const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await fn();
  return [r, Math.round(performance.now() - t)];
};
const [gen1, genMs] = await time(() => generateWal(`${repo}/.git`, { seed: 7, events: total, actors, batchMax }));
const [snap, snapMs] = await time(() => runLocal('Snapshot', {}, opts));
await generateWal(`${repo}/.git`, { seed: 8, events: tail, actors, startTs: gen1.nextTs });
const [full, fullMs] = await time(() => runLocal('Rebuild', {}, opts));
const [fromSnap, snapRebuildMs] = await time(() => runLocal('Rebuild', { from_snapshot: true }, opts));
const cli = (args: string[]) => {
  const t = performance.now();
  const r = spawnSync(process.execPath, [GRIT_BIN, ...args, '--json'], { cwd: repo, env: { ...process.env, GRIT_NO_DAEMON: '1' } });
  if (r.status !== 0) throw new Error(String(r.stdout));
  return Math.round(performance.now() - t);
};
const result = {
  events: total + tail,
  wal_commits_generated: gen1.commits,
  generate_ms: genMs,
  snapshot_ms: snapMs,
  snapshot: snap,
  rebuild_full_ms: fullMs,
  rebuild_from_snapshot_ms: snapRebuildMs,
  cli_rebuild_full_ms: cli(['rebuild']),
  cli_rebuild_from_snapshot_ms: cli(['rebuild', '--from-snapshot']),
  full,
  fromSnap,
};
console.log(JSON.stringify(result, null, 2));
