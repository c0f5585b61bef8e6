/**
 * `daemon.lock` in an actor's directory (SPEC §4): the lease by which one daemon serves an actor.
 * The worker that holds it renews it on a heartbeat; a lease whose holder is dead or whose expiry
 * has passed may be taken over, and a worker that finds its lease taken serves the actor no more.
 */
import { closeSync, fstatSync, linkSync, openSync, readdirSync, readFileSync, rmSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { GritError } from '../core/errors.js';
import { crashPoint } from '../core/fault.js';
import { procStart, stillRuns, type ProcStart } from '../core/pid-alive.js';
import { writeDenied } from '../core/write-access.js';
import { diskFullError } from '../core/disk-full.js';
import { writeNewFile } from '../core/write-new-file.js';
import { tempBeside } from '../core/replace-file.js';
import { replaceIfJudged } from '../core/replace-if-judged.js';
import { readTextOrNull } from '../core/read-text-or-null.js';

export interface DaemonLease extends Partial<ProcStart> {
  pid: number;
  started_ts: number;
  /**
   * Random, one per lease taken: tells this lease's record from any other, the one of a lease the
   * same daemon took before too (a renew or release touches only its own). An older grit's has none.
   */
  token?: string;
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

/** The lease as any other process sees it (readLeaseFile), parsed: null when there is none, or it is not a lease record. */
export function readLease(actorDir: string): DaemonLease | null {
  return parseLease(readLeaseFile(actorDir)?.text ?? null);
}

/** A lease file as read: its text, and its stat (lockfile.ts judges a record that is not JSON by its age, and names its owner). */
export interface LeaseFile {
  text: string;
  stat: Stats;
}

/** What the name of a lease file moved aside (replaceLease) has after daemon.lock's, before tempBeside's ending: readers look for it. */
const ASIDE = '.aside';

/**
 * The lease file, for any process but its holder. A renew, a release and a takeover move
 * daemon.lock aside while they judge the record moved (replaceLease): for that moment there is no
 * daemon.lock, and the record aside is still the lease. So a reader that finds none reads the one
 * moved aside, and, finding that gone too (the new one linked in meanwhile), daemon.lock again,
 * which then holds the new record, or none (released). Null: no lease.
 */
export function readLeaseFile(actorDir: string): LeaseFile | null {
  const path = leasePath(actorDir);
  return readWithStat(path) ?? readMovedAside(path) ?? readWithStat(path);
}

/**
 * The record moved aside from `path` by a replaceLease running now. A daemon killed while it had
 * one aside leaves it there (until doctor clears it): of several, the lease is the one that
 * expires last.
 */
function readMovedAside(path: string): LeaseFile | null {
  const dir = dirname(path);
  const prefix = `${basename(path)}${ASIDE}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const moved = names.filter((name) => name.startsWith(prefix)).flatMap((name) => readWithStat(join(dir, name)) ?? []);
  const expiry = (file: LeaseFile): number => parseLease(file.text)?.expires_ts ?? -Infinity;
  return moved.reduce<LeaseFile | null>((latest, file) => (latest && expiry(latest) >= expiry(file) ? latest : file), null);
}

function readWithStat(path: string): LeaseFile | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    return { text: readFileSync(fd, 'utf8'), stat: fstatSync(fd) };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The lease record in the file at `path` as it is (what its holder and replaceLease judge). */
function leaseAt(path: string): DaemonLease | null {
  return parseLease(readTextOrNull(path));
}

function parseLease(text: string | null): DaemonLease | null {
  try {
    const raw = JSON.parse(text ?? '');
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
  return stillRuns(lease);
}

/** `held` binds this daemon: a live lease of another daemon's (threads of one daemon share its pid). */
function heldElsewhere(held: DaemonLease | null, now: number): held is DaemonLease {
  return held !== null && !(held.pid === process.pid && held.host_id === hostname()) && leaseIsLive(held, now);
}

/**
 * `db_busy` naming the other daemon whose live lease the actor's is, or null when it is free or
 * this daemon's: what a worker gets taking the lease, and what the supervisor answers without
 * starting one while that lasts.
 */
export function servedElsewhere(actorDir: string, actorId: string, now = Date.now()): GritError | null {
  const held = readLease(actorDir);
  if (!heldElsewhere(held, now)) return null;
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

/**
 * Replaces the lease file `path` by the file `next` (null: removes it) if the record there is one
 * `replaceable` accepts; false, and nothing changed, when it is not, or when another daemon took
 * the lease meanwhile (replace-if-judged.ts). While the record is moved aside to be judged, other
 * readers look for it there (readLeaseFile).
 */
function replaceLease(path: string, replaceable: (held: DaemonLease | null) => boolean, next: string | null): boolean {
  const judge = (aside: string): boolean => {
    crashPoint('lease:moved-aside');
    return replaceable(leaseAt(aside));
  };
  return replaceIfJudged(path, tempBeside(`${path}${ASIDE}`), judge, { replacement: next });
}

/** How long a lease seen in daemon.lock is taken to be there still, without reading it (held()). */
const SEEN_FRESH_MS = 100;

export class Lease {
  private timer: NodeJS.Timeout | null = null;
  /** daemon.lock was found to hold another record than this lease's, or none: it never holds this one again. */
  private lost = false;
  /** When daemon.lock was last seen holding this lease (performance.now()). */
  private seenAt = performance.now();

  private constructor(
    private readonly actorDir: string,
    private record: DaemonLease,
    private readonly perm: number,
  ) {}

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
      token: randomBytes(8).toString('hex'),
      ...info,
      host_id: hostname(),
      lease_ms: LEASE_MS,
      last_heartbeat_ts: now,
      expires_ts: now + LEASE_MS,
    };
    const path = leasePath(actorDir);
    const tmp = tempBeside(path);
    try {
      writeNewFile(tmp, JSON.stringify(record), perm);
    } catch (err) {
      throw writeDenied(actorDir) ?? declineOnFullDisk(actorDir, path, err) ?? err;
    }
    try {
      takeOver(actorDir, info.actor_id, tmp, now);
    } finally {
      rmSync(tmp, { force: true });
    }
    const lease = new Lease(actorDir, record, perm);
    lease.timer = setInterval(() => lease.renew(), LEASE_MS / 3);
    lease.timer.unref();
    return lease;
  }

  /**
   * daemon.lock still holds this lease's record: what the worker asks before each request. A
   * daemon paused (SIGSTOP) or starved past the expiry may find its lease taken over meanwhile;
   * it must then serve the actor no more, since the new holder may rebuild the store under it.
   */
  held(): boolean {
    // Read again once it was last seen a while ago (a paused thread's was, long ago), not for
    // every request: a busy worker serves thousands a second, and a read of the file costs a
    // tenth of one. Taken over while this thread ran (the wall clock stepped past its expiry), it
    // serves at most that long beside the new holder.
    if (!this.lost && performance.now() - this.seenAt < SEEN_FRESH_MS) return true;
    return this.confirm();
  }

  /** Reads daemon.lock: still this lease's record, or the lease is lost. */
  private confirm(): boolean {
    // daemon.lock alone: only this thread moves this lease's record aside, and a record another
    // daemon moved aside is one it is taking over.
    if (!this.lost && !this.isOwn(leaseAt(leasePath(this.actorDir)))) this.lose();
    if (!this.lost) this.seenAt = performance.now();
    return !this.lost;
  }

  /** Removes `daemon.lock` if it is still ours. */
  release(): void {
    try {
      this.replaceOwn(null);
    } finally {
      this.lose();
    }
  }

  private renew(): void {
    const now = Date.now();
    const next: DaemonLease = { ...this.record, last_heartbeat_ts: now, expires_ts: now + LEASE_MS };
    const tmp = tempBeside(leasePath(this.actorDir));
    try {
      writeNewFile(tmp, JSON.stringify(next), this.perm);
      if (this.replaceOwn(tmp)) this.record = next;
    } catch {
      // A missed heartbeat only shortens the lease; the next one retries.
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  /** daemon.lock replaced by `next` (null: removed) if it still holds this lease's record, else the lease is lost. */
  private replaceOwn(next: string | null): boolean {
    if (!this.confirm()) return false;
    if (replaceLease(leasePath(this.actorDir), (held) => this.isOwn(held), next)) return true;
    this.lose();
    return false;
  }

  private isOwn(held: DaemonLease | null): boolean {
    return held?.token === this.record.token;
  }

  private lose(): void {
    this.lost = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/**
 * Puts the lease record `tmp` in place: where there is none, or over one that binds nobody (its
 * holder dead, or its expiry passed); else throws `db_busy` naming its holder.
 */
function takeOver(actorDir: string, actorId: string, tmp: string, now: number): void {
  const path = leasePath(actorDir);
  for (;;) {
    try {
      linkSync(tmp, path); // exclusive: fails when a lease file exists
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const busy = servedElsewhere(actorDir, actorId, now);
    if (busy) throw busy;
    // Not replaced: it went, or another daemon took it over first; judged again.
    if (replaceLease(path, (held) => !heldElsewhere(held, now), tmp)) return;
  }
}
