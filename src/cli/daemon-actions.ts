/** CLI actions of `daemon start|status|stop`. */
import { dim, green, singleLine } from './format.js';
import type { CliAction } from './output.js';
import type { GlobalFlag } from './base.js';
import { plural } from '../core/plural.js';

interface StatusData {
  running: boolean;
  pid: number | null;
  endpoint: string;
  uptime_ms?: number;
  requests?: number;
  started?: boolean;
  version?: string | null;
  idle_timeout_s?: number;
  worker_idle_timeout_s?: number;
  /** Absent from a daemon of an older grit. */
  max_workers?: number;
  state?: 'running' | 'stopping';
  drain_left_s?: number | null;
  workers: Array<{ repo_root: string; actor_id: string; in_flight?: number }>;
  /** Absent from a daemon of an older grit. */
  declined?: Array<{ repo_root: string; actor_id: string; owner_pid: number }>;
}

function uptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/**
 * The settings the daemon runs with, named and counted as its flags are (in seconds, 0 = never);
 * a daemon too old to say them gets no line.
 */
function settings(d: StatusData): string[] {
  const { idle_timeout_s: daemon, worker_idle_timeout_s: worker, max_workers: cap } = d;
  if (typeof daemon !== 'number' || typeof worker !== 'number') return [];
  const span = (s: number) => (s === 0 ? 'never' : `${s}s`);
  const workers = typeof cap !== 'number' ? '' : cap === 0 ? ', no worker cap' : `, at most ${plural(cap, 'worker')}`;
  return [`idle timeout ${span(daemon)}, worker idle timeout ${span(worker)}${workers}`];
}

function renderStatus(d: StatusData): string {
  if (!d.running) return `no daemon running ${dim(`(${d.endpoint})`)}`;
  const version = d.version ? ` (grit ${d.version})` : '';
  const head = `${d.started === true ? 'started' : (d.state ?? 'running')}${version}: pid ${d.pid}, ${d.endpoint}`;
  const up = d.uptime_ms === undefined ? '' : `, up ${uptime(d.uptime_ms)}, ${d.requests ?? 0} requests`;
  // A repository's path may hold a newline: each worker stays one line, as doctor shows the path.
  const workers = d.workers.map((w) => `  ${green(w.actor_id.slice(0, 8))}  ${singleLine(w.repo_root)}`);
  return [head + up, ...draining(d), ...settings(d), plural(d.workers.length, 'worker'), ...workers, ...declined(d)].join('\n');
}

/** The actors another daemon serves: their commands run in the CLI (docs/daemon.md, "Lease"). */
function declined(d: StatusData): string[] {
  const list = d.declined ?? [];
  if (!list.length) return [];
  const lines = list.map((a) => `  ${a.actor_id.slice(0, 8)}  ${singleLine(a.repo_root)}  ${dim(`(daemon pid ${a.owner_pid} holds its lease)`)}`);
  return [`not serving ${plural(list.length, 'actor')}: another daemon does; their commands run in the CLI`, ...lines];
}

/** What a stopping daemon still does: it declines new requests (they run in the CLI) and exits soon. */
function draining(d: StatusData): string[] {
  if (d.state !== 'stopping' || typeof d.drain_left_s !== 'number') return [];
  const what = d.drain_left_s > 0 ? `its requests in flight may run ${d.drain_left_s} s more (drain deadline, GRIT_DRAIN_TIMEOUT)` : 'closing its workers';
  return [`stopping: new requests run in the CLI; ${what}`];
}

/**
 * The global flags of `daemon start|status|stop`: they talk to the per-user daemon and open no
 * repository, so --actor, --data-dir and --no-daemon would be ignored there (GRIT_NO_DAEMON is
 * the environment's, and is read: docs/daemon.md).
 */
export const DAEMON_GLOBALS: { take: GlobalFlag[]; why: string } = {
  take: ['json', 'quiet', 'no-pager'],
  why: 'it talks to the per-user daemon, which serves every repository and actor, and opens none itself',
};

export const DAEMON_ACTIONS: Record<string, CliAction> = {
  'daemon:start': {
    ipc: 'DaemonStart',
    toArgs: ({ flags }) => ({
      idle_timeout: flags['idle-timeout'],
      worker_idle_timeout: flags['worker-idle-timeout'],
      max_workers: flags['max-workers'],
      replace: flags.replace,
    }),
    render: renderStatus,
  },
  'daemon:status': { ipc: 'DaemonStatus', toArgs: () => ({}), render: renderStatus },
  'daemon:stop': {
    ipc: 'DaemonStop',
    toArgs: () => ({}),
    render: (d: { stopped: boolean; pid: number | null }) => (d.stopped ? `stopped daemon pid ${d.pid}` : 'no daemon running'),
  },
};
