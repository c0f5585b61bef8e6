/**
 * Finding the per-user daemon, and starting it detached when nobody answers (SPEC §7: the CLI
 * auto-spawns it and waits up to 5 s, or GRIT_SPAWN_WAIT). Two CLIs racing to start it are fine: one daemon wins the
 * run directory, the other finds it serving and exits 0, and both CLIs connect to the first.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envSeconds } from '../core/env-seconds.js';
import { GritError } from '../core/errors.js';
import { GritClient, type ClientOptions } from './client.js';
import { daemonEndpoint, daemonLogPath, ensureRunDir, runDir } from './daemon-paths.js';

/** How long a CLI waits for a daemon it started to answer, when GRIT_SPAWN_WAIT is unset (SPEC §7). */
export const DEFAULT_SPAWN_WAIT_S = 5;

/**
 * GRIT_SPAWN_WAIT in milliseconds. A setting because the right wait depends on the host: a loaded
 * one may start the daemon more slowly than 5 s, and tests that check a failed start ends the
 * wait early set it long, so that a wait sat out whole cannot pass for a slow host.
 */
export function spawnWaitMs(): number {
  return envSeconds('GRIT_SPAWN_WAIT', DEFAULT_SPAWN_WAIT_S, { code: 'ipc_error', zero: 'no wait: the command runs here while the daemon starts' }) * 1000;
}

const DAEMON_BIN = fileURLToPath(new URL('../../../bin/grit-daemon.js', import.meta.url));

/** Connection failures that mean "no daemon is listening" rather than "something is wrong". */
function nobodyListening(err: unknown): boolean {
  const code = err instanceof GritError ? err.details.transport_code : undefined;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

/**
 * Something accepts connections on the socket and does not serve them: `silent`, it never
 * completes the handshake (a daemon stopped or stuck); `refusing`, it closes them at once (a
 * daemon at its connection limit, or out of file descriptors: RepServer `accept`).
 */
export type NotAnswering = 'silent' | 'refusing';

function notAnswering(err: unknown): NotAnswering | null {
  const code = err instanceof GritError ? err.details.transport_code : undefined;
  if (code === 'timeout') return 'silent';
  return code === 'closed' || code === 'ECONNRESET' || code === 'EPIPE' ? 'refusing' : null;
}

function usableRunDir(): boolean {
  try {
    ensureRunDir(runDir());
    return true;
  } catch {
    return false;
  }
}

/** A daemon this process started: its pid, and its exit code once it has exited (null while it runs). */
export interface SpawnedDaemon {
  pid: number | undefined;
  exited: Promise<number | null>;
}

/** glibc's own starting value (128 KiB), which it would otherwise raise to up to 32 MiB. */
const DAEMON_MMAP_THRESHOLD = 128 * 1024;

/** The environment a daemon is started with, from the caller's (also bench/lib.js's daemon). */
export function daemonEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...base };
  // The daemon picks actors per request; a caller's GRIT_HOME must not leak into all of them.
  delete env.GRIT_HOME;
  // glibc raises its mmap threshold each time a large block is freed, so a worker's big buffers
  // later come from malloc arenas that keep the memory once the worker is retired (and grow with
  // each worker started again). A fixed threshold keeps them in mmaps returned on free: measured
  // in docs/daemon.md ("Memory"), at no measurable cost in CPU. glibc reads it only at start-up.
  env.MALLOC_MMAP_THRESHOLD_ ??= String(DAEMON_MMAP_THRESHOLD);
  return env;
}

/** Loads child_process only here: the CLI's usual path (a daemon already up) never needs it. */
export async function spawnDaemon(extraArgs: string[] = []): Promise<SpawnedDaemon> {
  const { spawn } = await import('node:child_process');
  const env = daemonEnv(process.env);
  const child = spawn(process.execPath, [DAEMON_BIN, ...extraArgs], { detached: true, stdio: 'ignore', env });
  child.unref();
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code ?? 1));
    child.once('error', () => resolve(1));
  });
  return { pid: child.pid, exited };
}

/**
 * Why the daemon with this pid did not start, as it logged it (src/supervisor/main.ts), or a
 * plain statement when the log says nothing: the reason outlives the daemon only there.
 */
