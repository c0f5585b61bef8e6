#!/usr/bin/env node
// CLI latency in a repo with 1k and 10k issues: `issue list --json`, `issue show --json`, `issue
// create --json` and `--version`, local (--no-daemon) and through a warm daemon, as ratios against
// bare `node -e 0` measured in the same run, interleaved with each command's own runs.
// Usage: node bench/cli-latency.js [--quick]
import { GRIT, isMain, printTable, row, seedIssues, startDaemon, tempRepo, timeVsNode } from './lib.js';
import { runLocal } from '../dist/src/commands/run.js';

export async function run({ quick = false } = {}) {
  const sizes = quick ? [200] : [1000, 10_000];
  const runs = quick ? 1 : 15;
  const daemon = await startDaemon();
  const rows = [];
  try {
    const vsNode = (name, { ms, node }, target) => row('cli', name, ms, 'ms', { baseline: 'node -e 0', baselineValue: node, target });
    rows.push(vsNode('grit --version', timeVsNode([GRIT, '--version'], { runs })));
    for (const n of sizes) {
      const repo = tempRepo();
      await runLocal('Init', { no_agents_md: true }, { cwd: repo });
      const id = await seedIssues(daemon, repo, n);
      const k = n >= 1000 ? `${n / 1000}k` : String(n);
      const commands = [
        [`issue list --json (${k} issues)`, ['issue', 'list', '--json'], { local: '<= 2.5x', daemon: '<= 1.5x' }],
        [`issue show --json (${k} issues)`, ['issue', 'show', id, '--json'], {}],
        [`issue create --json (${k} issues)`, ['issue', 'create', '--title', 'bench', '--json'], {}],
      ];
      for (const [name, args, targets] of commands) {
        for (const [mode, env] of [['local', { GRIT_NO_DAEMON: '1' }], ['daemon', daemon.env]]) {
          const times = timeVsNode([GRIT, ...args], { cwd: repo, env, runs });
          // Targets are set for 1k issues (issue 9); 10k is reported for scale.
          rows.push(vsNode(`${name}, ${mode}`, times, n === 1000 ? targets[mode] : undefined));
        }
      }
    }
  } finally {
    await daemon.stop();
  }
  return rows;
}

if (isMain(import.meta.url)) printTable(await run({ quick: process.argv.includes('--quick') }));
