/**
 * The worker of one (repo, actor): one thread at a time, run by a piscina pool of exactly one
 * thread. Many tasks run concurrently in that thread (reads and queued writes interleave at their
 * awaits).
 *
 * A thread is started when a request needs one, and counts as started once it has answered a
 * `start` task, which it can do only after its module has loaded and set itself up. One that
 * cannot start (a module missing while an `npm install` replaces grit, a throw or an exit in its
 * set-up) fails the requests waiting for it with an error that has the CLI run them itself; one
 * that dies later fails the requests it was running. Either way piscina does not replace it (a
 * replacement that could not start would hold every later request, and the daemon's stop, for
 * ever): the next request starts a thread again, through the same `start` task.
 */
import { Piscina } from 'piscina';
import { removeOwnRebuildCopy } from '../commands/rebuild-copy.js';
import { GritError } from '../core/errors.js';
import { daemonLogPath } from '../protocol/daemon-paths.js';
import type { WorkerResult, WorkerSetup, WorkerTask } from '../workers/actor-worker.js';

const WORKER_FILE = new URL('../workers/actor-worker.js', import.meta.url).href;

export interface WorkerInfo {
  repo_root: string;
  actor_id: string;
  data_dir: string;
  threads_started: number;
  in_flight: number;
}

/** One thread and the piscina pool that runs it; a thread that ends takes its pool along. */
interface Thread {
  pool: Piscina;
  /** Resolves once the thread has started; rejects with `notRun`'s error if it does not. */
  ready: Promise<void>;
  up: boolean;
  /** Gone: it died, or `close` stopped it. */
  ended: boolean;
  /** `close` is stopping it: a start it cut short is no failure to log. */
  closing: boolean;
}

/** What a request waiting for a thread that did not start gets: nothing ran, so its CLI runs it (`details.fallback`). */
function notRun(actorId: string, why: string): GritError {
  return new GritError('ipc_error', `the daemon's worker for actor ${actorId} ${why}`, {
    details: { fallback: true, actor_id: actorId },
    suggestion: `the command did not run: run it again (the CLI runs it itself); see ${daemonLogPath()} for why`,
  });
}

export class ActorWorkerPool {
  private thread: Thread | null = null;
  /** Set once `close` has waited for the requests in flight: no thread starts after that. */
  private closed = false;
  private threadsStarted = 0;
  private inFlight = 0;
  /** When its last request ended, on the monotonic clock (performance.now()): idleness is a duration. */
  private lastUsed = performance.now();
  private drainWaiters: (() => void)[] = [];
  /**
   * The identity of the actor's store file this thread has open (RouteCache's `store`), learned
   * once the file exists: another file there later means the store was deleted or replaced
   * behind the thread's back (a repository restored from a backup), and the thread must go.
   */
  storeId: string | null = null;

  /** `log` reports a thread's failure, with its cause, once. */
  constructor(
    readonly setup: WorkerSetup,
    readonly actorId: string,
    private readonly log: (err: unknown, msg: string) => void,
  ) {}

  private start(): Thread {
    if (this.closed) throw notRun(this.actorId, 'was stopped before it could take the request');
    const pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 512,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      // 'sync' would park the thread in Atomics.wait between tasks and starve its lease heartbeat.
      atomics: 'disabled',
      workerData: this.setup,
    });
    const thread: Thread = {
      pool,
      up: false,
      ended: false,
      closing: false,
      ready: pool.run({ op: 'start' }).then(
        () => {
          thread.up = true;
          this.threadsStarted++;
        },
        (err: unknown) => {
          if (!thread.closing) this.log(err, 'worker thread could not start: the requests waiting for it are declined, the next request starts one again');
          throw notRun(this.actorId, `could not start: ${(err as Error)?.message ?? String(err)}`);
        },
      ),
    };
    // Its waiters get the failure; no waiter at all must not make it an unhandled rejection, which ends the daemon.
    thread.ready.catch(() => undefined);
    // An error with no task to fail (one thrown outside any request): the thread is gone.
    pool.on('error', (err) => this.log(err, 'worker error'));
    pool.on('workerDestroy', () => this.died(thread));
    return (this.thread = thread);
  }

  /**
   * The thread ended by itself (an exit, an uncaught error): it runs nothing more. Its pool is
   * destroyed at once, here: piscina tells of the thread's end before it would start a
   * replacement, and a pool being destroyed starts none (see the top of this file).
   */
  private died(thread: Thread): void {
    if (thread.closing || thread.ended) return;
    thread.ended = true;
    if (this.thread === thread) this.thread = null;
    // Not awaited: a thread that exited has sent its 'exit' already, which piscina's destroy would wait for.
    void thread.pool.destroy();
    this.removeLeftovers();
  }

  /** What a thread that ended under a request may have left in the actor dir: a rebuild's copy of the store (rebuild-copy.ts). */
  private removeLeftovers(): void {
    try {
      removeOwnRebuildCopy(this.setup.actorDir);
    } catch (err) {
      this.log(err, "a rebuild's copy of the store, left by a worker thread that ended, could not be removed");
    }
  }

  /** A task's `progress` port is handed over to the thread with it. */
  async run(task: WorkerTask): Promise<WorkerResult | null> {
    this.inFlight++;
    try {
      const thread = this.thread ?? this.start();
      await thread.ready;
      // Ended since it started, before this request reached it (a dead pool must not be handed a task: it would start a thread).
      if (thread.ended) throw notRun(this.actorId, 'stopped before it could take the request');
      const port = task.op === 'run' ? task.progress : undefined;
      return await thread.pool.run(task, port ? { transferList: [port] } : undefined);
    } finally {
      this.inFlight--;
      this.lastUsed = performance.now();
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
  idleFor(ms: number, now = performance.now()): boolean {
    return this.idleSince() !== null && now - this.lastUsed >= ms;
  }

  /** When its last request ended (performance.now()), if none is in flight; null while one is. */
  idleSince(): number | null {
    return this.inFlight === 0 ? this.lastUsed : null;
  }

  /**
   * Lets the requests in flight finish (for up to `limitMs`, or until `stopWaiting()`), then
   * releases the lease, closes the store and stops the thread, under any request still running.
   * A thread that has not started (still loading, or stuck there) is stopped without waiting for it.
   */
  async close(limitMs: number): Promise<void> {
    await this.drained(limitMs);
    this.closed = true;
    const thread = this.thread;
    this.thread = null;
    if (!thread || thread.ended) return;
    try {
      if (thread.up) await thread.pool.run({ op: 'close' });
    } finally {
      thread.closing = true;
      thread.ended = true;
      await thread.pool.destroy();
      this.removeLeftovers();
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
