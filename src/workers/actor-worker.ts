/**
 * The body of a daemon worker thread: one per (repo, actor), run by a piscina pool of exactly one
 * thread. It keeps the actor's repository context (and so its LMDB store) open, holds the actor's
 * `daemon.lock` lease, group-commits concurrent writes, and runs the same command functions the
 * CLI runs. Replies are encoded here so the supervisor thread only passes bytes on. The worktrees
 * of the repository share it: each request brings its own (docs/daemon.md, "Worktrees").
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { RepoContext, type CommandEnv } from '../commands/context.js';
import { readActorDir } from '../commands/actors.js';
import { commandFn } from '../commands/registry.js';
import { repairsStore } from '../commands/routing.js';
import { GritError } from '../core/errors.js';
import { crashPoint } from '../core/fault.js';
import { loadFastHash } from '../core/hash.js';
import { warnings } from '../core/warnings.js';
import { noteWorktree, type RepoDirs } from '../git/repo.js';
import { KeptWalReader } from '../git/kept-wal-reader.js';
import { sharedPermAt } from '../git/shared-perm.js';
import { useSpawnHelper } from '../git/spawn-helper.js';
import { encodeMessageToPost, replyErrorTo, replyOk, withWarnings, type CommandRequest, type WireFormat } from '../protocol/messages.js';
import { notificationFor, type Notification } from '../protocol/notifications.js';
import { Lease } from './lease.js';
import { portProgress } from './progress-port.js';
import { clientGone, isGone } from './client-gone.js';
import { NO_PROGRESS } from '../core/progress.js';
import { commandEnv } from '../core/forwarded-env.js';

export interface WorkerSetup {
  /**
   * The repository it serves, as `daemon status` and the lease name it: its main worktree's root,
   * or its common git dir when that does not say (git/repo.ts `mainWorktreeRoot`). Not the
   * worktree of the request that started it, which may be removed while the worker serves the
   * others (docs/daemon.md, "Worktrees").
   */
  repoRoot: string;
  /** The repository the worker serves (RouteCache's `repository`): a request from another never reaches it. */
  repository: string;
  /** Where its git and grit state is, which all its worktrees share. */
  repo: RepoDirs;
  actorDir: string;
  endpoint: string;
  /** The daemon's spawn helper (src/git/spawn-helper.ts), if it has one. */
  gitSpawner?: string;
}

export type WorkerTask =
  | {
      op: 'run';
      request: CommandRequest;
      /** The root of the request's worktree, which the supervisor found from its repo_root. */
      worktree: string;
      format: WireFormat;
      /** The supervisor's stamp of the files the actor's settings come from (RepoContext.reloadSettingsIfChanged). */
      settings: string;
      /** What the supervisor had to say while routing the request (an actor created): the reply's first warnings. */
      warnings: string[];
      /** Where the command's progress goes, for a request that asked for it (`progress`: progress-port.ts). */
      progress?: MessagePort;
      /** A read's: set once its client has closed its connection, and it is not started then (client-gone.ts). */
      gone?: Int32Array;
    }
  /** Answered once this module has loaded and set itself up: the supervisor's sign that the thread started (actor-worker-pool.ts). */
  | { op: 'start' }
  | { op: 'close' };

type RunTask = Extract<WorkerTask, { op: 'run' }>;

/** An encoded reply, and what the supervisor should publish about it. */
export interface WorkerResult {
  reply: Uint8Array;
  notice: Notification | null;
  /** The reply is `db_busy`: another daemon holds the actor's lease, so this thread serves nothing. */
  declined: boolean;
}

const setup = workerData as WorkerSetup;
// A worker lives long and hashes every event it writes (its id, its chunk): WebAssembly from the start.
void loadFastHash();
useSpawnHelper(setup.gitSpawner ?? null);
let ctx: RepoContext | null = null;
let lease: Lease | null = null;

