/**
 * `GritClient`: talks to a running grit daemon from scripts and from the CLI. Each request names
 * the repository and actor it is for, so one client can drive many repositories.
 *
 *   const client = await GritClient.connect();
 *   const { issue_id } = await client.issueCreate({ title: 'Flaky test' }, { repoRoot: '/src/app' });
 */
import { isAbsolute } from 'node:path';
import { GritError, invalidArgs } from '../core/errors.js';
import { answeredBySupervisor } from '../commands/routing.js';
import type { Args } from '../commands/args.js';
import { daemonEndpoint } from './daemon-paths.js';
import {
  HEADER_ROOM,
  IPC_SCHEMA_VERSION,
  MAX_REPLY_BYTES,
  MAX_REQUEST_BYTES,
  decodeReply,
  encodeMessage,
  isUmask,
  mayHaveRun,
  requestTooLarge,
  type ArgNames,
  type IpcRequest,
  type WireFormat,
} from './messages.js';
import type { Notification } from './notifications.js';
import { TransportError } from './transport/errors.js';
import { ReqClient, type RequestOptions } from './transport/req.js';
import type { ProgressStep } from './progress.js';
import type { ProgressWatchOptions, Watch, WatchOptions } from './watch.js';

/** Which repository and actor a request acts on (SPEC §7 request fields). */
export interface RequestTarget {
  repoRoot: string;
  actorId?: string;
  dataDir?: string;
  /** Working directory for relative paths in arguments; defaults to repoRoot. */
  cwd?: string;
  /**
   * The variables the command is to read (src/core/forwarded-env.ts `forwardedEnv()`: the CLI
   * sends its own); any other name is refused. Absent: the daemon's own environment.
   */
  env?: Record<string, string>;
  /**
   * The umask the files the command makes (an export) are made with; the CLI sends its own.
   * Absent: the daemon's own.
   */
  umask?: number;
}

export interface ClientOptions {
  /** Defaults to this user's daemon socket (GRIT_RUN_DIR, $XDG_RUNTIME_DIR/grit or ~/.grit/run). */
  endpoint?: string;
  /** 'cbor' (default) or 'json'. */
  format?: WireFormat;
  /** Used when a call gives no target. */
  target?: RequestTarget;
  connectTimeoutMs?: number;
  /** Per request; 0 (default) waits as long as the command runs (a rebuild or sync can take a while). */
  requestTimeoutMs?: number;
  /** Gets each warning a reply carries (what the command would have printed on stderr in process). */
  onWarning?: (message: string) => void;
  /**
   * The build of grit the caller runs (src/core/build-info.ts), sent with each request: a daemon of
   * another build then declines (an ipc_error with `details.fallback` and `daemon_outdated`) and
   * stops. The CLI sets it; scripts need not.
   */
  clientBuild?: string;
  /**
   * How error messages name arguments (the request's `arg_names`): by their keys (`title is
   * required`, the default), or as the CLI's flags (`--title is required`), which the CLI asks for.
   */
  argNames?: ArgNames;
}

/** Per call: how long to wait, and a way to stop waiting. */
export interface CallOptions {
  /** Overrides the client's requestTimeoutMs for this call (0 = wait as long as it runs). */
  timeoutMs?: number;
  /** Stops waiting for the reply (it throws, as a timeout does; see `request`). */
  signal?: AbortSignal;
  /**
   * A token (src/protocol/progress.ts `newProgressToken`) under which the daemon publishes the
   * command's progress while it runs: subscribe to its `progressTopic` first (docs/daemon.md, "Progress").
   */
  progress?: string;
}

export interface WriteData {
  issue_id: string;
  event_id: string;
  wal_head: string;
  [extra: string]: unknown;
}

export interface IssueSummaryData {
  issue_id: string;
  title: string;
  state: 'open' | 'closed';
  labels: string[];
  assignees: string[];
  updated_ts: number;
  comment_count: number;
}

