/**
 * One piscina pool of exactly one thread for one (repo, actor). Many tasks run concurrently in
 * that thread (reads and queued writes interleave at their awaits); piscina replaces the thread
 * if it dies, so the next request finds a fresh worker.
 */
import { Piscina } from 'piscina';
import type { WorkerResult, WorkerSetup, WorkerTask } from '../workers/actor-worker.js';

const WORKER_FILE = new URL('../workers/actor-worker.js', import.meta.url).href;

export interface WorkerInfo {
  repo_root: string;
  actor_id: string;
  data_dir: string;
  threads_started: number;
  in_flight: number;
}

export class ActorWorkerPool {
  private readonly pool: Piscina;
  private threadsStarted = 0;
  private inFlight = 0;
  private lastUsed = Date.now();
  private drainWaiters: (() => void)[] = [];
  /**
   * The identity of the actor's store file this thread has open (RouteCache's `store`), learned
   * once the file exists: another file there later means the store was deleted or replaced
   * behind the thread's back (a repository restored from a backup), and the thread must go.
   */
  storeId: string | null = null;

  constructor(
    readonly setup: WorkerSetup,
    readonly actorId: string,
    onError: (err: unknown) => void,
  ) {
    this.pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 512,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      // 'sync' would park the thread in Atomics.wait between tasks and starve its lease heartbeat.
      atomics: 'disabled',
      workerData: setup,
    });
    this.pool.on('workerCreate', () => this.threadsStarted++);
    this.pool.on('error', onError);
  }

  async run(task: WorkerTask): Promise<WorkerResult | null> {
    this.inFlight++;
    try {
      return await this.pool.run(task);
    } finally {
      this.inFlight--;
      this.lastUsed = Date.now();
      if (this.inFlight === 0) this.stopWaiting();
    }
  }

  /**
   * Resolves once nothing is in flight, after `limitMs`, or at `stopWaiting()`: a request stuck on
   * a remote must not hold a close forever.
   */
  private drained(limitMs: number): Promise<void> {
    if (this.inFlight === 0 || limitMs <= 0) return Promise.resolve();
    return new Promise((r) => {
      this.drainWaiters.push(r);
      setTimeout(r, limitMs).unref();
    });
  }

  /** A close waiting for the requests in flight goes on now (the daemon's drain deadline has passed). */
  stopWaiting(): void {
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  /** Nothing in flight for at least `ms`. */
  idleFor(ms: number, now = Date.now()): boolean {
    return this.inFlight === 0 && now - this.lastUsed >= ms;
  }

  /**
   * Lets the requests in flight finish (for up to `limitMs`, or until `stopWaiting()`), then
   * releases the lease, closes the store and stops the thread, under any request still running.
   */
  async close(limitMs: number): Promise<void> {
    await this.drained(limitMs);
    try {
      await this.run({ op: 'close' });
    } finally {
      await this.pool.destroy();
    }
  }

  info(): WorkerInfo {
    return {
      repo_root: this.setup.repoRoot,
      actor_id: this.actorId,
      data_dir: this.setup.actorDir,
      threads_started: this.threadsStarted,
      in_flight: this.inFlight,
    };
  }
}
