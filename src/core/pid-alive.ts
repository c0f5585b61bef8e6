/**
 * Whether a process runs (or is stopped), on its own: `daemon stop` waits on it from the CLI's start-up bundle,
 * which should not load the lock-file judging (and the git modules) beside it in lockfile.ts.
 */
import { readFileSync } from 'node:fs';

/**
 * The process runs. A zombie does not: a daemon that died (killed, or SIGBUS on a truncated store)
 * stays one until its parent reaps it, and a detached daemon's parent is init, which in a
 * container is often a process that never reaps.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: exists, owned by someone else
  }
  return procState(pid) !== 'Z';
}

/**
 * The process that wrote a record at `sinceMs` (unix ms) may still run: `pid` runs and did not
 * start after then. A lock file outlives a killed daemon, and its pid may since name another
 * process (after a reboot, most likely), which holds nothing. Where the start time cannot be read
 * (no /proc), a running `pid` is taken to be that process.
 */
export function pidAliveSince(pid: number, sinceMs: number): boolean {
  if (!pidAlive(pid)) return false;
  const started = Number.isFinite(sinceMs) ? procStartMs(pid) : null; // a record without its time: any
  return started === null || started <= sinceMs + START_SLACK_MS;
}

/**
 * How far a process's start may seem to follow a record it wrote: /proc/stat's boot time is in
 * whole seconds, and the wall clock may have been stepped since boot.
 */
const START_SLACK_MS = 2_000;
/** The kernel's USER_HZ, in which /proc/<pid>/stat counts (100 on every architecture node runs on). */
const PROC_TICKS_PER_S = 100;

/** When `pid` started, in unix ms, from /proc (null where that cannot be read). */
function procStartMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command's closing parenthesis start at the third (state); the 22nd is the start, in ticks since boot.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'));
    return boot && Number.isFinite(ticks) ? Number(boot[1]) * 1000 + (ticks * 1000) / PROC_TICKS_PER_S : null;
  } catch {
    return null;
  }
}

/** The process is stopped (SIGSTOP, Ctrl-Z, a debugger): it runs, and answers nothing until continued. */
export function pidStopped(pid: number): boolean {
  const state = procState(pid);
  return state === 'T' || state === 't';
}

/** Linux's /proc/<pid>/stat state letter (elsewhere there is no such file: null, not known). */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}