function startFailure(pid: number | undefined, code: number): string {
  try {
    // Its last lines are enough (the log of a long-lived daemon can be large).
    const fd = openSync(daemonLogPath(), 'r');
    let tail: string;
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(size, 64 << 10));
      readSync(fd, buf, 0, buf.length, size - buf.length);
      tail = buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
    for (const line of tail.trimEnd().split('\n').reverse()) {
      let entry: { pid?: number; reason?: unknown };
      try {
        entry = JSON.parse(line);
      } catch {
        continue; // the first line of the tail, cut short
      }
      if (entry.pid === pid && typeof entry.reason === 'string') return entry.reason;
    }
  } catch {
    // no log: the exit code is all there is
  }
  return `grit-daemon exited with status ${code}`;
}

/** Whether the daemon `client` reached is the process `pid`; if not, the client is closed. */
async function servedBy(client: GritClient, pid: number | undefined): Promise<boolean> {
  const status = (await client.status().catch(() => null)) as { pid?: unknown } | null;
  if (status?.pid === pid) return true;
  client.close();
  return false;
}

/**
 * Connects to the daemon; if none is listening and `spawn` is set, starts one (`onSpawn` gets its
 * pid) and keeps trying for up to GRIT_SPAWN_WAIT. Returns null when no daemon could be reached.
 */
export async function connectOrSpawn(
  opts: ClientOptions & {
    spawn: boolean;
    daemonArgs?: string[];
    onSpawn?: (pid: number | undefined) => void;
    /** The daemon it started exited without serving (its socket path is not a socket, …): why. */
    onStartFailure?: (reason: string) => void;
    /** A process holds the socket but does not serve it (the null returned is not "no daemon"). */
    onNotAnswering?: (how: NotAnswering) => void;
    /**
     * The daemon spawned (with `--replace`) replaces the one running: spawn at once, and connect
     * only to it, within this many milliseconds; the old one answers, then nothing does, meanwhile.
     */
    replaceWithin?: number;
  },
): Promise<GritClient | null> {
  // A relative GRIT_RUN_DIR names no daemon (ensureRunDir refuses it): its socket path, taken
  // against this process's working directory, is not looked at.
  if (!opts.endpoint && !isAbsolute(runDir())) return null;
  const endpoint = opts.endpoint ?? daemonEndpoint();
  // Read first: a bad value is refused whether or not a daemon is up, not only once one must start.
  const waitMs = opts.replaceWithin ?? (opts.spawn ? spawnWaitMs() : 0);
  const replacing = opts.replaceWithin !== undefined;
  const connect = async () => {
    try {
      return await GritClient.connect({ ...opts, endpoint, connectTimeoutMs: 1_000 });
    } catch (err) {
      const how = notAnswering(err);
      if (how && !replacing) opts.onNotAnswering?.(how);
      throw err;
    }
  };
  if (!replacing) {
    try {
      return await connect();
    } catch (err) {
      if (!opts.spawn || !nobodyListening(err)) return null;
    }
  }
  // A run directory the daemon could not use (GRIT_RUN_DIR names a file, another user's
  // directory…) would only be found out after the whole wait: the command runs here at once.
  if (!opts.endpoint && !usableRunDir()) return null;
  const daemon = await spawnDaemon(opts.daemonArgs); // (not inside `onSpawn?.(…)`: that skips its argument without one)
  opts.onSpawn?.(daemon.pid);
  // It exits 0 when it found another daemon serving (src/supervisor/start-up.ts), which is
  // connected to at once; any other exit is a start that failed, for a reason that will not go
  // away in the rest of the wait.
  const deadline = Date.now() + waitMs;
  for (let delay = 10; Date.now() < deadline; delay = Math.min(delay * 2, 100)) {
    const code = await Promise.race([new Promise<null>((r) => setTimeout(r, delay, null)), daemon.exited]);
    if (code !== null && code !== 0) {
      opts.onStartFailure?.(startFailure(daemon.pid, code));
      return null;
    }
    try {
      const client = await connect();
      if (!replacing || (await servedBy(client, daemon.pid))) return client;
    } catch (err) {
      // Replacing, the old daemon may close connections as it lets go: nothing to give up on. A
      // daemon just started may hold its socket a while before it answers (a loaded host): the
      // wait is for that too.
      if (!replacing && !nobodyListening(err) && notAnswering(err) !== 'silent') return null;
    }
    if (code === 0) return null; // the daemon it found has stopped since: none is coming
  }
  return null;
}
