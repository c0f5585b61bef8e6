/**
 * The daemon's supervisor: binds the per-user socket, routes each request by (repo, actor) to
 * that actor's worker thread (started on first use), answers DaemonStatus and DaemonStop itself,
 * and exits after an idle timeout. Nothing a client sends can take it down: every failure
 * becomes an error reply.
 */
import type { Logger } from 'pino';
import { checkArgs } from '../commands/registry.js';
import { unappliedSettings, warnUnapplied } from '../commands/daemon.js';
import { answeredBySupervisor, onlyReads, repairsStore, reportsProgress, runsInWorker } from '../commands/routing.js';
import { GritError } from '../core/errors.js';
import { DEFAULT_DRAIN_S } from '../core/env-seconds.js';
import { gatherWarnings } from '../core/warnings.js';
import { mainWorktreeRoot } from '../git/repo.js';
import { DeclinedActors, type DeclinedActor } from './declined-actors.js';
import {
  decodeRequest,
  encodeMessage,
  formatOf,
  HEADER_ROOM,
  MAX_REPLY_BYTES,
  MAX_REQUEST_BYTES,
  mayHaveRun,
  preloadCbor,
  replyError,
  replyErrorTo,
  replyOk,
  requestTooLarge,
  withWarnings,
  type CommandRequest,
  type IpcReply,
  type RepoRequest,
  type WireFormat,
} from '../protocol/messages.js';
import { plainErrorReply } from '../protocol/plain-reply.js';
import { daemonLogPath } from '../protocol/daemon-paths.js';
import { encodeNotification } from '../protocol/notifications.js';
import { PubServer, REP_DEFAULTS, RepServer, type ReplyFn } from '../protocol/transport/index.js';
import { RefusedConnections } from './refused-connections.js';
import { ActorWorkerPool } from './actor-worker-pool.js';
import { ProgressRelay, type ProgressChannel } from './progress-relay.js';
import { Turns } from './turns.js';
import { KeptSpawnHelper } from './kept-spawn-helper.js';
import { fileIdentity, RouteCache } from './routes.js';
import { storeFile } from '../core/store-file.js';
import type { BuildInfo } from '../core/build-info.js';
import { commandEnv } from '../core/forwarded-env.js';
import { MAX_WORKERS } from '../commands/ranges.js';
import { goneFlag } from '../workers/client-gone.js';

/**
 * How long a stopping daemon lets the requests in flight run, all together (GRIT_DRAIN_TIMEOUT):
 * one deadline for the whole daemon, which `grit daemon stop` waits out (docs/daemon.md, Shutdown).
 */
export const DEFAULT_DRAIN_MS = DEFAULT_DRAIN_S * 1000;
/** How long it then serves its connections on, declining, until their clients close them. */
const LINGER_MS = 1_000;

/** The reply to a request that comes while the daemon stops: it has not run it. */
function shuttingDown(): GritError {
  return new GritError('ipc_error', 'the daemon is shutting down', { details: { fallback: true } });
}

export interface SupervisorOptions {
  endpoints: string[];
  /** Where notifications are published (PUB); none when absent. */
  notifications?: string;
  /** 0 = never. */
  idleTimeoutMs: number;
  /** A worker thread unused this long is stopped (its store closed, its lease released); 0 = never. */
  workerIdleTimeoutMs?: number;
  /** Workers kept at once: beyond it the least recently used idle one is retired (MAX_WORKERS); 0 = no cap. */
  maxWorkers?: number;
  logger: Logger;
  /** Largest reply sent, in bytes (default MAX_REPLY_BYTES); a larger one is an ipc_error that sends the CLI local. */
  maxReplyBytes?: number;
  /** Where the daemon's spawn helper listens (src/git/spawn-helper.ts); without it, workers spawn git themselves. */
  gitSpawner?: string;
  /** This daemon's build (src/core/build-info.ts): a request from another build makes it step aside. */
  build?: BuildInfo | null;
  /** The drain deadline (default DEFAULT_DRAIN_MS); also how long a retired worker waits for its requests. */
  drainMs?: number;
}

