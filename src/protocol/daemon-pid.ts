/**
 * `daemon.pid` in the run directory: the pid of the daemon serving it, for when that daemon holds
 * `daemon.sock` but does not answer (stopped with SIGSTOP, or stuck), so that `daemon status` and
 * `daemon stop` can name the process rather than call it absent. Written by the daemon that wins
 * the start lock, once its sockets are bound, and removed when it has let go of them.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from '../core/pid-alive.js';

const FILE = 'daemon.pid';

export function recordDaemonPid(runDir: string): void {
  const tmp = join(runDir, `${FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 });
  renameSync(tmp, join(runDir, FILE));
}

/** Removes the file if it still names this process (a daemon started since owns it otherwise). */
export function forgetDaemonPid(runDir: string): void {
  if (readPid(runDir) === process.pid) rmSync(join(runDir, FILE), { force: true });
}

/** The recorded daemon's pid if that process runs; null without one (or one left by a killed daemon). */
export function recordedDaemonPid(runDir: string): number | null {
  const pid = readPid(runDir);
  return pid !== null && pidAlive(pid) ? pid : null;
}

function readPid(runDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(runDir, FILE), 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}
