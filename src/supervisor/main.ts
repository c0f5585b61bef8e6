/**
 * `grit-daemon`: parses its command line, sets up the run directory and log, starts the
 * supervisor and shuts it down cleanly on SIGTERM/SIGINT/SIGHUP, idle timeout or DaemonStop.
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { buildInfo } from '../core/build-info.js';
import { ENV_EXIT, GritError, toGritError } from '../core/errors.js';
import { daemonEndpoint, daemonLogPath, ensureRunDir, gitSpawnerPath, logUnopenable, notificationsEndpoint, runDir } from '../protocol/daemon-paths.js';
import { drainTimeoutS } from '../core/env-seconds.js';
import { optSeconds } from '../commands/args.js';
import { IDLE_TIMEOUT_S, MAX_WORKERS, WORKER_IDLE_TIMEOUT_S } from '../commands/ranges.js';
import { DEFAULT_DRAIN_MS, type Supervisor } from './supervisor.js';
import { startOwning } from './start-up.js';
import { LOG_CHECK_MS, rotateIfLarge } from './log-file.js';
import { guardStandardStreams, writeOut } from '../core/std-streams.js';
import { prepareNativeAddons } from '../core/native-addons-env.js';
import { parseEndpoint } from '../protocol/transport/index.js';

/** pino's levels: GRIT_LOG_LEVEL names one. */
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

const USAGE = `usage: grit-daemon [--idle-timeout <seconds>] [--worker-idle-timeout <seconds>] [--max-workers <n>] [--replace] [--tcp <host:port>] [--version]

Serves grit commands for this user's repositories over ${daemonEndpoint()}.
  --idle-timeout <s>  exit after this many seconds (or a duration: 10m, 2h) without requests
                      (default ${IDLE_TIMEOUT_S.default}, 0 = never)
  --worker-idle-timeout <s>
                      stop an actor's worker thread (closing its store, releasing its lease) after
                      this many seconds (or a duration) without requests for it (default ${WORKER_IDLE_TIMEOUT_S.default}, 0 = never)
  --max-workers <n>   keep at most n worker threads, retiring the least recently used idle one
                      (default ${MAX_WORKERS.default}, 0 = no cap)
  --replace           stop the daemon serving this run directory, if one does, and serve in its place
  --tcp <host:port>   also listen on tcp://host:port (off by default; anyone who can reach it can act as you)
Logs go to ${daemonLogPath()} (level from GRIT_LOG_LEVEL, default info).
Stopping, it lets the requests in flight run for up to GRIT_DRAIN_TIMEOUT seconds (default ${DEFAULT_DRAIN_MS / 1000}).`;

interface DaemonArgs {
  idleTimeoutMs: number;
  workerIdleTimeoutMs: number;
  maxWorkers: number;
  replace: boolean;
  /** The endpoint URL --tcp names (tcp://host:port). */
  tcp: string | null;
}

function parse(argv: string[]): DaemonArgs | 'version' | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      'idle-timeout': { type: 'string' },
      'worker-idle-timeout': { type: 'string' },
      'max-workers': { type: 'string' },
      replace: { type: 'boolean' },
      tcp: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
    strict: true,
  });
  if (values.help) return null;
  if (values.version) return 'version';
  const whole = (flag: 'max-workers', fallback: number, example: string): number => {
    const v = values[flag] ?? String(fallback);
    if (!/^\d{1,9}$/.test(v)) throw new GritError('invalid_args', `--${flag} must be a whole number, got ${v}`, { suggestion: `for example --${flag} ${example}` });
    return Number(v);
  };
  // The CLI's parser, so that the daemon's timeouts take the durations `daemon start` takes.
  const ms = (flag: 'idle-timeout' | 'worker-idle-timeout', range: typeof IDLE_TIMEOUT_S | typeof WORKER_IDLE_TIMEOUT_S): number =>
    (optSeconds({ [flag]: values[flag] }, flag, range) ?? range.default) * 1000;
  const tcp = values.tcp === undefined ? null : tcpEndpoint(values.tcp);
  return {
    idleTimeoutMs: ms('idle-timeout', IDLE_TIMEOUT_S),
    workerIdleTimeoutMs: ms('worker-idle-timeout', WORKER_IDLE_TIMEOUT_S),
    maxWorkers: whole('max-workers', MAX_WORKERS.default, `${MAX_WORKERS.default} (0 = no cap)`),
    replace: values.replace ?? false,
    tcp,
  };
}

