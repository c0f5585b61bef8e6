// Shared helpers for the benchmark scripts: temp repos, timing of whole commands, ratios.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const GRIT = join(ROOT, 'bin', 'grit.cjs');

/** Every repository `tempRepo` made, removed when the process exits (a run must not fill /tmp). */
const made = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function tempRepo() {
  const dir = mkdtempSync(join(tmpdir(), 'grit-bench-'));
  made.push(dir);
  spawnSync('git', ['init', '-q', dir]);
  return dir;
}

/**
 * Median wall times of `node args…` (in `cwd`, with `env`) and of bare `node -e 0`, their runs
 * interleaved so that the machine's drift during a measurement hits the command and its baseline
 * alike (measured once up front, the baseline drifted by a third on a noisy host).
 */
export function timeVsNode(args, { cwd, env, runs = 15 } = {}) {
  const base = { stdio: 'ignore' };
  const opts = { cwd, env: { ...process.env, ...env }, stdio: 'ignore' };
  spawnSync(process.execPath, ['-e', '0'], base);
  spawnSync(process.execPath, args, opts);
  const times = { ms: [], node: [] };
  for (let i = 0; i < runs; i++) {
    times.node.push(wall(() => spawnSync(process.execPath, ['-e', '0'], base)));
    times.ms.push(
      wall(() => {
        const r = spawnSync(process.execPath, args, opts);
        if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}`);
      }),
    );
  }
  return { ms: median(times.ms), node: median(times.node) };
}

function wall(fn) {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
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
  const { daemonEnv } = await import('../dist/src/protocol/daemon-launch.js');
  // As the CLI starts one (its malloc setting among others).
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'grit-daemon.js'), ...args], {
    env: daemonEnv({ ...process.env, ...env }),
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
