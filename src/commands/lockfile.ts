/**
 * Judging lock files left in the repository and the actor directory: `daemon.lock` (JSON naming
 * a pid and a lease) and git-style `<ref>.lock` files. Used by doctor (to clear stale ones), and
 * by the store repair in RepoContext, doctor's and `rebuild` (never to pull a store out from
 * under a live daemon).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { GritError } from '../core/errors.js';
import { STALE_LOCK_MS } from '../git/refs.js';
import { pidAlive } from '../core/pid-alive.js';

/**
 * A lock naming a pid (daemon.lock: `{pid, host_id, expires_ts, …}`) is stale when that process
 * is dead on this host, or, for another host, when its lease has expired. A git-style ref lock
 * (no content worth reading) is stale once older than STALE_LOCK_MS, the age at which grit's own
 * compare-and-swap treats it as abandoned.
 */
export function judgeLock(path: string): { stale: boolean; why: string } {
  let st;
  try {
    st = statSync(path);
  } catch {
    return { stale: false, why: 'gone' };
  }
  let info: { pid?: unknown; host_id?: unknown; expires_ts?: unknown } | null = null;
  try {
    const text = readFileSync(path, 'utf8');
    if (text.trimStart().startsWith('{')) info = JSON.parse(text);
  } catch {
    info = null;
  }
  if (info && typeof info.pid === 'number') {
    const expired = typeof info.expires_ts === 'number' && info.expires_ts < Date.now();
    const sameHost = info.host_id === undefined || info.host_id === hostname();
    if (sameHost && !pidAlive(info.pid)) return { stale: true, why: `process ${info.pid} is not running` };
    if (!sameHost && expired) return { stale: true, why: `its lease expired (host ${String(info.host_id)})` };
    return { stale: false, why: `held by process ${info.pid}` };
  }
  const age = Date.now() - st.mtimeMs;
  return age > STALE_LOCK_MS
    ? { stale: true, why: `${Math.round(age / 1000)} s old` }
    : { stale: false, why: 'held right now' };
}

/** A daemon holding this actor's store right now (a live daemon.lock)? */
export function daemonHolds(actorDir: string): number | null {
  const path = join(actorDir, 'daemon.lock');
  if (!existsSync(path)) return null;
  const j = judgeLock(path);
  if (j.stale) return null;
  try {
    const pid = JSON.parse(readFileSync(path, 'utf8')).pid;
    return typeof pid === 'number' ? pid : -1;
  } catch {
    return -1;
  }
}

/**
 * Refuses to empty or replace a store that a live daemon serves from. LMDB would let both
 * processes in, but a rebuild clears the store first, so the daemon would answer from a store
 * being refilled, and one that fails puts a copy of the old file in place under the daemon's
 * open map. `holder`: the daemon that may (its worker rebuilding the store it serves).
 */
export function refuseIfDaemonHolds(actorDir: string, suggestion: string, holder?: number): void {
  const pid = daemonHolds(actorDir);
  if (pid === null || pid === holder) return;
  throw new GritError('db_busy', `a daemon (pid ${pid}) serves from this store: rebuilding it here would empty it under the daemon`, {
    details: { daemon_pid: pid },
    suggestion,
  });
}