export interface DaemonStatus {
  running: true;
  pid: number;
  endpoint: string;
  endpoints: string[];
  notifications: string | null;
  started_ts: number;
  uptime_ms: number;
  requests: number;
  /** 0 = never. */
  idle_timeout_s: number;
  worker_idle_timeout_s: number;
  /** Workers kept at once (0 = no cap). */
  max_workers: number;
  /** How long stopping lets the requests in flight run. */
  drain_timeout_s: number;
  /** `stopping` once it was asked to stop (it declines new requests then: the CLI runs them itself). */
  state: 'running' | 'stopping';
  /** While stopping: the seconds left until its drain deadline (0: past it, closing its workers); null while running. */
  drain_left_s: number | null;
  /** grit's package version and build digest; null when built without them. */
  version: string | null;
  build: string | null;
  workers: ReturnType<ActorWorkerPool['info']>[];
  /** Actors it does not serve, with no worker, because another daemon holds their lease. */
  declined: DeclinedActor[];
}

/**
 * Why an actor's worker may not serve a request from `repository` whose store file is now `store`,
 * or null. One thread per actor dir, bound to one repository: its open store is no longer the file
 * there (deleted, or a backup restored), or the request comes from another repository (a data dir
 * used in two; the store of the thread that replaces it decides, as the command run in-process
 * would, whether it is rebuilt for that repository or the request refused: docs/environment.md).
 */
function cannotServe(worker: ActorWorkerPool, repository: string, store: string | null): string | null {
  if (worker.setup.repository !== repository) return 'a request came from another repository';
  if (worker.storeId !== null && worker.storeId !== store) return 'its store file was replaced';
  return null;
}

/** Where a request goes: its actor's worker, and what that needs to know of the request's route. */
interface Routed {
  worker: ActorWorkerPool;
  worktree: string;
  settings: string;
}

export class Supervisor {
  private servers: RepServer[] = [];
  private pub: PubServer | null = null;
  /** Publishes the progress of the requests that ask for it; none without a PUB socket. */
  private relay: ProgressRelay | null = null;
  /** Syncs of one repository with one remote run one at a time (turns.ts). */
  private readonly syncs = new Turns();
  private readonly workers = new Map<string, ActorWorkerPool>();
  /** Workers being stopped for idleness, by actor dir: a new one for the actor waits for `closed`. */
  private readonly retiring = new Map<string, { worker: ActorWorkerPool; closed: Promise<void> }>();
  /** Actors whose store `doctor --fix` is repairing (routing.ts `repairsStore`), by actor dir: their other requests wait for it. */
  private readonly repairs = new Map<string, Promise<void>>();
  private readonly declined = new DeclinedActors();
  private readonly routes = new RouteCache();
  private readonly refused: RefusedConnections;
  private readonly startedTs = Date.now();
  // Durations (uptime, idleness, the drain deadline) are measured on the monotonic clock: a step
  // of the wall clock (NTP, a suspended VM resumed) would stop a busy daemon, or keep an idle one.
  private readonly startedAt = performance.now();
  private lastActivity = performance.now();
  private inFlight = 0;
  /** The requests being answered: stopping waits for those it finds. */
  private readonly running = new Set<Promise<unknown>>();
  /** One per request a worker runs: answers it at once with the drain deadline's error (`stop`). */
  private readonly cutShort = new Set<() => void>();
  private requests = 0;
  private sweepTimer: NodeJS.Timeout | null = null;
  private spawnHelper: KeptSpawnHelper | null = null;
  private stopping: Promise<void> | null = null;
  /** When the stop began (performance.now()): the drain deadline counts from it. */
  private stopAt = 0;
  /** Resolves once the supervisor has shut down (idle, signal or DaemonStop). */
  readonly stopped: Promise<void>;
  private markStopped!: () => void;

  private constructor(private readonly opts: SupervisorOptions) {
    this.stopped = new Promise((r) => (this.markStopped = r));
    this.refused = new RefusedConnections(opts.logger, REP_DEFAULTS.maxConnections);
  }

