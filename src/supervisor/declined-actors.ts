/**
 * Actors this daemon does not serve because another daemon (of another run directory) holds
 * their lease. No worker is kept for them: a thread that could serve nothing was listed by
 * `daemon status` as if it did, and took every request only to answer `db_busy`. While the other
 * lease lasts, the supervisor answers `db_busy` from the lease file alone, and says why once.
 */
import type { GritError } from '../core/errors.js';
import { servedElsewhere } from '../workers/lease.js';

/** One actor declined, as `daemon status` lists it under `declined`. */
export interface DeclinedActor {
  repo_root: string;
  actor_id: string;
  data_dir: string;
  owner_pid: number;
  ipc_endpoint: string;
}

export class DeclinedActors {
  private readonly byDir = new Map<string, DeclinedActor>();

  /**
   * The other daemon's `db_busy` when it holds the actor's lease (recorded), else null (the
   * actor is the daemon's to serve again). `warnings` gets one line when the actor is newly
   * declined: the CLI prints it, and then runs that actor's commands itself, slower, with no
   * other word (docs/daemon.md).
   */
  check(actor: Omit<DeclinedActor, 'owner_pid' | 'ipc_endpoint'>, warnings: string[]): GritError | null {
    const busy = servedElsewhere(actor.data_dir, actor.actor_id);
    if (!busy) {
      this.byDir.delete(actor.data_dir);
      return null;
    }
    const { owner_pid, ipc_endpoint } = busy.details as { owner_pid: number; ipc_endpoint: string };
    const known = this.byDir.get(actor.data_dir);
    if (known?.owner_pid !== owner_pid) {
      warnings.push(
        `this daemon (pid ${process.pid}) does not serve actor ${actor.actor_id.slice(0, 8)} of ${actor.repo_root}: daemon pid ${owner_pid} (${ipc_endpoint}) holds its lease, ` +
          'so its commands run in the CLI, slower, until that daemon lets it go (give the CLI that daemon\'s GRIT_RUN_DIR, or stop it)',
      );
    }
    this.byDir.set(actor.data_dir, { ...actor, owner_pid, ipc_endpoint });
    return busy;
  }

  /** The actors still declined: one whose lease lapsed since (the other daemon stopped) is dropped. */
  list(): DeclinedActor[] {
    for (const [dir, d] of this.byDir) if (!servedElsewhere(dir, d.actor_id)) this.byDir.delete(dir);
    return [...this.byDir.values()];
  }
}