export class GritClient {
  private nextId = 1;
  /** Set by `close()`: the caller is done with this client, which then never dials again. */
  private closedByCaller = false;
  /** The dial under way after the daemon closed the connection: the requests sent meanwhile share it. */
  private redial: Promise<ReqClient> | null = null;

  private constructor(
    private req: ReqClient,
    private readonly endpoint: string,
    private readonly connectTimeoutMs: number,
    private readonly format: WireFormat,
    private readonly defaultTarget: RequestTarget | undefined,
    private readonly timeoutMs: number,
    private readonly onWarning: ((message: string) => void) | undefined,
    private readonly clientBuild: string | undefined,
    private readonly argNames: ArgNames | undefined,
  ) {}

  /** Connects, or throws `ipc_error` (details.transport_code tells why, e.g. ENOENT: no daemon). */
  static async connect(opts: ClientOptions = {}): Promise<GritClient> {
    const endpoint = opts.endpoint ?? daemonEndpoint();
    const connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    try {
      const req = await dial(endpoint, connectTimeoutMs);
      return new GritClient(req, endpoint, connectTimeoutMs, opts.format ?? 'cbor', opts.target, opts.requestTimeoutMs ?? 0, opts.onWarning, opts.clientBuild, opts.argNames);
    } catch (err) {
      throw transportFailure(err, `cannot reach the grit daemon at ${endpoint}`);
    }
  }

  /**
   * Runs one command by its IPC name; resolves to its `data`, or throws its GritError. A request
   * the daemon never got (its connection failed first) throws `ipc_error` with
   * `details.fallback: true`: running it again is safe. One it got and did not answer (the daemon
   * died, the timeout passed, the signal fired, the client was closed) throws `ipc_error` with
   * `details.may_have_run: true`: a write may have been written, and its suggestion says whether
   * running it again is safe (routing.ts `afterMaybeRun`).
   */
  async request<T = unknown>(name: string, args: Args = {}, target?: RequestTarget, options: CallOptions = {}): Promise<T> {
    const t = checkTarget(target ?? this.defaultTarget ?? (answeredBySupervisor(name) ? ABOUT_THE_DAEMON : undefined));
    if (this.closedByCaller) throw closedClient(name);
    const message: IpcRequest = {
      ipc_schema_version: IPC_SCHEMA_VERSION,
      request_id: this.nextId++,
      repo_root: t.repoRoot,
      actor_id: t.actorId ?? null,
      data_dir: t.dataDir ?? null,
      cwd: t.cwd ?? null,
      ...(t.env ? { env: t.env } : {}),
      ...(t.umask === undefined ? {} : { umask: t.umask }),
      ...(this.clientBuild ? { client_build: this.clientBuild } : {}),
      ...(this.argNames ? { arg_names: this.argNames } : {}),
      ...(options.progress ? { progress: options.progress } : {}),
      command: { [name]: args },
    };
    const encoded = await encodeMessage(message, this.format);
    // The daemon would only read it to refuse it: refuse it without sending it.
    if (encoded.length > MAX_REQUEST_BYTES - HEADER_ROOM) throw requestTooLarge(`the ${name} request`, encoded.length);
    let body: Buffer;
    try {
      body = await this.send(encoded, { timeoutMs: options.timeoutMs ?? this.timeoutMs, signal: options.signal });
    } catch (err) {
      throw this.closedByCaller && err instanceof TransportError && err.written === false ? closedClient(name) : requestFailure(err, name, args);
    }
    const reply = await decodeReply(body);
    if (this.onWarning && Array.isArray(reply.warnings)) for (const w of reply.warnings) if (typeof w === 'string') this.onWarning(w);
    if (reply.ok) return reply.data as T;
    throw GritError.fromJSON(reply.error);
  }

  /**
   * A client outlives the daemon's connection: one the daemon closed (it was stopped, restarted, or
   * replaced by another build's) is dialled again, and a request it dropped before the request was
   * sent whole is sent once more on the new one, since no daemon got it.
   */
  private async send(encoded: Uint8Array, options: RequestOptions): Promise<Buffer> {
    const req = await this.connection();
    try {
      return await req.request(encoded, options);
    } catch (err) {
      if (!(err instanceof TransportError) || err.written !== false || !req.closed || this.closedByCaller) throw err;
      return (await this.connection()).request(encoded, options);
    }
  }