  /**
   * Binds every socket before it serves any: notifications first, the first endpoint (what CLIs
   * connect to) last, so that a start failing on one (in use, not a socket) has read no request,
   * and closes what it had bound. The spawn helper starts once they are all this daemon's.
   */
  static async start(opts: SupervisorOptions): Promise<Supervisor> {
    const sup = new Supervisor(opts);
    try {
      if (opts.notifications) {
        const pub = (sup.pub = await PubServer.listen(opts.notifications));
        sup.relay = new ProgressRelay((body) => pub.publish(body));
      }
      for (const url of [...opts.endpoints].reverse()) sup.servers.unshift(await sup.listen(url));
    } catch (err) {
      await Promise.all([sup.pub?.close(), ...sup.servers.map((s) => s.close())]);
      throw err;
    }
    // Started while this process is small (no worker yet): forking it is cheap now, and not later.
    if (opts.gitSpawner) sup.spawnHelper = new KeptSpawnHelper(opts.gitSpawner, opts.logger);
    // Every second, if nothing sooner: the sweep also checks that the socket is still this daemon's.
    const periods = [opts.idleTimeoutMs, opts.workerIdleTimeoutMs ?? 0].filter((ms) => ms > 0);
    sup.sweepTimer = setInterval(() => sup.sweep(), Math.min(...periods, 1_000));
    sup.sweepTimer.unref();
    opts.logger.info({ endpoints: sup.endpoints }, 'daemon listening');
    // Loaded while the daemon has file descriptors to spare: node keeps a load that failed for
    // want of them failed for the life of the process. Not awaited: the CLI speaks JSON.
    preloadCbor().catch((err) => opts.logger.error({ err }, 'cannot load the CBOR codec: CBOR requests get an error reply until it loads'));
    return sup;
  }

  /** The endpoints as bound: `tcp://host:0` asked for is served on the port the system picked. */
  private get endpoints(): string[] {
    return this.servers.map((s) => s.url);
  }

  private async listen(url: string): Promise<RepServer> {
    const server = await RepServer.listen(url, (body, reply, { signal }) => this.onRequest(() => this.dispatch(body, signal), formatOf(body), reply), {
      maxMessageSize: MAX_REQUEST_BYTES,
      maxReplySize: (this.opts.maxReplyBytes ?? MAX_REPLY_BYTES) + HEADER_ROOM,
      // SPEC §7: an oversized request gets an error reply too (read and discarded, never held).
      oversized: ({ bytes, head }, reply) => this.onRequest(() => this.refuseOversized(bytes, head), formatOf(head), reply),
    });
    server.on('handlerError', (err) => this.opts.logger.error({ err }, 'request handler failed'));
    server.on('rejected', (reason: string) => reason !== 'closing' && this.refused.count(reason));
    // EMFILE at accept: libuv closes the connection it could not take (docs/daemon.md, Limits).
    server.on('listenerError', (err: NodeJS.ErrnoException) => this.refused.count(err.code ?? err.message));
    server.on('disconnect', (_id, err) => err && this.opts.logger.debug({ code: err.code }, 'connection dropped'));
    return server;
  }

  /**
   * Answers one request. Whatever fails on the way, the client gets a reply: one unanswered
   * waits for ever (GritClient's default), with nothing to tell it from a slow command.
   */
  private async onRequest(answer: () => Promise<Uint8Array>, format: WireFormat, reply: ReplyFn): Promise<void> {
    this.inFlight++;
    this.requests++;
    this.lastActivity = performance.now();
    const work = answer().catch((err: unknown) => {
      this.opts.logger.error({ err }, 'answering a request failed: an internal_error reply goes instead');
      const failed = new GritError('internal_error', `the daemon failed to answer the request: ${(err as Error)?.message ?? String(err)}`, {
        details: { may_have_run: true },
        suggestion: `see ${daemonLogPath()} for what failed; a read can simply run again, with --no-daemon`,
      });
      return plainErrorReply(null, failed.toJSON(), format);
    });
    this.running.add(work);
    try {
      const out = await work;
      if (!reply(out)) this.opts.logger.debug('reply not delivered (client gone or reply too large)');
    } finally {
      this.running.delete(work);
      this.inFlight--;
      this.lastActivity = performance.now();
    }
  }

