/**
 * Judging lock files left in the repository and the actor directory: `daemon.lock` (JSON naming
 * a pid and a lease) and git-style `<ref>.lock` files. Used by doctor (to clear stale ones), and
 * by the store repair in RepoContext, doctor's and `rebuild` (never to pull a store out from
 * under a live daemon).
 */
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { GritError } from '../core/errors.js';
import { STALE_LOCK_MS } from '../git/refs.js';
import { pidAlive, pidReused, type WriterRecord } from '../core/pid-alive.js';
import { daemonEndpoint } from '../protocol/daemon-paths.js';
import { readLeaseFile } from '../workers/lease.js';
import { WORKER_IDLE_TIMEOUT_S } from './ranges.js';
import { shellWord } from '../core/shell-word.js';

/**
 * A lock naming a pid (daemon.lock: `{pid, host_id, started_ts, boot_id, proc_start_ticks, expires_ts, …}`)
 * is stale when that process is dead on this host (or its pid now names another process), or,
 * for another host, when its lease has expired. A git-style ref lock (no content worth reading)
 * is stale once older than STALE_LOCK_MS, the age at which grit's own compare-and-swap treats it
 * as abandoned.
 */
export function judgeLock(path: string): { stale: boolean; why: string } {
  let st;
  try {
    st = statSync(path);
  } catch {
    return { stale: false, why: 'gone' };
  }
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // judged by its age
  }
  return judgeLockText(text, st.mtimeMs);
}

/** judgeLock of a lock file read already: its text, and its mtime. */
function judgeLockText(text: string, mtimeMs: number): { stale: boolean; why: string } {
  let info: ({ pid?: unknown; host_id?: unknown; expires_ts?: unknown } & WriterRecord) | null = null;
  try {
    if (text.trimStart().startsWith('{')) info = JSON.parse(text);
  } catch {
    info = null;
  }
  if (info && typeof info.pid === 'number') {
    const expired = typeof info.expires_ts === 'number' && info.expires_ts < Date.now();
    const sameHost = info.host_id === undefined || info.host_id === hostname();
    if (sameHost && !pidAlive(info.pid)) return { stale: true, why: `process ${info.pid} is not running` };
    if (sameHost && pidReused(info.pid, info)) {
      return { stale: true, why: `process ${info.pid} started after the lease was taken, so it is another process` };
    }
    if (!sameHost && expired) return { stale: true, why: `its lease expired (host ${String(info.host_id)})` };
    return { stale: false, why: `held by process ${info.pid}` };
  }
  const age = Date.now() - mtimeMs;
  return age > STALE_LOCK_MS
    ? { stale: true, why: `${Math.round(age / 1000)} s old` }
    : { stale: false, why: 'held right now' };
}

/** A daemon holding this actor's store right now (a live daemon.lock, or one a renew has moved aside: lease.ts readLeaseFile)? */
export function daemonHolds(actorDir: string): number | null {
  const lease = readLeaseFile(actorDir);
  if (lease === null || judgeLockText(lease.text, lease.stat.mtimeMs).stale) return null;
  try {
    const pid = JSON.parse(lease.text).pid;
    return typeof pid === 'number' ? pid : -1;
  } catch {
    return -1;
  }
}

/** The command a refusal names, and what the daemon that holds the store does in its place. */
export interface RefusedCommand {
  /** As typed, e.g. `grit rebuild`. */
  line: string;
  /** E.g. `rebuilds the store it serves`. */
  daemonDoes: string;
}

/**
 * Refuses to empty or replace a store that a live daemon serves from. LMDB would let both
 * processes in, but a rebuild clears the store first, so the daemon would answer from a store
 * being refilled, and one that fails puts a copy of the old file in place under the daemon's
 * open map. `holder`: the daemon that may (its worker rebuilding the store it serves).
 */
export function refuseIfDaemonHolds(actorDir: string, command: RefusedCommand, holder?: number): void {
  const pid = daemonHolds(actorDir);
  if (pid === null || pid === holder) return;
  const other = otherDaemon(actorDir);
  const refusal = 'serves from this store: rebuilding it here would empty it under the daemon';
  if (other === null) {
    throw new GritError('db_busy', `a daemon (pid ${pid}) ${refusal}`, {
      details: { daemon_pid: pid },
      suggestion: `run \`${command.line}\` without --no-daemon (the daemon then ${command.daemonDoes}), or \`grit daemon stop\` first`,
    });
  }
  // Not this CLI's daemon (another run directory, maybe another user's): `grit daemon stop` would
  // stop the wrong one, and running through this CLI's daemon only falls back to here.
  const { runDir, owner } = other;
  const stop = `\`GRIT_RUN_DIR=${shellWord(runDir)} grit daemon stop\``;
  const idle = `or wait until it lets the actor go (after ${WORKER_IDLE_TIMEOUT_S.default} s without a request for it, by default)`;
  throw new GritError('db_busy', `a daemon of another run directory (pid ${pid}, ${runDir}${owner ? `, user ${owner}` : ''}) ${refusal}`, {
    details: { daemon_pid: pid, daemon_run_dir: runDir, ...(owner ? { daemon_owner: owner } : {}) },
    suggestion: owner
      ? `that daemon is user ${owner}'s: ask them to stop it (${stop}), ${idle}, then run \`${command.line}\` again`
      : `give the CLI that daemon's GRIT_RUN_DIR (\`GRIT_RUN_DIR=${shellWord(runDir)} ${command.line}\`: it then ${command.daemonDoes}), or stop it (${stop}) first`,
  });
}

/**
 * The run directory of the daemon whose lease `actorDir` holds when it is not this CLI's
 * (`daemonEndpoint`), with the user who owns the lease when that is another user (the holder
 * writes the file); null when it is this CLI's, or the lease names no endpoint.
 */
function otherDaemon(actorDir: string): { runDir: string; owner: string | null } | null {
  const lease = readLeaseFile(actorDir);
  if (lease === null) return null;
  let endpoint: unknown;
  try {
    endpoint = JSON.parse(lease.text).ipc_endpoint;
  } catch {
    return null;
  }
  const { uid } = lease.stat;
  if (typeof endpoint !== 'string' || !endpoint.startsWith('ipc://') || endpoint === daemonEndpoint()) return null;
  const mine = typeof process.getuid === 'function' ? process.getuid() : uid;
  return { runDir: dirname(endpoint.slice('ipc://'.length)), owner: uid === mine ? null : userName(uid) };
}

/** The login name of `uid` from /etc/passwd, or `uid <n>` when it is not there. */
function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (id === String(uid) && name) return name;
    }
  } catch {
    // no passwd file (a container): the number says it
  }
  return `uid ${uid}`;
}
