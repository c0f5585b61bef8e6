/**
 * How a daemon comes to serve a run directory (docs/daemon.md, Start-up): one daemon owns it at a
 * time, and which one is decided under the directory's start lock before any socket file there is
 * touched.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isSpawnHelperSocket } from '../protocol/daemon-paths.js';
import { forgetDaemonPid, recordDaemonPid } from '../protocol/daemon-pid.js';
import { parseEndpoint } from '../protocol/transport/index.js';
import { prepareIpcPath, probeLive } from '../protocol/transport/listener.js';
import { withStartLock } from './start-lock.js';
import { Supervisor, type SupervisorOptions } from './supervisor.js';

/**
 * A supervisor serving `runDir` on `opts.endpoints` (the first, its daemon.sock), or null when
 * another daemon serves it already: this one has then touched nothing there.
 */
export async function startOwning(runDir: string, opts: SupervisorOptions): Promise<Supervisor | null> {
  const endpoint = parseEndpoint(opts.endpoints[0]);
  const served = () => endpoint.kind === 'ipc' && probeLive(endpoint.path, 1_000);
  // The usual case of a daemon spawned by each of a burst of CLIs: lost, without even the lock.
  if (await served()) return null;
  return withStartLock(runDir, async () => {
    if (await served()) return null;
    await clearDeadSpawnHelpers(runDir);
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
