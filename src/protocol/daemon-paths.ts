/**
 * Where the per-user daemon lives (SPEC §7): a run directory only this user can enter, holding
 * the socket and the log. `GRIT_RUN_DIR` overrides it (tests run private daemons that way).
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { GritError, ENV_EXIT } from '../core/errors.js';

export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GRIT_RUN_DIR) return resolve(env.GRIT_RUN_DIR);
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'grit');
  return join(homedir(), '.grit', 'run');
}

export function daemonEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return `ipc://${join(runDir(env), 'daemon.sock')}`;
}

/** The daemon's PUB socket (notifications of writes, syncs, locks and snapshots). */
export function notificationsEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return `ipc://${join(runDir(env), 'events.sock')}`;
}

/** Where the daemon's spawn helper listens (src/git/spawn-helper.ts). */
export function gitSpawnerPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(runDir(env), 'git.sock');
}

export function daemonLogPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(runDir(env), 'daemon.log');
}

/** Creates the run directory with mode 0700, and refuses one that others can enter. */
export function ensureRunDir(dir: string): void {
  let st;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    st = statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'is not a directory' : `cannot be made (${code ?? (err as Error).message})`;
    throw new GritError('io_error', `the daemon run directory ${dir} ${why}`, {
      details: { path: dir, errno: code ?? null },
      suggestion: 'set GRIT_RUN_DIR to a directory of your own',
      exitCode: ENV_EXIT,
    });
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new GritError('ipc_error', `the daemon run directory ${dir} belongs to another user`, {
      suggestion: 'set GRIT_RUN_DIR to a directory of your own',
      exitCode: ENV_EXIT,
    });
  }
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}
