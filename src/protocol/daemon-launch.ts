/**
 * Finding the per-user daemon, and starting it detached when nobody answers (SPEC §7: the CLI
 * auto-spawns it and waits up to 5 s). Two CLIs racing to start it are fine: the second daemon
 * finds the socket taken and exits, and both CLIs connect to the first.
 */
import { fileURLToPath } from 'node:url';
import { GritError } from '../core/errors.js';
import { GritClient, type ClientOptions } from './client.js';
import { daemonEndpoint, ensureRunDir, runDir } from './daemon-paths.js';

export const SPAWN_WAIT_MS = 5_000;

const DAEMON_BIN = fileURLToPath(new URL('../../../bin/grit-daemon.js', import.meta.url));

/** Connection failures that mean "no daemon is listening" rather than "something is wrong". */
function nobodyListening(err: unknown): boolean {
  const code = err instanceof GritError ? err.details.transport_code : undefined;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

function usableRunDir(): boolean {
  try {
    ensureRunDir(runDir());
    return true;
  } catch {
    return false;
  }
}

/** Loads child_process only here: the CLI's usual path (a daemon already up) never needs it. */
export async function spawnDaemon(extraArgs: string[] = []): Promise<number | undefined> {
  const { spawn } = await import('node:child_process');
  const env = { ...process.env };
  // The daemon picks actors per request; a caller's GRIT_HOME must not leak into all of them.
  delete env.GRIT_HOME;
  const child = spawn(process.execPath, [DAEMON_BIN, ...extraArgs], { detached: true, stdio: 'ignore', env });
  child.unref();
  return child.pid;
}

/**
 * Connects to the daemon; if none is listening and `spawn` is set, starts one (`onSpawn` gets its
 * pid) and keeps trying for up to `waitMs`. Returns null when no daemon could be reached.
 */
export async function connectOrSpawn(
  opts: ClientOptions & { spawn: boolean; waitMs?: number; daemonArgs?: string[]; onSpawn?: (pid: number | undefined) => void },
): Promise<GritClient | null> {
  const endpoint = opts.endpoint ?? daemonEndpoint();
  const connect = () => GritClient.connect({ ...opts, endpoint, connectTimeoutMs: 1_000 });
  try {
    return await connect();
  } catch (err) {
    if (!opts.spawn || !nobodyListening(err)) return null;
  }
  // A run directory the daemon could not use (GRIT_RUN_DIR names a file, another user's
  // directory…) would only be found out after the whole wait: the command runs here at once.
  if (!opts.endpoint && !usableRunDir()) return null;
  const pid = await spawnDaemon(opts.daemonArgs); // (not inside `onSpawn?.(…)`: that skips its argument without one)
  opts.onSpawn?.(pid);
  const deadline = Date.now() + (opts.waitMs ?? SPAWN_WAIT_MS);
  for (let delay = 10; Date.now() < deadline; delay = Math.min(delay * 2, 100)) {
    await new Promise((r) => setTimeout(r, delay));
    try {
      return await connect();
    } catch (err) {
      if (!nobodyListening(err)) return null;
    }
  }
  return null;
}
