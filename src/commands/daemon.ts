/**
 * `daemon start|status|stop`: run in the CLI's own process and talk to the per-user daemon
 * (SPEC §7). The supervisor answers DaemonStatus and DaemonStop itself.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_DRAIN_S, drainTimeoutS } from '../core/env-seconds.js';
import { buildInfo } from '../core/build-info.js';
import { GritError } from '../core/errors.js';
import { warnings } from '../core/warnings.js';
import type { GritClient } from '../protocol/client.js';
import { connectOrSpawn, spawnWaitMs, type NotAnswering } from '../protocol/daemon-launch.js';
import { REP_DEFAULTS } from '../protocol/transport/rep.js';
import { daemonDisabled, daemonEndpoint, daemonLogPath, ensureRunDir, refuseRelativeRunDir, refusedWithoutDaemon, runDir } from '../protocol/daemon-paths.js';
import { bool, optInt, optSeconds, type Args } from './args.js';
import { IDLE_TIMEOUT_S, MAX_WORKERS, WORKER_IDLE_TIMEOUT_S } from './ranges.js';
import type { CommandEnv } from './context.js';
import { pidAlive, pidStopped } from '../core/pid-alive.js';
import { recordedDaemonPid } from '../protocol/daemon-pid.js';
import { plural } from '../core/plural.js';

export interface DaemonStatusData {
  running: boolean;
  pid: number | null;
  endpoint: string;
  workers: Array<{ repo_root: string; actor_id: string; data_dir: string }>;
  [more: string]: unknown;
}

/** The DaemonStop reply: the daemon's own drain deadline says how long it may take. */
interface Stopping {
  pid: number;
  drain_timeout_s?: number;
  in_flight?: number;
}

/**
 * What stopping takes beyond the drain deadline: closing each worker (its store flushed and
 * closed, its lease released) and the sockets, which linger a second for their clients.
 */
const STOP_MARGIN_MS = 15_000;
/** A daemon too old to say its deadline drained twice in turn, for up to 60 s each. */
const OLD_DRAIN_MS = 120_000;
/** A stop that takes longer than this says on stderr what it waits for. */
const QUIET_WAIT_MS = 2_000;

async function statusOf(client: GritClient): Promise<DaemonStatusData> {
  return client.status() as Promise<DaemonStatusData>;
}

function notRunning(): DaemonStatusData {
  return { running: false, pid: null, endpoint: daemonEndpoint(), workers: [] };
}

/**
 * `fn` with the daemon, or null when none runs; a daemon that holds the socket and does not
 * answer is an error naming it, never "none runs" (a script would go on as if it had stopped).
 */
async function withDaemon<T>(
  spawn: boolean,
  daemonArgs: string[],
  fn: (c: GritClient) => Promise<T>,
  on?: { spawn?: (pid: number | undefined) => void; startFailure?: (reason: string) => void; replaceWithin?: number; outdated?: (pid: number) => void },
): Promise<T | null> {
  // start, status and stop alike: "no daemon running" would hide why none can.
  refuseRelativeRunDir(runDir());
  let unserved: NotAnswering | null = null;
  const client = await connectOrSpawn({
    spawn,
    daemonArgs,
    format: 'json',
    // So that a daemon of another IPC schema, which can answer nothing, steps aside (outdatedGone).
    clientBuild: buildInfo()?.build,
    onSpawn: on?.spawn,
    onStartFailure: on?.startFailure,
    onNotAnswering: (how) => (unserved = how),
    replaceWithin: on?.replaceWithin,
  });
  if (!client) {
    // Judged whether or not a process held the socket: a daemon.pid that a killed daemon left is
    // removed now, before its pid names another process to anyone.
    const pid = recordedDaemonPid(runDir(), warnReusedPid);
    const err = unserved && notAnswering(unserved, pid);
    if (err) throw err;
    return null;
  }
  try {
    return await fn(client);
  } catch (err) {
    const pid = await outdatedGone(err);
    if (pid === null) throw err;
    on?.outdated?.(pid);
    return null;
  } finally {
    client.close();
  }
}

/**
 * A daemon of another build declines every request and stops (a daemon of another IPC schema
 * cannot answer even `status`): its pid, once its process is gone, said on stderr; null for any
 * other error.
 */
async function outdatedGone(err: unknown): Promise<number | null> {
  if (!(err instanceof GritError) || err.details.daemon_outdated !== true || typeof err.details.daemon_pid !== 'number') return null;
  const pid = err.details.daemon_pid;
  await untilGone({ pid }, OLD_DRAIN_MS);
  warnings.send(`stopped the running daemon (pid ${pid}): it was build ${String(err.details.daemon_build)}, not this grit's build`);
  return pid;
}