  private connection(): Promise<ReqClient> {
    if (!this.req.closed || this.closedByCaller) return Promise.resolve(this.req);
    this.redial ??= dial(this.endpoint, this.connectTimeoutMs)
      .then((req) => {
        // close() came while dialling: the caller is done, and an open connection would keep its process alive.
        if (this.closedByCaller) req.close();
        return (this.req = req);
      })
      .catch((err: unknown) => {
        const cause = TransportError.from(err);
        throw new TransportError(cause.code, `dialling it again failed: ${cause.message}`, { cause, written: false });
      })
      .finally(() => (this.redial = null));
    return this.redial;
  }

  issueCreate(args: { title: string; body?: string; labels?: string[] }, target?: RequestTarget): Promise<WriteData> {
    return this.request('IssueCreate', { labels: [], ...args }, target);
  }

  issueList(
    args: { state?: 'open' | 'closed'; label?: string } = {},
    target?: RequestTarget,
  ): Promise<{ issues: IssueSummaryData[]; total: number }> {
    return this.request('IssueList', args, target);
  }

  issueShow(issueId: string, target?: RequestTarget): Promise<{ issue: Record<string, unknown>; events: unknown[] }> {
    return this.request('IssueShow', { issue_id: issueId }, target);
  }

  issueComment(issueId: string, body: string, target?: RequestTarget): Promise<WriteData> {
    return this.request('IssueComment', { issue_id: issueId, body }, target);
  }

  issueClose(issueId: string, target?: RequestTarget): Promise<WriteData & { state: string }> {
    return this.request('IssueClose', { issue_id: issueId }, target);
  }

  status(): Promise<Record<string, unknown>> {
    return this.request('DaemonStatus', {});
  }

  /** Closes the connection; the client cannot be used again (GritClient.connect makes a new one). */
  close(): void {
    this.closedByCaller = true;
    this.req.close();
  }

  /** Calls `onNotice` for each notification the daemon publishes until the watch is closed. */
  static async subscribe(onNotice: (n: Notification) => void, opts: WatchOptions = {}): Promise<Watch> {
    const { watchNotifications } = await import('./watch.js');
    return watchNotifications(onNotice, opts);
  }

  /**
   * Calls `onStep` with each step of the request sent with `{ progress: token }` (a token from
   * `newProgressToken()`), until the watch is closed; subscribe first (docs/daemon.md, "Progress").
   */
  static async watchProgress(token: string, onStep: (step: ProgressStep) => void, opts: ProgressWatchOptions = {}): Promise<Watch> {
    const { watchProgress } = await import('./watch.js');
    return watchProgress(token, onStep, opts);
  }
}

/**
 * The target of a request about the daemon itself (DaemonStatus, DaemonStop, DaemonStart) given
 * none: it is for no repository, but a repo_root goes all the same, since a daemon of an older
 * build refuses a request without one.
 */
const ABOUT_THE_DAEMON: RequestTarget = { repoRoot: '/' };

/** Each option of a RequestTarget, by the name of the request field it fills. */
const TARGET_OPTIONS: Readonly<Record<keyof RequestTarget, string>> = { repoRoot: 'repo_root', actorId: 'actor_id', dataDir: 'data_dir', cwd: 'cwd', env: 'env', umask: 'umask' };
const TARGET_SHAPE = 'a target is { repoRoot, actorId?, dataDir?, cwd?, env?, umask? }';
const ABSOLUTE = 'resolve it first, e.g. path.resolve(dir)';

/**
 * A target written wrong is the caller's mistake, said as such before anything is sent: the
 * daemon would only see a request without a repo_root (or with a mistyped field, or a relative path
 * and no cwd) and answer with an ipc_error about the wire. The IPC's own spelling (`repo_root`) is the likely slip.
 */
