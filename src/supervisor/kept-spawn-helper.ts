/**
 * The daemon's spawn helper (src/git/spawn-helper.ts), started again when it has ended under the
 * daemon (killed, say): without it every git a worker runs is forked from the daemon, the cost
 * the helper exists to avoid, for the rest of the daemon's life. Checked at the daemon's periodic
 * sweep; the dead helper's socket is removed first, so the new one can bind the same path, which
 * the workers reconnect to at their next git call (until then they spawn git themselves).
 */
import type { Logger } from 'pino';
import { startSpawnHelper, type SpawnHelper } from '../git/spawn-helper.js';
import { prepareIpcPath } from '../protocol/transport/listener.js';

/** A helper that lived less than this before it ended is failing, not killed once: the next try waits longer. */
const SHORT_LIFE_MS = 60_000;
/** Tries of a helper that keeps failing (it cannot listen) back off up to this, so the log does not fill. */
const MAX_BACKOFF_MS = 5 * 60_000;

export class KeptSpawnHelper {
  private helper: SpawnHelper;
  private startedAt = Date.now();
  private backoffMs = 1_000;
  private retryAt = 0;
  private restarting = false;
  private stopped = false;

  constructor(
    private readonly socketPath: string,
    private readonly logger: Logger,
  ) {
    this.helper = startSpawnHelper(socketPath);
  }

  /** Starts the helper again if it has ended, unless it did so recently and the back-off has not passed. */
  check(now = Date.now()): void {
    if (this.stopped || this.restarting || !this.helper.exited || now < this.retryAt) return;
    this.backoffMs = now - this.startedAt < SHORT_LIFE_MS ? Math.min(this.backoffMs * 2, MAX_BACKOFF_MS) : 1_000;
    this.retryAt = now + this.backoffMs;
    this.restarting = true;
    this.logger.warn({ helper_pid: this.helper.pid, socket: this.socketPath }, 'the spawn helper ended: starting another');
    // A socket a live process answers on is not the dead helper's: the new helper then fails to listen, and is tried again later.
    void prepareIpcPath(this.socketPath)
      .catch((err: unknown) => this.logger.warn({ err, socket: this.socketPath }, "the dead spawn helper's socket could not be removed"))
      .then(() => {
        if (this.stopped) return;
        this.helper = startSpawnHelper(this.socketPath);
        this.startedAt = Date.now();
      })
      .finally(() => (this.restarting = false));
  }

  stop(): void {
    this.stopped = true;
    this.helper.stop();
  }
}
