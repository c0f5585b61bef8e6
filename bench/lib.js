// Shared helpers for the benchmark scripts: temp repos, timing of whole commands, ratios.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const GRIT = join(ROOT, 'bin', 'grit.js');

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

export function printTable(rows) {
  const widths = Object.keys(rows[0]).map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (vals) => vals.map((v, i) => String(v).padEnd(widths[i])).join('  ');
  console.log(line(Object.keys(rows[0])));
  for (const r of rows) console.log(line(Object.values(r)));
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
