/**
 * `daemon.lock` in an actor's directory (SPEC §4): the lease by which one daemon serves an actor.
 * The worker that holds it renews it on a heartbeat; a lease whose holder is dead or whose expiry
 * has passed may be taken over.
 */
import { linkSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { GritError } from '../core/errors.js';
import { pidAlive, pidReused, procStart, type ProcStart } from '../core/pid-alive.js';
import { writeDenied } from '../core/write-access.js';
import { diskFullError } from '../core/disk-full.js';
import { writeNewFile } from '../core/write-new-file.js';

export interface DaemonLease extends Partial<ProcStart> {
  pid: number;
  started_ts: number;
  repo_root: string;
  actor_id: string;
  host_id: string;
  ipc_endpoint: string;
  lease_ms: number;
  last_heartbeat_ts: number;
  expires_ts: number;
}

export const LEASE_MS = 15_000;

export function leasePath(actorDir: string): string {
  return join(actorDir, 'daemon.lock');
}

export function readLease(actorDir: string): DaemonLease | null {
  try {
    const raw = JSON.parse(readFileSync(leasePath(actorDir), 'utf8'));
    return typeof raw?.pid === 'number' && typeof raw?.expires_ts === 'number' ? (raw as DaemonLease) : null;
  } catch {
    return null;
  }
}

/**
 * Whether a lease still binds others: not expired, and its holder alive if it is on this host. A
 * live holder that stopped renewing (hung) loses the lease at expiry, so it can be taken over.
 */
export function leaseIsLive(lease: DaemonLease, now = Date.now()): boolean {
  if (lease.expires_ts <= now) return false;
  if (lease.host_id !== hostname()) return true;
  return pidAlive(lease.pid) && !pidReused(lease.pid, lease);
}

/**
 * `db_busy` naming the other daemon whose live lease the actor's is, or null when it is free or
 * this daemon's: what a worker gets taking the lease, and what the supervisor answers without
 * starting one while that lasts.
 */
export function servedElsewhere(actorDir: string, actorId: string, now = Date.now()): GritError | null {
  const held = readLease(actorDir);
  if (!held || (held.pid === process.pid && held.host_id === hostname()) || !leaseIsLive(held, now)) return null;
  return new GritError('db_busy', `actor ${actorId} is served by daemon pid ${held.pid}`, {
    details: { owner_pid: held.pid, ipc_endpoint: held.ipc_endpoint, expires_ts: held.expires_ts },
    suggestion: 'use --no-daemon, or stop the other daemon with `grit daemon stop`',
  });
}

/**
 * A lease that cannot be written for a full disk: the daemon declines the actor (`fallback`), and
 * the client runs the command in its own process, which needs no lease; a read there answers even
 * while the store cannot catch up (RepoContext.read).
 */
function declineOnFullDisk(actorDir: string, path: string, err: unknown): GritError | null {
  const full = diskFullError(actorDir, path, err);
  return (
    full &&
    new GritError('io_error', `the daemon cannot serve the actor in ${actorDir}: ${full.message}`, {
      details: { ...full.details, fallback: true },
      suggestion: `${full.suggestion}; meanwhile run the command with --no-daemon`,
    })
  );
}

export class Lease {
  private timer: NodeJS.Timeout | null = null;
  private readonly record: DaemonLease;

  private constructor(
    private readonly actorDir: string,
    record: DaemonLease,
    private readonly perm: number,
  ) {
    this.record = record;
  }

  /**
   * Takes the lease, or throws `db_busy` naming the daemon that holds it. Threads of one daemon
   * share its pid, so a replacement worker takes over its crashed predecessor's lease. `perm`:
   * core.sharedRepository's for an actor inside `.git/grit` (shared-files.ts): another user's
   * daemon that could not read the lease would take it for free.
   */
  static acquire(actorDir: string, info: { repo_root: string; actor_id: string; ipc_endpoint: string }, perm: number): Lease {
    const now = Date.now();
    const record: DaemonLease = {
      pid: process.pid,
      started_ts: now,
      ...procStart(process.pid),
      ...info,
      host_id: hostname(),
      lease_ms: LEASE_MS,
      last_heartbeat_ts: now,
      expires_ts: now + LEASE_MS,
    };
    const path = leasePath(actorDir);
    const tmp = `${path}.${process.pid}.${now}.tmp`;
    try {
      writeNewFile(tmp, JSON.stringify(record), perm);
    } catch (err) {
      throw writeDenied(actorDir) ?? declineOnFullDisk(actorDir, path, err) ?? err;
    }
    try {
      try {
        linkSync(tmp, path); // exclusive: fails when a lease file exists
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const busy = servedElsewhere(actorDir, info.actor_id, now);
        if (busy) throw busy;
        renameSync(tmp, path);
      }
    } finally {
      rmSync(tmp, { force: true });
    }
    const lease = new Lease(actorDir, record, perm);
    lease.timer = setInterval(() => lease.renew(), LEASE_MS / 3);
    lease.timer.unref();
    return lease;
  }

  private renew(): void {
    const now = Date.now();
    this.record.last_heartbeat_ts = now;
    this.record.expires_ts = now + LEASE_MS;
    const path = leasePath(this.actorDir);
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      writeNewFile(tmp, JSON.stringify(this.record), this.perm);
      renameSync(tmp, path);
    } catch {
      // A missed heartbeat only shortens the lease; the next one retries.
    }
  }

  /** Removes `daemon.lock` if it is still ours. */
  release(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const held = readLease(this.actorDir);
    if (held?.pid === process.pid && held.started_ts === this.record.started_ts) {
      rmSync(leasePath(this.actorDir), { force: true });
    }
  }
}