  /** `signal`: aborted once the request's client has closed its connection (RequestInfo.signal). */
  private async dispatch(body: Buffer, signal: AbortSignal): Promise<Uint8Array> {
    const decoded = await decodeRequest(body);
    if ('error' in decoded) {
      // A request it could not read for a fault of its own (its codec did not load) is no bad request.
      if (decoded.error.code === 'internal_error') this.opts.logger.error({ err: decoded.error.message }, 'request not read');
      else this.opts.logger.warn({ err: decoded.error.message }, 'bad request');
      // A client of another IPC schema is a build of another version: its error says so, and this daemon steps aside.
      const theirs = decoded.error.details.client_build;
      const error = typeof theirs === 'string' ? (this.stepAside(theirs) ?? decoded.error) : decoded.error;
      return this.encode(replyError(decoded.request_id, error), decoded.format);
    }
    const { request, format } = decoded;
    try {
      const out = await this.untilDrainDeadline(request, this.execute(request, format, signal));
      const limit = this.opts.maxReplyBytes ?? MAX_REPLY_BYTES;
      if (out.length <= limit) return out;
      throw new GritError('ipc_error', `the reply to ${request.name} takes ${out.length} bytes, more than the daemon sends (${limit})`, {
        details: { reply_bytes: out.length, limit, fallback: true },
        suggestion: 'run the command with --no-daemon',
      });
    } catch (err) {
      return this.encode(replyErrorTo(request, err), format);
    }
  }

  /**
   * A reply of the supervisor's own, encoded; if that fails (its CBOR codec did not load), an
   * error reply built without the codec goes instead. One that said `ok` then says the command
   * may have run: it ran, but its result is lost.
   */
  private async encode(reply: IpcReply, format: WireFormat): Promise<Uint8Array> {
    try {
      return await encodeMessage(reply, format);
    } catch (err) {
      this.opts.logger.error({ err }, 'encoding a reply failed: an error reply built without the codec goes instead');
      const error = reply.ok
        ? new GritError('internal_error', `the daemon ran the command but could not encode its reply: ${(err as Error).message}`, { details: { may_have_run: true } }).toJSON()
        : reply.error;
      return plainErrorReply(reply.request_id, error, format);
    }
  }

  /**
   * `work`, unless the daemon stops and its drain deadline passes first: its caller then gets an
   * error saying so at once, and the worker is stopped under it (`stop`).
   */
  private async untilDrainDeadline<T>(request: CommandRequest, work: Promise<T>): Promise<T> {
    let cut!: () => void;
    const deadline = new Promise<never>((_, reject) => {
      const s = this.drainMs / 1000;
      cut = () =>
        reject(
          mayHaveRun(`the daemon stopped before ${request.name} finished: it was still running at the daemon's drain deadline (${s} s, GRIT_DRAIN_TIMEOUT)`, request.name, request.args, {
            drain_timeout_s: s,
          }),
        );
    });
    this.cutShort.add(cut);
    try {
      return await Promise.race([work, deadline]);
    } finally {
      this.cutShort.delete(cut);
    }
  }

  private get drainMs(): number {
    return this.opts.drainMs ?? DEFAULT_DRAIN_MS;
  }

  private refuseOversized(bytes: number, head: Buffer): Promise<Uint8Array> {
    this.opts.logger.warn({ bytes }, 'request too large');
    return this.encode(replyError(null, requestTooLarge('a request', bytes)), formatOf(head));
  }

