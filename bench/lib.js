// Shared helpers for the benchmark scripts: temp repos, timing of whole commands, ratios.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const GRIT = join(ROOT, 'bin', 'grit.cjs');

export function tempRepo() {
  const dir = mkdtempSync(join(tmpdir(), 'grit-bench-'));
  spawnSync('git', ['init', '-q', dir]);
  return dir;
}

/** Median wall time in ms of running `cmd args` `runs` times (after one warm-up). */
export function timeCommand(cmd, args, { cwd, env, runs = 15 } = {}) {
  const opts = { cwd, env: { ...process.env, ...env }, stdio: 'ignore' };
  spawnSync(cmd, args, opts);
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(cmd, args, opts);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** True when the module at `url` is the script node was started with (not imported by run.js). */
export function isMain(url) {
  return process.argv[1] !== undefined && url === pathToFileURL(process.argv[1]).href;
}

/**
 * One result row of the suite (bench/run.js, bench/results.json): `value` in `unit`, and when
 * there is a baseline measured in the same run, its value and `ratio` = value / baseline.
 * `target` is a bound on the ratio (`<= 1.5x`) or on the value (`<= 2000 ms`, `>= 5000 /s`).
 */
export function row(bench, name, value, unit, { baseline, baselineValue, target } = {}) {
  const r = { bench, case: name, value: round(value), unit };
  if (baseline !== undefined) Object.assign(r, { baseline, baseline_value: round(baselineValue), ratio: Number((value / baselineValue).toFixed(2)) });
  if (target !== undefined) r.target = target;
  return r;
}

const round = (v) => (Math.abs(v) >= 100 ? Math.round(v) : Number(v.toFixed(2)));

export function printTable(rows) {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (r, k) => (r[k] === undefined ? '' : String(r[k]));
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => cell(r, k).length)));
  const line = (vals) => vals.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  console.log(line(keys));
  for (const r of rows) console.log(line(keys.map((k) => cell(r, k))));
}

/** A private daemon (own run directory) for a benchmark; `env` routes CLI calls to it. */
export async function startDaemon(args = ['--idle-timeout', '0']) {
  const runDir = mkdtempSync('/tmp/gb-');
  chmodSync(runDir, 0o700);
  const env = { GRIT_RUN_DIR: runDir, GRIT_NO_DAEMON: '' };
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'grit-daemon.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  const { GritClient } = await import('../dist/src/index.js');
  const endpoint = `ipc://${join(runDir, 'daemon.sock')}`;
  for (let i = 0; ; i++) {
    try {
      (await GritClient.connect({ endpoint })).close();
      break;
    } catch (err) {
      if (i > 200) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    env,
    endpoint,
    pid: child.pid,
    client: (format = 'cbor') => GritClient.connect({ endpoint, format }),
    stop: () =>
      new Promise((resolve) => {
        child.on('exit', () => {
          rmSync(runDir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Creates `n` issues (every third labelled `bug`) through a warm daemon; returns the first id. */
export async function seedIssues(daemon, repo, n, clientsN = 32) {
  const clients = await Promise.all(Array.from({ length: Math.min(clientsN, n) }, () => daemon.client()));
  let next = 0;
  let first;
  await Promise.all(
    clients.map(async (c) => {
      for (let i = next++; i < n; i = next++) {
        const { issue_id } = await c.issueCreate({ title: `issue ${i}`, labels: i % 3 ? [] : ['bug'] }, { repoRoot: repo });
        if (i === 0) first = issue_id;
      }
    }),
  );
  for (const c of clients) c.close();
  return first;
}
