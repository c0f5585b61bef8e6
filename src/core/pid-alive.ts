/**
 * Whether a process runs (or is stopped), on its own: `daemon stop` waits on it from the CLI's start-up bundle,
 * which should not load the lock-file judging (and the git modules) beside it in lockfile.ts.
 */
import { readTextOrNull } from './read-text-or-null.js';

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
 * A process's start as the kernel counts it: the boot it runs in (`boot_id`) and its start in clock
 * ticks since that boot. Unlike a wall-clock time, no step of the clock (NTP) moves it, and no
 * other process of that boot has the same pid and start: compared exactly, it tells whether a pid
 * names the process that wrote a record.
 */
export interface ProcStart {
  boot_id: string;
  proc_start_ticks: number;
}

/** `pid`'s start from /proc (null where that cannot be read: not Linux). */
export function procStart(pid: number): ProcStart | null {
  const ticks = procStartTicks(pid);
  const bootId = readTextOrNull('/proc/sys/kernel/random/boot_id', 'latin1')?.trim();
  return bootId && ticks !== null ? { boot_id: bootId, proc_start_ticks: ticks } : null;
}

/** `pid` and, where /proc gives it, its start: a record naming a process that its pid, once reused, cannot pass for. */
export function processIdentity(pid: number): { pid: number } & Partial<ProcStart> {
  return { pid, ...procStart(pid) };
}

/** The process a record names (`pid`, and its start where recorded) still runs: its pid names no other process since. */
export function stillRuns(record: { pid: number } & WriterRecord): boolean {
  return pidAlive(record.pid) && !pidReused(record.pid, record);
}

/** What a lock file read as JSON may say of the process that wrote it (unchecked). */
export interface WriterRecord {
  started_ts?: unknown;
  boot_id?: unknown;
  proc_start_ticks?: unknown;
}

/** The record has its writer's ProcStart (a lock file of an older grit, or one written where /proc cannot be read, has not). */
export function recordsStart(record: WriterRecord): record is WriterRecord & ProcStart {
  return typeof record.boot_id === 'string' && typeof record.proc_start_ticks === 'number';
}

/**
 * `pid` now names another process than the one that wrote `record` (a lock file naming its
 * writer): a lock file outlives a killed daemon, and its pid may since name another process
 * (after a reboot, most likely), which holds nothing. Told by the writer's ProcStart where the
 * record has it; a record of an older grit has only its wall-clock `started_ts`, and a process
 * started after it is another. False where /proc cannot be read.
 */
export function pidReused(pid: number, record: WriterRecord): boolean {
  if (recordsStart(record)) {
    const now = procStart(pid);
    return now !== null && (now.boot_id !== record.boot_id || now.proc_start_ticks !== record.proc_start_ticks);
  }
  return typeof record.started_ts === 'number' && startedAfter(pid, record.started_ts);
}

/** `pid` names a process that started after `sinceMs` (unix ms). False where the start time cannot be read. */
function startedAfter(pid: number, sinceMs: number): boolean {
  const started = procStartMs(pid);
  return started !== null && started > sinceMs + START_SLACK_MS;
}

/**
 * How far a process's start may seem to follow a record it wrote: /proc/stat's boot time is in
 * whole seconds, and the wall clock may have been stepped since boot (which only ProcStart is
 * immune to).
 */
const START_SLACK_MS = 2_000;
/** The kernel's USER_HZ, in which /proc/<pid>/stat counts (100 on every architecture node runs on). */
const PROC_TICKS_PER_S = 100;

/** When `pid` started, in unix ms, from /proc (null where that cannot be read). */
function procStartMs(pid: number): number | null {
  const ticks = procStartTicks(pid);
  const stat = readTextOrNull('/proc/stat', 'latin1');
  const boot = stat === null ? null : /^btime (\d+)$/m.exec(stat);
  return boot && ticks !== null ? Number(boot[1]) * 1000 + (ticks * 1000) / PROC_TICKS_PER_S : null;
}

/** The 22nd field of /proc/<pid>/stat: the start, in clock ticks since boot (null where it cannot be read). */
function procStartTicks(pid: number): number | null {
  const ticks = Number(procStatFields(pid)?.[19]);
  return Number.isInteger(ticks) ? ticks : null;
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
  const stat = readTextOrNull(`/proc/${pid}/stat`, 'latin1');
  return stat === null ? null : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