  private async execute(whole: CommandRequest, format: WireFormat, signal: AbortSignal): Promise<Uint8Array> {
    const { repo_root } = whole;
    // Only these go without a repo_root (checkRequest).
    if (answeredBySupervisor(whole.name) || repo_root === null) return this.aboutItself(whole, format);
    if (this.stopping) throw shuttingDown();
    const request = { ...whole, repo_root };
    const { name, request_id } = request;
    this.stepAsideFor(request);
    if (!runsInWorker(name)) {
      const { runLocal } = await import('../commands/run.js');
      const data = await runLocal(name, request.args, {
        cwd: request.cwd ?? request.repo_root,
        actor: request.actor_id ?? undefined,
        dataDir: request.data_dir ?? undefined,
        // Built only by a command that reads it (sync, locks, context index): not on every read's path.
        get env() {
          return commandEnv(request.env);
        },
        umask: request.umask ?? undefined,
      });
      return this.encode(replyOk(request_id, data), format);
    }
    // Selecting the actor may create one (a new --data-dir): the reply says so, as the CLI would.
    const warnings: string[] = [];
    const { repository } = gatherWarnings(warnings, () => this.routes.resolve(request));
    // Only a command that reports progress gets a channel: another has nothing to publish.
    const progress = request.progress && reportsProgress(name) ? (this.relay?.open(request.progress) ?? null) : null;
    let endTurn: (() => void) | null = null;
    let routed: Routed & { release?: () => void };
    try {
      // Routed once it is its turn: a worker chosen before the wait could be retired during it.
      if (name === 'Sync') endTurn = await this.syncTurn(repository, request, progress);
      routed = repairsStore(name, request.args) ? await this.repairWorker(request, warnings) : await this.workerFor(request, warnings);
    } catch (err) {
      endTurn?.();
      progress?.close();
      if (!warnings.length) throw err;
      return this.encode(withWarnings(replyErrorTo(request, err), warnings), format);
    }
    const { worker, worktree, settings, release } = routed;
    try {
      // A read is not run if its client has gone by the time the worker's thread comes to it
      // (client-gone.ts); a write is, as its client was told it may be (docs/daemon.md, Limits).
      const gone = onlyReads(name, request.args) ? { gone: goneFlag(signal) } : {};
      const task = { op: 'run' as const, request, worktree, format, settings, warnings, ...gone, ...(progress ? { progress: progress.port() } : {}) };
      const { reply, notice, declined } = (await worker.run(task))!;
      // Its next request would get the same: no thread is kept for an actor another daemon serves.
      if (declined && this.workers.get(worker.setup.actorDir) === worker) this.retire(worker.setup.actorDir, worker, 'another daemon holds its lease');
      // The thread has its store open from its first command on: which file that is.
      worker.storeId ??= fileIdentity(storeFile(worker.setup.actorDir));
      if (notice) this.pub?.publish(encodeNotification(notice));
      return reply;
    } catch (err) {
      // The worker's own refusal: its thread did not start, so the request did not run (logged once there).
      if (err instanceof GritError) throw err;
      this.opts.logger.error({ err, actor: worker.actorId }, 'worker thread failed');
      throw new GritError('internal_error', `the worker for actor ${worker.actorId} stopped unexpectedly`, {
        details: { actor_id: worker.actorId },
        suggestion: 'retry: a fresh worker serves the next request',
      });
    } finally {
      endTurn?.();
      progress?.close();
      release?.();
    }
  }

  /**
   * Waits for the turn of a sync (turns.ts): another of the same repository and remote may be
   * running, which its client is told. Declined when the daemon began to stop meanwhile: it has
   * not run, so its CLI runs it.
   */
  private async syncTurn(repository: string, request: RepoRequest, progress: ProgressChannel | null): Promise<() => void> {
    const remote = typeof request.args.remote === 'string' ? request.args.remote : 'origin';
    const end = await this.syncs.take(JSON.stringify([repository, remote]), () =>
      progress?.report({ label: 'waiting for a sync already running in the daemon…', done: null, total: null }),
    );
    if (!this.stopping) return end;
    end();
    throw shuttingDown();
  }