/**
 * Warnings given while requests run, which the next reply this thread sends carries to its client:
 * this thread's stderr reaches nobody. Usually that is the request that gave them; with several
 * in flight it may be another of this (repo, actor)'s. (Telling them apart exactly would take
 * AsyncLocalStorage, whose promise hooks cost every request here about a tenth of its time.)
 */
const unsent: string[] = [];
warnings.send = (message) => void unsent.push(message);
crashPoint('worker:start');

function context(): RepoContext {
  if (ctx) return ctx;
  const actor = readActorDir(setup.actorDir);
  if (!actor) throw new GritError('not_found', `no actor in ${setup.actorDir}`, { suggestion: 'run `grit actor list`' });
  const opened = new RepoContext(setup.repo, actor);
  opened.enableGroupCommit();
  opened.keepsReads = true;
  opened.unsyncedStore = true;
  opened.keptReader = new KeptWalReader(setup.repo.commonDir);
  return (ctx = opened);
}

/**
 * Takes the actor's lease on first use, and again once this thread's is not in daemon.lock any
 * more: taken over while the daemon was paused past its expiry (then `db_busy` from the daemon
 * holding it now, which retires this thread), or removed.
 */
function holdLease(): void {
  if (lease?.held()) return;
  const { actorId } = context();
  const info = { repo_root: setup.repoRoot, actor_id: actorId, ipc_endpoint: setup.endpoint };
  lease = Lease.acquire(setup.actorDir, info, sharedPermAt(setup.repo, setup.actorDir));
}

async function run({ request, worktree, settings, progress, gone }: RunTask): Promise<unknown> {
  // Tasks queue here, behind the thread's work: many may have waited for a client gone meanwhile.
  if (isGone(gone)) throw clientGone(request.name);
  faultOnRequest();
  const fn = await commandFn(request.name);
  noteWorktree(setup.repo.commonDir, worktree);
  if (!repairsStore(request.name, request.args)) holdLease();
  context().reloadSettingsIfChanged(settings);
  const env: CommandEnv = {
    // As the caller gave them: commands that describe the selection (doctor) say the same as locally.
    options: {
      cwd: request.cwd ?? worktree,
      worktree,
      actor: request.actor_id ?? undefined,
      dataDir: request.data_dir ?? undefined,
      // Built only by a command that reads it (sync, locks, context index): not on every read's path.
      get env() {
        return commandEnv(request.env);
      },
      umask: request.umask ?? undefined,
      // Never this thread's stderr, which reaches no terminal.
      progress: progress ? portProgress(progress) : NO_PROGRESS,
    },
    context,
  };
  return fn(env, request.args);
}

export default async function handle(task: WorkerTask): Promise<WorkerResult | null> {
  if (task.op === 'start') return null;
  if (task.op === 'close') {
    lease?.release();
    lease = null;
    await ctx?.close();
    ctx = null;
    return null;
  }
  const { request, worktree, format, progress } = task;
  let reply;
  let notice: Notification | null = null;
  let declined = false;
  try {
    const data = await run(task);
    reply = replyOk(request.request_id, data);
    notice = notificationFor(request.name, data, { repo_root: worktree, actor_id: context().actorId });
  } catch (err) {
    reply = replyErrorTo(request, err);
    declined = err instanceof GritError && err.code === 'db_busy' && 'owner_pid' in err.details;
  } finally {
    progress?.close();
  }
  // Kept for a reply that has someone to reach.
  const said = unsent.length && !isGone(task.gone) ? [...task.warnings, ...unsent.splice(0)] : task.warnings;
  return { reply: await encodeMessageToPost(withWarnings(reply, said), format), notice, declined };
}

const fault = process.env.GRIT_FAULT; // set when the daemon starts, read once: this runs per request

/**
 * Test hook for "a worker thread dies": GRIT_FAULT=worker:exit:<actor_id> ends this thread (not
 * the daemon) on every request for that actor.
 */
function faultOnRequest(): void {
  if (fault?.startsWith('worker:exit:') && context().actorId === fault.slice('worker:exit:'.length)) process.exit(70);
}