/** `--tcp host:port` as the transport reads it (an IPv6 host bracketed: `[::1]:7878`), as its URL. */
function tcpEndpoint(hostPort: string): string {
  const url = `tcp://${hostPort}`;
  try {
    parseEndpoint(url);
  } catch {
    throw new GritError('invalid_args', `--tcp must be host:port (a port up to 65535, an IPv6 host in brackets), got ${hostPort}`, { suggestion: 'for example --tcp 127.0.0.1:7878, or --tcp [::1]:7878' });
  }
  return url;
}

export async function main(argv: string[]): Promise<number> {
  guardStandardStreams('grit-daemon');
  // Before the worker threads load lmdb (a daemon started by the CLI has them from it already).
  prepareNativeAddons();
  let args: DaemonArgs | 'version' | null;
  try {
    args = parse(argv);
  } catch (err) {
    const e = err instanceof GritError ? err : new GritError('invalid_args', (err as Error).message, { suggestion: 'grit-daemon --help lists its flags' });
    process.stderr.write(`grit-daemon: ${e.message}\n${USAGE}\n`);
    return e.exitCode;
  }
  if (!args) {
    await writeOut(USAGE + '\n');
    return 0;
  }
  if (args === 'version') {
    const info = buildInfo();
    await writeOut(`grit-daemon ${info ? `${info.version} (build ${info.build})` : '(unknown build)'} node-${process.version}\n`);
    return 0;
  }
  // The daemon serves many users' shells of one user: actor selection comes from each request.
  delete process.env.GRIT_HOME;
  // Nor may the GIT_DIR of the shell that started it (a git hook's) speak for other requests' repositories.
  delete process.env.GIT_DIR;
  delete process.env.GIT_WORK_TREE;
  delete process.env.GIT_COMMON_DIR;
  // It outlives the shell that started it, whose directory may go (a temporary checkout): a
  // worker thread started after that would fail on process.cwd(). Nothing here depends on it:
  // each request's paths are absolute or taken relative to the request's own cwd.
  process.chdir('/');
  try {
    ensureRunDir(runDir());
  } catch (err) {
    process.stderr.write(`grit-daemon: ${toGritError(err).message}\n`);
    return ENV_EXIT;
  }
  const level = process.env.GRIT_LOG_LEVEL || 'info';
  const knownLevel = LOG_LEVELS.includes(level);
  const destination = pino.destination({ dest: daemonLogPath(), sync: false, mkdir: true, mode: 0o600 });
  // The log file opens asynchronously. ensureRunDir opened it just now, but it may have gone
  // since: logging on through a destination that failed to open would throw in the first request.
  try {
    await once(destination, 'ready');
  } catch (err) {
    process.stderr.write(`grit-daemon: ${logUnopenable(daemonLogPath(), err).message}\n`);
    return ENV_EXIT;
  }
  const logger = pino({ level: knownLevel ? level : 'info' }, destination);
  if (!knownLevel) logger.warn({ GRIT_LOG_LEVEL: level, levels: LOG_LEVELS }, 'unknown log level; logging at info');
  const endpoints = [daemonEndpoint(), ...(args.tcp ? [args.tcp] : [])];
  let supervisor: Supervisor | null;
  try {
    // Read here, so that a bad value fails the start with a reason the spawning CLI shows.
    const drainMs = drainTimeoutS() * 1000;
    supervisor = await startOwning(runDir(), {
      endpoints,
      notifications: notificationsEndpoint(),
      idleTimeoutMs: args.idleTimeoutMs,
      workerIdleTimeoutMs: args.workerIdleTimeoutMs,
      maxWorkers: args.maxWorkers,
      logger,
      gitSpawner: gitSpawnerPath(),
      build: buildInfo(),
      drainMs,
    }, args.replace, () => rotateIfLarge(daemonLogPath(), destination));
  } catch (err) {
    // `reason` is what a CLI waiting on this start shows (src/protocol/daemon-launch.ts).
    const reason = toGritError(err).message;
    logger.warn({ err, reason }, 'daemon did not start');
    process.stderr.write(`grit-daemon: ${reason}\n`);
    await flush(logger);
    return ENV_EXIT;
  }
  if (!supervisor) {
    // Status 0: the CLI that spawned this one connects to that daemon at once (src/protocol/daemon-launch.ts).
    logger.info('another daemon serves this run directory');
    process.stderr.write(`grit-daemon: a daemon is already listening on ${endpoints[0]}\n`);
    await flush(logger);
    return 0;
  }
  // SIGHUP too: the terminal it was run in closed (the hints say to run it in one to see why it
  // fails), or its ssh session was lost. Its default would end it as kill -9 does, with no drain.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => void supervisor.stop(signal));
  const logCheck = setInterval(() => rotateIfLarge(daemonLogPath(), destination), LOG_CHECK_MS).unref();
  await supervisor.stopped;
  clearInterval(logCheck);
  await flush(logger);
  return 0;
}

async function flush(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