/** A setting `daemon start` asked for that the daemon answering runs with another value of. */
export interface UnappliedSetting {
  /** As the user gave it: `--worker-idle-timeout`, `GRIT_DRAIN_TIMEOUT`. */
  setting: string;
  asked: number;
  running: number;
}

export type DaemonStartData = DaemonStatusData & { started: boolean; settings_not_applied: UnappliedSetting[] };

/**
 * Under GRIT_NO_DAEMON, `daemon start` is refused, as `watch` is; `status` and `stop` are not: they
 * start nothing, and stopping one brings about what the variable asks for (docs/daemon.md).
 */
export async function daemonStart(_env: CommandEnv, args: Args): Promise<DaemonStartData> {
  if (daemonDisabled()) throw refusedWithoutDaemon('daemon start starts the daemon', 'grit daemon start');
  const daemonArgs = (Object.keys(SETTINGS) as (keyof typeof SETTINGS)[]).flatMap((key) => settingFlag(args, key));
  // The daemon it starts reads GRIT_DRAIN_TIMEOUT from the environment it inherits: a bad value is
  // refused here, as the daemon would refuse it, before a running daemon is asked anything.
  const drain = process.env.GRIT_DRAIN_TIMEOUT ? drainTimeoutS() : undefined;
  const replace = bool(args, 'replace');
  const already = await withDaemon(false, [], statusOf);
  if (replace) {
    // The daemon it spawns stops this one itself, holding the start lock (start-up.ts): stopped
    // from here, a CLI's auto-spawned daemon could take the run directory before ours.
  } else if (already?.state === 'stopping' && already.pid !== null) {
    // One being stopped (by a `grit daemon stop` running beside this one, or its idle timeout) is
    // no daemon to report as running: it declines requests already and is gone in a moment. The
    // start waits for it to exit, as the stop does, and starts a new one.
    const leftMs = typeof already.drain_left_s === 'number' ? already.drain_left_s * 1000 : OLD_DRAIN_MS;
    await untilGone({ pid: already.pid }, leftMs);
  } else if (already && !otherBuild(already)) {
    return reportStart(already, false, args, drain);
  } else if (already) {
    await daemonStop();
    warnings.send(`stopped the running daemon (pid ${already.pid}): it was ${buildName(already)}, not this grit's build`);
  }
  // A run directory the daemon cannot use: say why now, not after the spawn wait.
  ensureRunDir(runDir());
  let spawned: number | undefined;
  const t0 = Date.now();
  let failure: string | undefined;
  // Replacing waits for the old daemon's drain too (start-up.ts): its deadline, the margin to close, the start.
  const drainMs = (typeof already?.drain_timeout_s === 'number' ? already.drain_timeout_s : DEFAULT_DRAIN_S) * 1000;
  const waitMs = replace ? drainMs + STOP_MARGIN_MS + spawnWaitMs() : spawnWaitMs();
  const status = await withDaemon(true, replace ? ['--replace', ...daemonArgs] : daemonArgs, statusOf, {
    spawn: (pid) => (spawned = pid),
    startFailure: (reason) => (failure = reason),
    replaceWithin: replace ? waitMs : undefined,
  });
  if (!status && failure !== undefined) {
    throw new GritError('ipc_error', `the daemon could not start: ${failure}`, {
      details: { endpoint: daemonEndpoint(), reason: failure, log: daemonLogPath() },
      suggestion: 'fix what it names (or set GRIT_RUN_DIR to another directory), then `grit daemon start` again',
      environment: true,
    });
  }
  if (!status) {
    // Said as it happened: the wait may have ended early (the daemon's socket refused us), and a
    // daemon that failed before opening its log has none to point at.
    const waited = ((Date.now() - t0) / 1000).toFixed(1);
    const log = existsSync(daemonLogPath()) ? daemonLogPath() : null;
    throw new GritError('ipc_error', `the daemon did not answer (waited ${waited} s of at most ${waitMs / 1000} s)`, {
      details: { endpoint: daemonEndpoint(), log },
      suggestion: `${log ? `look at ${log}, or ` : ''}run \`grit-daemon\` in a terminal to see why`,
    });
  }
  // Started by this call only if the daemon answering is the one it spawned: of several starts at
  // once (a CLI's auto-spawn among them), one daemon wins the socket and the others' exit. Whichever
  // won, the settings asked for are compared with the ones it runs with.
  return reportStart(status, status.pid === spawned, args, drain);
}

