/** A private grit daemon for a test: its own run directory, started and stopped by the test. */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { GritClient } from '../../src/protocol/client.js';
import { recordedDaemonPid } from '../../src/protocol/daemon-pid.js';
import { pidAlive } from '../../src/core/pid-alive.js';
import { REPO_ROOT } from './paths.js';
import { git, gritOk, tempDir, tempRepo } from './repo.js';

export const DAEMON_BIN = join(REPO_ROOT, 'bin', 'grit-daemon.js');

export interface TestDaemon {
  runDir: string;
  endpoint: string;
  /** Env for CLI calls that should go through this daemon. */
  env: NodeJS.ProcessEnv;
  child: ChildProcess | null;
  exited: Promise<number | null>;
  client(format?: 'cbor' | 'json'): Promise<GritClient>;
  stop(): Promise<void>;
}

/**
 * Another install of grit: this one's launchers and compiled code in a directory of their own
 * (node_modules shared), which a test may change under the daemon it starts from there
 * (`startDaemon({ bin: join(root, 'bin', 'grit-daemon.js') })`). Returns its root.
 */
export function installCopy(prefix: string): string {
  const dir = tempDir(prefix);
  cpSync(join(REPO_ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
  cpSync(join(REPO_ROOT, 'dist/src'), join(dir, 'dist/src'), { recursive: true });
  cpSync(join(REPO_ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** The run dirs this test process made, removed as it exits (one listener for all: a file may start many daemons). */
const runDirs: string[] = [];

/** A short run dir: ipc socket paths are limited to 107 bytes. */
export function testRunDir(): string {
  const dir = mkdtempSync('/tmp/gd-');
  chmodSync(dir, 0o700);
  if (runDirs.push(dir) === 1) process.on('exit', () => runDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return dir;
}

export function daemonEnv(runDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { GRIT_RUN_DIR: runDir, GRIT_NO_DAEMON: '', NO_COLOR: '1', ...extra };
}

/**
 * `cwd`: where the daemon runs (a daemon the CLI spawns runs wherever that command ran); `bin`:
 * another install's grit-daemon (default: this one's).
 */
export async function startDaemon(opts: { args?: string[]; env?: NodeJS.ProcessEnv; runDir?: string; cwd?: string; bin?: string } = {}): Promise<TestDaemon> {
  const runDir = opts.runDir ?? testRunDir();
  const env: NodeJS.ProcessEnv = { ...process.env, ...daemonEnv(runDir), ...opts.env };
  delete env.GRIT_HOME;
  const child = spawn(process.execPath, [opts.bin ?? DAEMON_BIN, '--idle-timeout', '0', ...(opts.args ?? [])], {
    env,
    cwd: opts.cwd,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const sock = join(runDir, 'daemon.sock');
  const endpoint = `ipc://${sock}`;
  // Ready when it answers, not merely when the socket file exists.
  for (let i = 0; ; i++) {
    try {
      (await GritClient.connect({ endpoint, connectTimeoutMs: 1_000 })).close();
      break;
    } catch (err) {
      if (i >= 400 || child.exitCode !== null) throw new Error(`test daemon did not start: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    runDir,
    endpoint,
    env: daemonEnv(runDir, opts.env),
    child,
    exited,
    client: (format = 'cbor') => GritClient.connect({ endpoint, format }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Whether something accepts connections on the Unix socket at `path`. */
export function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

/**
 * A daemon whose syncs stop after applying their first pulled step (a GRIT_FAULT pause) until the
 * test removes `paused`; `repo`, whose remote holds an event it has not pulled; and the
 * daemon's notifications endpoint.
 */
export async function daemonPausingSyncs(): Promise<{ daemon: TestDaemon; repo: string; paused: string; events: string }> {
  const paused = join(tempDir(), 'paused');
  const daemon = await startDaemon({ env: { GRIT_FAULT: `sync:step-applied:pause:${paused}` } });
  const remote = join(tempDir('grit-remote-'), 'r.git');
  git(tempDir(), 'init', '-q', '--bare', remote);
  const [repo, other] = [tempRepo(), tempRepo()];
  for (const r of [repo, other]) {
    git(r, 'remote', 'add', 'origin', remote);
    gritOk(r, ['init', '--no-agents-md']);
  }
  gritOk(other, ['issue', 'create', '--title', 'pulled']);
  gritOk(other, ['sync']);
  return { daemon, repo, paused, events: `ipc://${join(daemon.runDir, 'events.sock')}` };
}

/**
 * Stops the daemon a CLI command started in `runDir` (its pid file names it), if any, and waits
 * for it to exit: a test that lets the CLI start one stops it rather than leave it idling.
 */
export async function stopDaemonIn(runDir: string): Promise<void> {
  // The daemon's own reading of its pid file: a file left behind must not name another process.
  const pid = recordedDaemonPid(runDir);
  if (pid === null) return; // none started, or gone
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 400 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
}
