/**
 * One run of the system `git` binary (spawned without a shell), its output collected: what
 * `runGit` and `updateRefs` (src/git/transport.ts) run, in this process or, in a daemon, in its
 * spawn helper (src/git/spawn-helper.ts).
 */
import { childProcess, workerThreads } from '../core/builtins.js';
import { GritError } from '../core/errors.js';

export interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Stopped at its deadline (`GitCall.remote.timeoutMs`): `code` is then whatever the signal left. */
  timedOut?: true;
  /** The signal that ended git (`code` is then -1): someone killed it. */
  signal?: string;
}

export interface GitCall {
  args: string[];
  env: NodeJS.ProcessEnv;
  /** Where git runs (default: this process's working directory). */
  cwd?: string;
  /** Written to git's stdin (else stdin is closed). */
  input?: string;
  /**
   * How git's stdout is decoded (default 'utf8'). 'latin1' keeps each byte as one character, for
   * a caller that must tell a name that is not UTF-8 from one holding U+FFFD (`lsFiles`).
   */
  stdoutEncoding?: 'utf8' | 'latin1';
  /**
   * git talking to a remote, which may accept the connection and never answer: stopped, with the
   * remote helper or ssh it started, after `timeoutMs` (0: no limit) and when this process ends.
   */
  remote?: { timeoutMs: number };
}

/**
 * For grit's own ref updates through git (`update-ref`, a fetch into its tracking refs): no hooks.
 * grit writes most of its refs itself, which no `reference-transaction` hook sees; the ones git
 * writes for it must not be refused by one either (docs/sync.md, "Local hooks").
 */
export const NO_HOOKS = ['-c', 'core.hooksPath=/dev/null'];

/** The error for a git that could not be started (`message` says why). */
export const gitUnavailable = (message: string): GritError => new GritError('git_error', message, { suggestion: 'install git and make sure it is on PATH' });

/**
 * Runs `git …call.args`; resolves with its exit code and output (never rejects on a non-zero exit).
 * `echo` also gets git's stderr as it comes.
 *
 * git talking to a remote runs as the leader of a process group of its own: killed, git leaves
 * its remote helper or ssh running, stuck on the silent connection, and stopping the group stops
 * them too. Out of this process's group, it gets no terminal's Ctrl-C: while it runs, the signals
 * that end this process end it first (`forwardSignals`).
 */
export function spawnGit({ args, env, cwd, input, remote, stdoutEncoding = 'utf8' }: GitCall, echo?: (stderr: string) => void): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = childProcess().spawn('git', args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], env, cwd, detached: remote !== undefined });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const group = remote && child.pid !== undefined ? child.pid : null;
    if (group !== null) track(group);
    const timeoutMs = remote?.timeoutMs ?? 0;
    const timer =
      group !== null && timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            stopGroup(group, 'SIGTERM');
            // git removes its lock files on SIGTERM; whatever ignores it goes a little later.
            setTimeout(() => stopGroup(group, 'SIGKILL'), KILL_AFTER_MS).unref();
          }, timeoutMs)
        : undefined;
    child.stdout!.setEncoding(stdoutEncoding).on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      echo?.(d);
    });
    child.on('error', (e) => reject(gitUnavailable(`cannot run git: ${e.message}`)));
    // 'close': git and everything that shares its pipes (its remote helper) are done.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (group !== null) untrack(group);
      resolve({ code: code ?? -1, stdout, stderr, ...(timedOut ? { timedOut: true as const } : {}), ...(signal ? { signal } : {}) });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

const KILL_AFTER_MS = 2_000;

/** Process groups of the gits talking to a remote from this thread. */
const groups = new Set<number>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function stopGroup(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // ESRCH: the group is gone already
  }
}

/** Stops every git talking to a remote, as this process ends (`exit`) or is ended by a signal. */
function stopAll(): void {
  for (const group of groups) stopGroup(group, 'SIGTERM');
}

function forwardSignal(signal: NodeJS.Signals): void {
  stopAll();
  forwardSignals(false);
  // Listening stopped the signal's default action (ending this process): take it now, unless
  // someone else listens too (they have the signal already, and decide).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/** Only the main thread gets signals and ends the process; a worker thread's gits end with their deadline. */
function forwardSignals(on: boolean): void {
  if (!workerThreads().isMainThread) return;
  const listen = on ? process.on.bind(process) : process.removeListener.bind(process);
  for (const s of SIGNALS) listen(s, forwardSignal);
  listen('exit', stopAll);
}

function track(group: number): void {
  if (groups.size === 0) forwardSignals(true);
  groups.add(group);
}

function untrack(group: number): void {
  groups.delete(group);
  if (groups.size === 0) forwardSignals(false);
}