  /** DaemonStatus, DaemonStop and DaemonStart: answered here, not by their command functions, so checked here. */
  private async aboutItself(request: CommandRequest, format: WireFormat): Promise<Uint8Array> {
    const { name, request_id, args } = request;
    checkArgs(name, args);
    if (name === 'DaemonStop') {
      setImmediate(() => void this.stop('DaemonStop'));
      // What `grit daemon stop` waits for: the requests running but this one, for up to the deadline.
      const reply = { stopping: true, pid: process.pid, drain_timeout_s: this.drainMs / 1000, in_flight: this.inFlight - 1 };
      return this.encode(replyOk(request_id, reply), format);
    }
    if (name === 'DaemonStatus') return this.encode(replyOk(request_id, this.status()), format);
    // DaemonStart: this daemon runs already, and keeps its settings; the reply names those asked
    // for that it does not run with, as `grit daemon start` does.
    this.stepAsideFor(request);
    if (args.replace === true) {
      throw new GritError('invalid_args', 'a running daemon cannot replace itself: replace is done by the daemon that starts in its place', {
        details: { field: 'replace' },
        suggestion: 'run `grit daemon start --replace` (or `grit-daemon --replace`)',
      });
    }
    const status = this.status();
    const unapplied = unappliedSettings(status, args);
    const warnings: string[] = [];
    gatherWarnings(warnings, () => warnUnapplied(status.pid, unapplied));
    return this.encode(withWarnings(replyOk(request_id, { ...status, started: false, settings_not_applied: unapplied }), warnings), format);
  }

  /**
   * A CLI of another build (grit upgraded or rebuilt under a running daemon) must not be served
   * this build's code: its command runs in its own process, and this daemon stops, finishing what
   * it has in flight, so that the CLI's next command starts a daemon of its own build. Two builds
   * used by turns thus restart the daemon at each turn: slower, never wrong.
   */
  private stepAsideFor(request: CommandRequest): void {
    const declined = request.client_build ? this.stepAside(request.client_build) : null;
    if (declined) throw declined;
  }

  /** Stops this daemon for a client of another build, and the error that tells it so; null for one of this build. */
  private stepAside(theirs: string): GritError | null {
    const own = this.opts.build?.build;
    if (!own || own === theirs) return null;
    this.opts.logger.info({ build: own, client_build: theirs }, 'a client of another build: stepping aside');
    setImmediate(() => void this.stop('another build'));
    return new GritError('ipc_error', `the running grit daemon is another build (${this.opts.build?.version} ${own}) than this client (${theirs}); it stops`, {
      details: { fallback: true, daemon_outdated: true, daemon_build: own, client_build: theirs, daemon_pid: process.pid },
      suggestion: 'run the command again: it starts a daemon of this build (or runs here)',
    });
  }

  /**
   * The worker of the request's (repo, actor), resolved as the CLI would (SPEC §4), the root of
   * the request's worktree (one worker serves all of a repository's), and the stamp of the files
   * its settings come from.
   */
  private async workerFor(request: RepoRequest, warnings: string[], forRepair = false): Promise<Routed & { release?: () => void }> {
    if (this.stopping) throw shuttingDown();
    const { repo, repository, actor, stamp, store } = this.routes.resolve(request);
    const repair = forRepair ? undefined : this.repairs.get(actor.dir);
    if (repair) {
      await repair;
      return this.workerFor(request, warnings);
    }
    let worker = this.workers.get(actor.dir);
    const why = worker && cannotServe(worker, repository, store);
    if (why) {
      // A new thread opens the store that is there now, once this one has finished its work and closed.
      this.retire(actor.dir, worker!, why);
      worker = undefined;
    }

    // A retiring worker still holds the actor's lease and store until it has closed; so does one
    // that opened this store file through the path it had before the repository moved.
    const retiring = worker ? undefined : (this.retiring.get(actor.dir) ?? this.openElsewhere(actor.dir, store));
    if (retiring) {
      await retiring.closed;
      return this.workerFor(request, warnings, forRepair);
    }
    if (!worker) {
      const repoRoot = mainWorktreeRoot(repository) ?? repository;
      const busy = this.declined.check({ repo_root: repoRoot, actor_id: actor.config.actor_id, data_dir: actor.dir }, warnings);
      if (busy) throw busy;
      worker = new ActorWorkerPool(
        {
          repoRoot,
          repository,
          repo: { commonDir: repo.commonDir, gritDir: repo.gritDir },
          actorDir: actor.dir,
          endpoint: this.opts.endpoints[0],
          gitSpawner: this.opts.gitSpawner,
        },
        actor.config.actor_id,
        (err, msg) => this.opts.logger.error({ err, actor: actor.config.actor_id }, msg),
      );
      this.workers.set(actor.dir, worker);
      this.opts.logger.info({ repo: repo.root, actor: actor.config.actor_id }, 'worker started');
      // Once this turn's routed requests are in their workers (each counts as in flight from then
      // on, so none is taken for idle): choosing now could retire a worker a request was just given.
      if (this.maxWorkers > 0 && this.workers.size > this.maxWorkers) setImmediate(() => this.retireBeyondCap());
    }
    return { worker, worktree: repo.root, settings: stamp };
  }