/** The reply of `daemon start`: what runs, and the settings asked for that it does not run with (also said on stderr). */
function reportStart(status: DaemonStatusData, started: boolean, args: Args, drainS: number | undefined): DaemonStartData {
  const settings_not_applied = unappliedSettings(status, args, drainS);
  warnUnapplied(status.pid, settings_not_applied);
  return { ...status, started, settings_not_applied };
}

/** Says on stderr (through the reply's warnings, in the daemon) which settings asked for the daemon `pid` does not run with. */
export function warnUnapplied(pid: number | null, unapplied: UnappliedSetting[]): void {
  for (const { setting, asked, running } of unapplied) {
    warnings.send(`the daemon running (pid ${pid}) has ${setting} ${running}, not ${asked}: \`grit daemon start --replace\` replaces it with one that has`);
  }
}

/** A daemon.pid naming a process that is not the daemon (its pid reused since the daemon was killed): said, since it was removed. */
function warnReusedPid(pid: number): void {
  warnings.send(`removed ${join(runDir(), 'daemon.pid')}: it named pid ${pid}, which is not a grit daemon (the daemon that wrote it was killed, and its pid reused since)`);
}

/**
 * A daemon that holds daemon.sock and does not answer: by its pid (daemon-pid.ts) when it is
 * known, and what to do about it. Null for connections closed at once with no daemon recorded
 * as running: one gone since, or stopping (it closes what comes as it lets go), is no daemon.
 */
function notAnswering(how: NotAnswering, pid: number | null): GritError | null {
  const log = daemonLogPath();
  if (how === 'refusing') return pid === null ? null : refusingConnections(pid, log);
  const stopped = pid !== null && pidStopped(pid);
  const who = pid === null ? 'a process' : `daemon pid ${pid}`;
  return new GritError('ipc_error', `${who} holds ${daemonEndpoint()} but does not answer${stopped ? ': it is stopped (SIGSTOP or Ctrl-Z)' : ''}`, {
    details: { pid, endpoint: daemonEndpoint(), answering: false, stopped, log },
    suggestion:
      pid === null
        ? `retry in a moment; if it still does not answer, see ${log}`
        : stopped
          ? `\`kill -CONT ${pid}\` lets it go on (then \`grit daemon stop\` stops it); \`kill -9 ${pid}\` ends it at once`
          : `retry in a moment (it may be busy); see ${log} for what it is doing; \`kill ${pid}\` stops it, \`kill -9 ${pid}\` at once`,
    environment: true,
  });
}

/** A daemon that closes every new connection as it accepts it (docs/daemon.md, Limits). */
function refusingConnections(pid: number, log: string): GritError {
  return new GritError('ipc_error', `daemon pid ${pid} runs but closes every new connection to ${daemonEndpoint()}: it has as many open as it takes (${REP_DEFAULTS.maxConnections}), or no file descriptor left`, {
    details: { pid, endpoint: daemonEndpoint(), answering: false, refusing: true, log },
    suggestion: `end what holds connections to it open (a script that does not close its GritClients?); \`kill ${pid}\` stops it (it drains first); ${log} says more`,
    environment: true,
  });
}

/**
 * The settings asked for (the flags of `daemon start`, and `drainS`, the GRIT_DRAIN_TIMEOUT of the
 * CLI's environment) that `running` has other values of: a running daemon keeps its own.
 */
export function unappliedSettings(
  running: { pid: number | null; idle_timeout_s?: unknown; worker_idle_timeout_s?: unknown; max_workers?: unknown; drain_timeout_s?: unknown },
  args: Args,
  drainS?: number,
): UnappliedSetting[] {
  const has: Record<keyof typeof SETTINGS, unknown> = {
    idle_timeout: running.idle_timeout_s,
    worker_idle_timeout: running.worker_idle_timeout_s,
    max_workers: running.max_workers,
  };
  const asked: Array<[setting: string, asked: number | undefined, has: unknown]> = [
    ...(Object.keys(SETTINGS) as (keyof typeof SETTINGS)[]).map((key): [string, number | undefined, unknown] => [cliFlag(key), SETTINGS[key](args), has[key]]),
    ['GRIT_DRAIN_TIMEOUT', drainS, running.drain_timeout_s],
  ];
  return asked.flatMap(([setting, want, now]) => (want !== undefined && typeof now === 'number' && want !== now ? [{ setting, asked: want, running: now }] : []));
}

