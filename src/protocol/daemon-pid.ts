/**
 * `daemon.pid` in the run directory: the pid of the daemon serving it, for when that daemon holds
 * `daemon.sock` but does not answer (stopped with SIGSTOP, or stuck), so that `daemon status` and
 * `daemon stop` can name the process rather than call it absent. Written by the daemon that wins
 * the start lock, once its sockets are bound, and removed when it has let go of them.
 *
 * A daemon killed with `kill -9` leaves it behind, and its pid may since name another process:
 * the file records the daemon's start with its pid (pid-alive.ts `processIdentity`), and names a
 * daemon only while that process still runs. An older grit's file holds the pid alone.
 */
import { rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { replaceFile, tempBeside } from '../core/replace-file.js';
import { replaceIfJudged } from '../core/replace-if-judged.js';
import { readTextOrNull } from '../core/read-text-or-null.js';
import { pidAlive, pidReused, processIdentity, recordsStart, type ProcStart } from '../core/pid-alive.js';

export const DAEMON_PID_FILE = 'daemon.pid';

type DaemonPidRecord = { pid: number } & Partial<ProcStart>;

export function recordDaemonPid(runDir: string): void {
  replaceFile(join(runDir, DAEMON_PID_FILE), `${JSON.stringify(processIdentity(process.pid))}\n`, { mode: 0o600 });
}

/** Removes the file if it still names this process (a daemon started since owns it otherwise). */
export function forgetDaemonPid(runDir: string): void {
  const text = readTextOrNull(join(runDir, DAEMON_PID_FILE));
  if (text !== null && parseRecord(text)?.pid === process.pid) rmSync(join(runDir, DAEMON_PID_FILE), { force: true });
}

/**
 * The recorded daemon's pid if that process is the daemon that wrote it and runs; null without
 * one. A file naming any other process (its daemon killed, the pid gone or reused since) is
 * removed: nothing may take that process for the daemon. `onReused` gets the pid when it names
 * another process that runs.
 */
export function recordedDaemonPid(runDir: string, onReused?: (pid: number) => void): number | null {
  const path = join(runDir, DAEMON_PID_FILE);
  const text = readTextOrNull(path);
  if (text === null) return null;
  const record = parseRecord(text);
  if (record === null) return null;
  const runs = pidAlive(record.pid);
  if (runs && !pidReused(record.pid, record) && (recordsStart(record) || namesGritDaemon(record.pid))) return record.pid;
  removeIfUnchanged(path, text);
  if (runs) onReused?.(record.pid);
  return null;
}

/**
 * A record without the daemon's start (an older grit's, or written where /proc cannot be read)
 * names a daemon only if the process's command line says it is one: `grit-daemon` run as a
 * program or as node's script. Where that cannot be read, it names none.
 */
function namesGritDaemon(pid: number): boolean {
  const args = readTextOrNull(`/proc/${pid}/cmdline`, 'latin1')?.split('\0') ?? [];
  return args.slice(0, 2).some((arg) => /^grit-daemon(\.js)?$/.test(basename(arg)));
}

/**
 * Removes the file at `path` if it still holds `text`. A daemon starting meanwhile may have renamed
 * its own record over it: that record is put back.
 */
function removeIfUnchanged(path: string, text: string): void {
  replaceIfJudged(path, tempBeside(path), (aside) => readTextOrNull(aside) === text, { bestEffort: true });
}

/** The record in daemon.pid: JSON, or an older grit's pid alone. */
function parseRecord(text: string): DaemonPidRecord | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const record = (typeof raw === 'number' ? { pid: raw } : raw) as DaemonPidRecord | null;
  return typeof record?.pid === 'number' && Number.isSafeInteger(record.pid) && record.pid > 0 ? record : null;
}