function checkTarget(t: RequestTarget | undefined): RequestTarget {
  if (!t) throw invalidArgs('no repository given: pass a target with repoRoot', {}, TARGET_SHAPE);
  const allowed = Object.keys(TARGET_OPTIONS);
  const unknown = Object.keys(t).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    const renames = unknown.flatMap((k) => allowed.filter((option) => TARGET_OPTIONS[option as keyof RequestTarget] === k).map((option) => `${option}, not ${k}`));
    const hint = renames.length > 0 ? ` (write ${renames.join('; ')})` : '';
    throw invalidArgs(`unknown target option ${unknown.join(', ')}${hint}`, { unknown, allowed }, TARGET_SHAPE);
  }
  if (typeof t.repoRoot !== 'string' || t.repoRoot === '') throw invalidArgs('the target has no repoRoot: pass the repository\'s path', { field: 'repoRoot' }, TARGET_SHAPE);
  for (const option of ['actorId', 'dataDir', 'cwd'] as const) {
    if (t[option] !== undefined && typeof t[option] !== 'string') throw invalidArgs(`the target's ${option} must be a string`, { field: option }, TARGET_SHAPE);
  }
  if (t.env !== undefined && (typeof t.env !== 'object' || t.env === null || Object.values(t.env).some((v) => typeof v !== 'string'))) {
    throw invalidArgs("the target's env must map variable names to strings", { field: 'env' }, TARGET_SHAPE);
  }
  if (t.umask !== undefined && !isUmask(t.umask)) {
    throw invalidArgs("the target's umask must be a whole number from 0 to 0o777", { field: 'umask' }, TARGET_SHAPE);
  }
  // The daemon takes a relative path from the request's cwd, never from its own directory.
  if (t.cwd !== undefined && !isAbsolute(t.cwd)) throw invalidArgs(`the target's cwd must be an absolute path, not ${t.cwd}`, { field: 'cwd' }, ABSOLUTE);
  for (const option of ['repoRoot', 'dataDir'] as const) {
    const path = t[option];
    if (path !== undefined && t.cwd === undefined && !isAbsolute(path)) {
      throw invalidArgs(`the target's ${option} must be an absolute path (or give a cwd to take it from), not ${path}`, { field: option }, ABSOLUTE);
    }
  }
  return t;
}

const dial = (endpoint: string, connectTimeoutMs: number): Promise<ReqClient> =>
  ReqClient.connect(endpoint, { connectTimeoutMs, requestTimeoutMs: 0, maxMessageSize: MAX_REPLY_BYTES + HEADER_ROOM });

/** A request on a client the caller closed: not sent, and no daemon is to blame. */
function closedClient(name: string): GritError {
  return new GritError('ipc_error', `${name} was not sent: this GritClient was closed (client.close())`, {
    details: { transport_code: 'closed', fallback: true },
    suggestion: 'connect a new client with GritClient.connect()',
  });
}

/**
 * Whether the daemon may have run a request it did not answer decides what the caller may do:
 * one it never got can run anywhere (the CLI runs it in-process); one it got may have written,
 * and running a write again could write it twice (messages.ts `mayHaveRun`).
 */
function requestFailure(err: unknown, name: string, args: Args): GritError {
  if (err instanceof TransportError && err.written === false) {
    return transportFailure(err, `the grit daemon did not get ${name}`, { fallback: true });
  }
  const code = err instanceof TransportError ? err.code : 'unknown';
  return mayHaveRun(`the grit daemon did not answer ${name} (${(err as Error).message}): it may have run or not`, name, args, { transport_code: code });
}

function transportFailure(err: unknown, message: string, details: Record<string, unknown> = {}): GritError {
  if (err instanceof GritError) return err;
  const code = err instanceof TransportError ? err.code : 'unknown';
  return new GritError('ipc_error', `${message}: ${(err as Error).message}`, {
    details: { transport_code: code, ...details },
    suggestion: 'start it with `grit daemon start`, or run the command with --no-daemon',
  });
}
