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