/** The daemon's settings that `daemon start` takes as flags, each read by its parser: the timeouts are durations. */
const SETTINGS = {
  idle_timeout: (args: Args) => optSeconds(args, 'idle_timeout', IDLE_TIMEOUT_S),
  worker_idle_timeout: (args: Args) => optSeconds(args, 'worker_idle_timeout', WORKER_IDLE_TIMEOUT_S),
  max_workers: (args: Args) => optInt(args, 'max_workers', MAX_WORKERS),
};

const cliFlag = (key: string): string => `--${key.replaceAll('_', '-')}`;

/** `grit-daemon`'s flag for the setting `args[key]`, if given. */
function settingFlag(args: Args, key: keyof typeof SETTINGS): string[] {
  const n = SETTINGS[key](args);
  return n === undefined ? [] : [cliFlag(key), String(n)];
}

export async function daemonStatus(): Promise<DaemonStatusData> {
  const status = await withDaemon(false, [], statusOf);
  if (status && otherBuild(status)) {
    warnings.send(`the running daemon is ${buildName(status)}, not this grit's build: it stops at this grit's next command (or \`grit daemon stop\` now)`);
  }
  return status ?? notRunning();
}

/** A daemon of another build of grit than this one (src/core/build-info.ts); one too old to say is taken as the same. */
function otherBuild(status: DaemonStatusData): boolean {
  const own = buildInfo()?.build;
  return typeof status.build === 'string' && own !== undefined && status.build !== own;
}

function buildName(status: DaemonStatusData): string {
  return `grit ${String(status.version)} (build ${String(status.build)})`;
}

/**
 * Asks the daemon to stop and waits until its process is gone: for up to its drain deadline (the
 * requests it runs may take that long) and a margin, saying on stderr what it waits for once that
 * is more than a moment.
 */
export function daemonStop(): Promise<{ stopped: boolean; pid: number | null }> {
  return stopRunningDaemon();
}

/** `daemon stop`'s work; `onWait` is called as it waits (a replacing daemon keeps its start lock fresh). */
export async function stopRunningDaemon(onWait?: () => void): Promise<{ stopped: boolean; pid: number | null }> {
  let outdated: number | null = null;
  const stopping = await withDaemon(false, [], (client) => client.request<Stopping>('DaemonStop', {}, { repoRoot: '/' }), { outdated: (pid) => (outdated = pid) });
  if (stopping === null) return { stopped: outdated !== null, pid: outdated };
  await untilGone(stopping, typeof stopping.drain_timeout_s === 'number' ? stopping.drain_timeout_s * 1000 : OLD_DRAIN_MS, onWait);
  return { stopped: true, pid: stopping.pid };
}

/**
 * Waits until a stopping daemon's process is gone: for up to what is left of its drain deadline
 * and a margin, saying on stderr what it waits for once that is more than a moment.
 */
async function untilGone(stopping: Stopping, drainMs: number, onWait?: () => void): Promise<void> {
  const { pid } = stopping;
  const t0 = Date.now();
  const waitMs = drainMs + STOP_MARGIN_MS;
  let said = false;
  while (pidAlive(pid) && Date.now() - t0 < waitMs) {
    if (!said && Date.now() - t0 >= QUIET_WAIT_MS) {
      said = true;
      process.stderr.write(`grit: ${waitingFor(stopping, Math.max(0, drainMs - (Date.now() - t0)))}\n`);
    }
    onWait?.();
    await new Promise((r) => setTimeout(r, 25));
  }
  if (pidAlive(pid)) {
    throw new GritError('ipc_error', `daemon pid ${pid} is still running: waited ${Math.round(waitMs / 1000)} s for it to stop (its drain deadline, ${drainMs / 1000} s, and ${STOP_MARGIN_MS / 1000} s to close)`, {
      details: { pid, waited_s: Math.round(waitMs / 1000), log: daemonLogPath() },
      suggestion: `see ${daemonLogPath()} for what it is doing; \`kill -9 ${pid}\` ends it at once`,
    });
  }
}

function waitingFor(stopping: Stopping, leftMs: number): string {
  const head = `waiting for the daemon (pid ${stopping.pid}) to stop`;
  if (stopping.in_flight === 0) return `${head}: it is closing its workers`;
  const requests = typeof stopping.in_flight === 'number' ? plural(stopping.in_flight, 'request') : 'the requests';
  return `${head}: it lets ${requests} in flight finish, for at most ${Math.ceil(leftMs / 1000)} s more (its drain deadline, GRIT_DRAIN_TIMEOUT)`;
}