  /**
   * A worker under another actor dir with the store file `store` open, retired, or one retiring:
   * the repository moved, and the file is reached through its new path now. Two threads must never
   * open one LMDB file (docs/daemon.md, "A moved repository").
   */
  private openElsewhere(dir: string, store: string | null): { closed: Promise<void> } | undefined {
    if (store === null) return undefined;
    for (const [other, w] of this.workers) if (other !== dir && w.storeId === store) this.retire(other, w, 'its repository moved: the store is reached through another path');
    for (const [other, r] of this.retiring) if (other !== dir && r.worker.storeId === store) return r;
    return undefined;
  }

  /**
   * The worker for a store repair (`doctor --fix`): the actor's worker, if it has one, is retired
   * (its requests finish, its store closes, its lease goes), a fresh one runs the repair, and the
   * actor's other requests wait until `release`.
   */
  private async repairWorker(request: RepoRequest, warnings: string[]): Promise<Routed & { release: () => void }> {
    const { actor } = this.routes.resolve(request);
    for (let busy = this.repairs.get(actor.dir); busy; busy = this.repairs.get(actor.dir)) await busy;
    let release!: () => void;
    this.repairs.set(actor.dir, new Promise<void>((r) => (release = () => (this.repairs.delete(actor.dir), r()))));
    try {
      const worker = this.workers.get(actor.dir);
      if (worker) this.retire(actor.dir, worker, 'doctor --fix repairs its store');
      return { ...(await this.workerFor(request, warnings, true)), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  status(): DaemonStatus {
    return {
      running: true,
      pid: process.pid,
      endpoint: this.endpoints[0],
      endpoints: this.endpoints,
      notifications: this.opts.notifications ?? null,
      started_ts: this.startedTs,
      uptime_ms: Math.round(performance.now() - this.startedAt),
      requests: this.requests,
      idle_timeout_s: this.opts.idleTimeoutMs / 1000,
      worker_idle_timeout_s: (this.opts.workerIdleTimeoutMs ?? 0) / 1000,
      max_workers: this.maxWorkers,
      drain_timeout_s: this.drainMs / 1000,
      state: this.stopping ? 'stopping' : 'running',
      drain_left_s: this.stopping ? Math.max(0, Math.ceil((this.stopAt + this.drainMs - performance.now()) / 1000)) : null,
      version: this.opts.build?.version ?? null,
      build: this.opts.build?.build ?? null,
      workers: [...this.workers.values()].map((w) => w.info()),
      declined: this.declined.list(),
    };
  }

  private sweep(): void {
    if (this.stopping) return;
    if (!this.servers[0].holdsPath) {
      // Removed or replaced (by hand, or by a daemon of a grit without the start lock): nobody can
      // reach this daemon any more, and a daemon that can be reached may start in its place.
      this.opts.logger.warn({ endpoint: this.opts.endpoints[0] }, 'the socket file is no longer this daemon\'s');
      void this.stop('lost its socket');
      return;
    }
    const idleMs = this.opts.idleTimeoutMs;
    // A connected client or a watcher (`grit watch`) keeps the daemon up.
    const connected = this.servers.some((s) => s.connectionCount > 0) || (this.pub?.subscriberCount ?? 0) > 0;
    if (idleMs > 0 && this.inFlight === 0 && !connected && performance.now() - this.lastActivity >= idleMs) {
      void this.stop('idle');
      return;
    }
    const workerIdleMs = this.opts.workerIdleTimeoutMs ?? 0;
    if (workerIdleMs > 0) for (const [dir, worker] of this.workers) if (worker.idleFor(workerIdleMs)) this.retire(dir, worker, 'idle');
    // Over the cap because every worker was busy when the last one started: retired as they go idle.
    this.retireBeyondCap();
    this.spawnHelper?.check();
  }

  private get maxWorkers(): number {
    return this.opts.maxWorkers ?? MAX_WORKERS.default;
  }

  /**
   * Retires the least recently used idle workers until at most `maxWorkers` are left (each costs
   * its thread's heap, ~20 MB: docs/daemon.md, Memory). Through `retire`, as for idleness: a worker
   * with a request in flight is never chosen, and closing flushes its store. If all are busy the
   * daemon holds more for a while.
   */
  private retireBeyondCap(): void {
    if (this.stopping || this.maxWorkers === 0) return;
    while (this.workers.size > this.maxWorkers) {
      let lru: [string, ActorWorkerPool, number] | null = null;
      for (const [dir, worker] of this.workers) {
        const since = worker.idleSince();
        if (since !== null && (lru === null || since < lru[2])) lru = [dir, worker, since];
      }
      if (!lru) return;
      this.retire(lru[0], lru[1], `least recently used: the daemon keeps at most ${this.maxWorkers} workers (--max-workers)`);
    }
  }

  /**
   * Stops a worker once its work is done: an idle one (a thread and an open store per actor add up
   * for someone with many repositories), or one whose store file was replaced behind it.
   */
  private retire(dir: string, worker: ActorWorkerPool, why: string): void {
    this.workers.delete(dir);
    this.opts.logger.info({ actor: worker.actorId, repo: worker.setup.repoRoot }, `worker retired (${why})`);
    const closed = worker
      .close(this.drainMs)
      .catch((err) => this.opts.logger.error({ err, actor: worker.actorId }, 'retiring worker failed to close'))
      .finally(() => this.retiring.delete(dir));
    this.retiring.set(dir, { worker, closed });
  }

  /**
   * Lets the requests in flight finish until the drain deadline, declining new ones (the CLI runs
   * them itself); answers those still running then with an error saying so (`untilDrainDeadline`);
   * closes every worker (leases released, stores closed, threads stopped under what they still
   * ran, their git with the spawn helper); and lets go of its sockets, daemon.sock last: until
   * then it answers, so no other daemon starts in this run directory while this one holds any of
   * it (docs/daemon.md, Start-up). Nothing after the deadline waits for a request again.
   */
  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.stopAt = performance.now();
      this.opts.logger.info({ reason }, 'daemon stopping');
      if (this.sweepTimer) clearInterval(this.sweepTimer);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.running]), new Promise((r) => (timer = setTimeout(r, this.drainMs)))]);
      clearTimeout(timer);
      if (this.cutShort.size > 0) {
        this.opts.logger.warn({ requests: this.cutShort.size, drain_timeout_s: this.drainMs / 1000 }, 'drain deadline passed: the requests still running are cut short');
        for (const cut of this.cutShort) cut();
      }
      await this.pub?.close();
      for (const { worker } of this.retiring.values()) worker.stopWaiting();
      const closing = [...this.workers.values()].map((w) => w.close(0));
      await Promise.allSettled([...closing, ...[...this.retiring.values()].map((r) => r.closed)]);
      this.workers.clear();
      this.spawnHelper?.stop();
      // A request that came meanwhile is declined, not left unread: unread, the client could not
      // tell whether it ran.
      await Promise.all(this.servers.map((s) => s.close({ drain: true, lingerMs: LINGER_MS })));
      this.opts.logger.info('daemon stopped');
      this.markStopped();
    })();
    return this.stopping;
  }
}
