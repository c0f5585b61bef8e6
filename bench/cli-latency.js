#!/usr/bin/env node
// CLI latency in a repo with N issues, local (--no-daemon) and through a warm daemon, as ratios
// against bare `node -e 0` measured in the same run.
// Usage: node bench/cli-latency.js [issues=1000]
import { GRIT, printTable, startDaemon, tempRepo, timeCommand } from './lib.js';
import { runLocal } from '../dist/src/commands/run.js';

const n = Number(process.argv[2] ?? 1000);
const repo = tempRepo();
const options = { cwd: repo };
await runLocal('Init', { no_agents_md: true }, options);
for (let i = 0; i < n; i++) await runLocal('IssueCreate', { title: `issue ${i}`, labels: i % 3 ? [] : ['bug'] }, options);
const { issues } = await runLocal('IssueList', {}, options);
const id = issues[0].issue_id;

const daemon = await startDaemon();
const modes = [
  ['local', { GRIT_NO_DAEMON: '1' }],
  ['daemon', daemon.env],
];
const baseline = timeCommand(process.execPath, ['-e', '0']);
const rows = [{ command: 'node -e 0', mode: '', issues: n, median_ms: baseline.toFixed(1), ratio: '1.00' }];
const commands = [
  ['grit --version', ['--version']],
  ['issue list --json', ['issue', 'list', '--json']],
  ['issue show --json', ['issue', 'show', id, '--json']],
  ['issue create --json', ['issue', 'create', '--title', 'bench', '--json']],
];
for (const [name, args] of commands) {
  for (const [mode, env] of modes) {
    if (name === 'grit --version' && mode === 'daemon') continue;
    const ms = timeCommand(process.execPath, [GRIT, ...args], { cwd: repo, env });
    rows.push({ command: name, mode, issues: n, median_ms: ms.toFixed(1), ratio: (ms / baseline).toFixed(2) });
  }
}
await daemon.stop();
printTable(rows);
