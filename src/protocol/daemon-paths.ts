/**
 * Where the per-user daemon lives (SPEC §7): a run directory only this user can enter, holding
 * the socket and the log. `GRIT_RUN_DIR` overrides it (tests run private daemons that way).
 */
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { GritError } from '../core/errors.js';
import { MAX_IPC_PATH_BYTES } from './transport/endpoint.js';
import { shellWord } from '../core/shell-word.js';

/**
 * The sockets the daemon listens on in its run directory (its spawn helper's named with a pid of 7
 * digits, the most Linux gives); the longest decides how long the directory may be.
 */
const SOCKET_NAMES = ['daemon.sock', 'events.sock', 'git-4194304.sock'];

/**
 * The run directory. A relative GRIT_RUN_DIR is returned as it is, not resolved: against each
 * command's working directory it would give one daemon per directory, with sockets in the work
 * tree. ensureRunDir refuses it, so commands run in-process and `daemon start` says why.
 */
export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.GRIT_RUN_DIR;
  if (given) return isAbsolute(given) ? resolve(given) : given;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'grit');
  return join(homedir(), '.grit', 'run');
}

/** `GRIT_NO_DAEMON` set, and not to `0`, `false` or nothing: no command may use or start the daemon. */
export function daemonDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.GRIT_NO_DAEMON;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * The refusal of a command that exists to use the daemon (`watch`, `daemon start`) under
 * GRIT_NO_DAEMON: a script that set it wants no daemon left running, and the environment forbids
 * what the command needs (ipc_error, exit 5). `what` says what the command does.
 */
export function refusedWithoutDaemon(what: string, command: string): GritError {
  return new GritError('ipc_error', `${what}, and GRIT_NO_DAEMON is set: no daemon is used or started`, {
    environment: true,
    suggestion: `run it without GRIT_NO_DAEMON (\`GRIT_NO_DAEMON=0 ${command}\`)`,
  });
}

export function daemonEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return `ipc://${join(runDir(env), 'daemon.sock')}`;
}

/** The daemon's PUB socket (notifications of writes, syncs, locks and snapshots). */
export function notificationsEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return `ipc://${join(runDir(env), 'events.sock')}`;
}

/**
 * Where the spawn helper (src/git/spawn-helper.ts) of the daemon with this pid listens: a socket
 * of each daemon's own, so that one starting never meets the helper of one that is exiting.
 */
export function gitSpawnerPath(env: NodeJS.ProcessEnv = process.env, pid = process.pid): string {
  return join(runDir(env), `git-${pid}.sock`);
}

/** A spawn helper's socket, by its name in the run directory (`git.sock`: an older grit's). */
export function isSpawnHelperSocket(name: string): boolean {
  return /^git(-\d+)?\.sock$/.test(name);
}

export function daemonLogPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(runDir(env), 'daemon.log');
}

/**
 * Refuses a relative run directory (GRIT_RUN_DIR=run): no daemon serves one, so `daemon status`
 * and `stop` must say why rather than "no daemon running", and no client may look for a socket at
 * a path each command's working directory would make a different one.
 */
export function refuseRelativeRunDir(dir: string): void {
  if (isAbsolute(dir)) return;
  throw new GritError('io_error', `the daemon run directory ${dir} is not an absolute path (GRIT_RUN_DIR must be one)`, {
    details: { path: dir, variable: 'GRIT_RUN_DIR' },
    suggestion: 'set GRIT_RUN_DIR to an absolute path, or unset it',
    environment: true,
  });
}

/**
 * Creates the run directory with mode 0700 (restoring it on one of this user's with other bits:
 * 0777, or 0500, where the daemon could bind no socket), and refuses one the daemon cannot use: a
 * relative path, one too long for its socket paths, one that is not a directory, another user's,
 * one whose mode cannot be restored, or one whose log cannot be opened.
 */
export function ensureRunDir(dir: string): void {
  refuseRelativeRunDir(dir);
  const socket = join(dir, SOCKET_NAMES.reduce((a, b) => (a.length >= b.length ? a : b)));
  const bytes = Buffer.byteLength(socket);
  if (bytes > MAX_IPC_PATH_BYTES) {
    throw new GritError('io_error', `the daemon run directory ${dir} is too long: its socket path ${socket} takes ${bytes} bytes, more than the ${MAX_IPC_PATH_BYTES} a Unix socket path may have`, {
      details: { path: dir, socket_path_bytes: bytes, limit: MAX_IPC_PATH_BYTES },
      suggestion: 'set GRIT_RUN_DIR to a shorter directory',
      environment: true,
    });
  }
  let st;
  try {
    makeDirs(dir);
    st = statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'is not a directory' : `cannot be made (${code ?? (err as Error).message})`;
    throw new GritError('io_error', `the daemon run directory ${dir} ${why}`, {
      details: { path: dir, errno: code ?? null },
      suggestion: 'set GRIT_RUN_DIR to a directory of your own',
      environment: true,
    });
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new GritError('ipc_error', `the daemon run directory ${dir} belongs to another user`, {
      suggestion: 'set GRIT_RUN_DIR to a directory of your own',
      environment: true,
    });
  }
  if ((st.mode & 0o777) !== 0o700) restoreMode(dir, st.mode & 0o777);
  ensureLogOpens(daemonLogPath({ GRIT_RUN_DIR: dir }));
}

/**
 * `mkdir -p` with mode 0700, a step per missing directory. Not node's `recursive: true`: where
 * mkdir fails with ENOENT under a parent that exists (procfs: GRIT_RUN_DIR=/proc/grit), that
 * retries for ever, and every command spun at 100% CPU.
 */
function makeDirs(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A file there is refused as `recursive: true` refused it (EEXIST: "is not a directory").
    if (code === 'EEXIST' && statSync(dir).isDirectory()) return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw err;
    makeDirs(dirname(dir));
    mkdirSync(dir, { mode: 0o700 });
  }
}

function restoreMode(dir: string, mode: number): void {
  try {
    chmodSync(dir, 0o700);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new GritError('io_error', `the daemon run directory ${dir} has mode 0${mode.toString(8)} and cannot be made 0700 (${code ?? (err as Error).message})`, {
      details: { path: dir, mode: `0${mode.toString(8)}`, errno: code ?? null },
      suggestion: `chmod 700 ${shellWord(dir)}, or set GRIT_RUN_DIR to a directory of your own`,
      environment: true,
    });
  }
}

/**
 * The daemon logs to its file or not at all (started detached, it has no stderr anyone reads): one
 * it cannot open for appending (a directory at its path, a file it may not write) refuses the start.
 */
function ensureLogOpens(path: string): void {
  try {
    closeSync(openSync(path, 'a', 0o600));
  } catch (err) {
    throw logUnopenable(path, err);
  }
}

/** The refusal of a daemon log that cannot be opened: here, and when the daemon's own open fails. */
export function logUnopenable(path: string, err: unknown): GritError {
  const code = (err as NodeJS.ErrnoException).code;
  return new GritError('io_error', `the daemon log ${path} cannot be opened (${code ?? (err as Error).message})`, {
    details: { path, errno: code ?? null },
    suggestion: `remove or fix ${path}, or set GRIT_RUN_DIR to another directory`,
    environment: true,
  });
}
