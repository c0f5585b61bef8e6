/**
 * How a daemon comes to serve a run directory (docs/daemon.md, Start-up): one daemon owns it at a
 * time, and which one is decided under the directory's start lock before any socket file there is
 * touched.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isSpawnHelperSocket } from '../protocol/daemon-paths.js';
import { DAEMON_PID_FILE, forgetDaemonPid, recordDaemonPid } from '../protocol/daemon-pid.js';
import { leftBeside, removeLeft } from '../core/left-temp-files.js';
import { parseEndpoint } from '../protocol/transport/index.js';
import { prepareIpcPath, probeLive } from '../protocol/transport/listener.js';
import { stopRunningDaemon } from '../commands/daemon.js';
import { withStartLock } from './start-lock.js';
import { Supervisor, type SupervisorOptions } from './supervisor.js';

/**
 * A supervisor serving `runDir` on `opts.endpoints` (the first, its daemon.sock), or null when
 * another daemon serves it already: this one has then touched nothing there. With `replace`
 * (`grit daemon start --replace`), the daemon serving it is stopped instead, under the start lock,
 * and this one starts once it has exited: a daemon that a CLI spawns meanwhile finds the old one
 * still answering, or waits for the lock and then finds this one (docs/daemon.md, Lifecycle).
 * `onOwning` runs once this daemon is the one to serve, before it binds anything.
 */
export async function startOwning(runDir: string, opts: SupervisorOptions, replace = false, onOwning?: () => void): Promise<Supervisor | null> {
  const endpoint = parseEndpoint(opts.endpoints[0]);
  const served = () => endpoint.kind === 'ipc' && probeLive(endpoint.path, 1_000);
  // The usual case of a daemon spawned by each of a burst of CLIs: lost, without even the lock.
  if (!replace && (await served())) return null;
  return withStartLock(runDir, async (keepFresh) => {
    if (await served()) {
      if (!replace) return null;
      // Waits out the old daemon's drain (up to GRIT_DRAIN_TIMEOUT and a margin), holding the lock.
      await stopRunningDaemon(keepFresh);
    }
    // What only the daemon that serves may do (rotating the log), before it logs that it does.
    onOwning?.();
    await clearDeadSpawnHelpers(runDir);
    // What a daemon killed while it wrote its pid record (or a CLI while it removed a dead one) left.
    removeLeft(leftBeside(join(runDir, DAEMON_PID_FILE)));
    const supervisor = await Supervisor.start(opts);
    recordDaemonPid(runDir);
    void supervisor.stopped.then(() => forgetDaemonPid(runDir));
    return supervisor;
  });
}

/** Spawn helper sockets nothing listens on (their daemon and helper were killed); live ones are left. */
async function clearDeadSpawnHelpers(runDir: string): Promise<void> {
  for (const name of readdirSync(runDir).filter(isSpawnHelperSocket)) {
    await prepareIpcPath(join(runDir, name)).catch(() => undefined);
  }
}
