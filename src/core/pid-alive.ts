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
 * `pid` names a process that started after `sinceMs` (unix ms), so not the one that wrote a record
 * then: a lock file outlives a killed daemon, and its pid may since name another process (after a
 * reboot, most likely), which holds nothing. False where the start time cannot be read (no /proc).
 */
export function startedAfter(pid: number, sinceMs: number): boolean {
  const started = procStartMs(pid);
  return started !== null && started > sinceMs + START_SLACK_MS;
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
  // The 22nd field of /proc/<pid>/stat: the start, in ticks since boot.
  const ticks = Number(procStatFields(pid)?.[19]);
  let boot: RegExpExecArray | null = null;
  try {
    boot = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'));
  } catch {
    // no /proc
  }
  return boot && Number.isFinite(ticks) ? Number(boot[1]) * 1000 + (ticks * 1000) / PROC_TICKS_PER_S : null;
}

/** The process is stopped (SIGSTOP, Ctrl-Z, a debugger): it runs, and answers nothing until continued. */
export function pidStopped(pid: number): boolean {
  const state = procState(pid);
  return state === 'T' || state === 't';
}

/** Linux's /proc/<pid>/stat state letter (elsewhere there is no such file: null, not known). */
function procState(pid: number): string | null {
  return procStatFields(pid)?.[0] ?? null;
}

/**
 * The fields of Linux's /proc/<pid>/stat from the third on (the state letter first): those after
 * the command's name, which may hold spaces and parentheses. Null where there is no such file.
 */
function procStatFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}
