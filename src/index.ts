/**
 * grit's programmatic API, for oclif plugins and scripts (docs/plugins.md): open a repository as
 * an actor and run any grit command function by its IPC name (SPEC §7), getting exactly the
 * `data` that `--json` prints. Commands run in this process through the same path as the CLI.
 *
 * For long-running tools, `GritClient` talks to the user's daemon instead (SPEC §7), and
 * `GritClient.subscribe` delivers its notifications (EventApplied, WalSynced, LockChanged,
 * SnapshotCreated).
 *
 * An oclif plugin should use the API of the grit that runs it rather than a copy of its own:
 * `await import(pathToFileURL(join(this.config.root, this.config.pjson.main)).href)`, with
 * `import type … from 'grit'` for the types. `printResult` and `printError` print a plugin
 * command's outcome as grit's own commands print theirs.
 */
import type { Args } from './commands/args.js';
import { toGritError } from './core/errors.js';
import type { ContextOptions } from './commands/context.js';
import type { Dependent, IssueShowReply, ShownIssue, WriteReply } from './commands/issues.js';
import type { LockReply, LockStatusReply } from './commands/locks.js';
import type { EventJson } from './core/event.js';
import type { Issue, IssueSummary } from './core/projection.js';
import type { SyncResult } from './git/sync.js';

export { GritError, type ErrorCode } from './core/errors.js';
export { printError, printResult, type ResultOptions } from './cli/plugin-output.js';
export { GritClient, type ClientOptions, type RequestTarget, type WriteData, type IssueSummaryData } from './protocol/client.js';
export { NOTIFICATION_KINDS, type Notification, type NotificationKind } from './protocol/notifications.js';
export type { ProgressWatchOptions, Watch, WatchOptions } from './protocol/watch.js';
// A request's progress through the daemon (docs/daemon.md, "Progress"): `GritClient.watchProgress(token, …)`, then send the token.
export { decodeProgress, newProgressToken, progressTopic, type ProgressStep } from './protocol/progress.js';
export type { Args, Dependent, EventJson, IssueShowReply, Issue, IssueSummary, LockReply, LockStatusReply, ShownIssue, SyncResult, WriteReply };

type IssueRef = { issue_id: string };
type LockPlace = { remote?: string; local?: boolean };

/** Arguments and results of the commands plugins use most; every other command is `Args → unknown`. */
export interface CommandMap {
  IssueCreate: { args: { title: string; body?: string; labels?: string[] }; result: WriteReply };
  IssueUpdate: { args: IssueRef & { title?: string; body?: string }; result: WriteReply };
  IssueList: { args: { state?: 'open' | 'closed'; label?: string }; result: { issues: IssueSummary[]; total: number } };
  IssueShow: { args: IssueRef; result: IssueShowReply };
  IssueComment: { args: IssueRef & { body: string }; result: WriteReply };
  IssueClose: { args: IssueRef; result: WriteReply & { state: 'closed' } };
  IssueReopen: { args: IssueRef; result: WriteReply & { state: 'open' } };
  IssueLabelAdd: { args: IssueRef & { label: string }; result: WriteReply & { label: string; changed: boolean } };
  IssueLabelRemove: { args: IssueRef & { label: string }; result: WriteReply & { label: string; changed: boolean } };
  IssueAssigneeAdd: { args: IssueRef & { user: string }; result: WriteReply & { user: string; changed: boolean } };
  IssueAssigneeRemove: { args: IssueRef & { user: string }; result: WriteReply & { user: string; changed: boolean } };
  IssueLinkAdd: { args: IssueRef & { url: string; note?: string }; result: WriteReply };
  LockAcquire: { args: LockPlace & { resource: string } & LockTtl; result: LockReply };
  LockRenew: { args: LockPlace & { resource: string } & LockTtl; result: LockReply };
  LockRelease: { args: LockPlace & { resource: string }; result: LockReply };
  LockStatus: { args: Record<string, never>; result: LockStatusReply };
  Sync: { args: { pull?: boolean; push?: boolean; remote?: string }; result: SyncResult };
}

/**
 * A lock's time to live: `ttl` as a duration (`"15m"`) or a number of seconds, or `ttl_ms` in
 * milliseconds; not both (docs/locks.md).
 */
export type LockTtl = { ttl?: string | number; ttl_ms?: never } | { ttl?: never; ttl_ms?: number };

export type CommandName = keyof CommandMap;
export type ArgsOf<N extends string> = N extends CommandName ? CommandMap[N]['args'] : Args;
export type ResultOf<N extends string> = N extends CommandName ? CommandMap[N]['result'] : unknown;

export interface OpenOptions {
  /** Any directory inside the repository (default: the current directory). */
  cwd?: string;
  /** Actor id, unique prefix or label (default: the repo's default actor, SPEC §4); empty is refused. */
  actor?: string;
  /** Actor data directory; overrides `actor` (default: GRIT_HOME); empty is refused. */
  dataDir?: string;
}

export interface GritRepo {
  /** The working tree root. */
  readonly root: string;
  /** The actor commands run as. */
  readonly actorId: string;
  /** Runs a command function by IPC name; rejects with a GritError (its `code` is SPEC §6's). */
  run<N extends string>(name: N, args?: ArgsOf<N>): Promise<ResultOf<N>>;
}

/** Runs one command in the repository around `options.cwd`; the one-shot form of `openRepo(…).run`. */
export async function runCommand<N extends string>(name: N, args?: ArgsOf<N>, options: OpenOptions = {}): Promise<ResultOf<N>> {
  const { runLocal } = await import('./commands/run.js');
  try {
    return (await runLocal(name, (args ?? {}) as Args, toContextOptions(options))) as ResultOf<N>;
  } catch (err) {
    // The command functions name arguments as the CLI spells them (`--title is required`); an API
    // caller passed them by key (`title`). The actor's selection keeps `--actor`/`--data-dir`: a
    // plugin passes on its own flags of those names (docs/plugins.md), to be read as grit's.
    const [{ inKeyTerms }, { COMMANDS }] = await Promise.all([import('./commands/args.js'), import('./commands/registry.js')]);
    throw inKeyTerms(toGritError(err), COMMANDS[name]?.args ?? []);
  }
}

/**
 * Finds the repository and selects the actor now, so a wrong directory or actor fails here rather
 * than on the first command. Each `run` reads the WAL afresh: other processes may write meanwhile.
 */
export async function openRepo(options: OpenOptions = {}): Promise<GritRepo> {
  const ctxOptions = toContextOptions(options);
  const { RepoContext, worktreeRoot } = await import('./commands/context.js');
  const ctx = RepoContext.open(ctxOptions);
  const pinned = { ...ctxOptions, dataDir: ctx.actor.dir };
  await ctx.close();
  return {
    root: worktreeRoot(ctxOptions),
    actorId: ctx.actorId,
    run: (name, args) => runCommand(name, args, pinned),
  };
}

/** The IPC names this build of grit knows (SPEC §7). */
export async function commandNames(): Promise<string[]> {
  const { COMMANDS } = await import('./commands/registry.js');
  return Object.keys(COMMANDS);
}

function toContextOptions(o: OpenOptions): ContextOptions {
  return { cwd: o.cwd ?? process.cwd(), actor: o.actor, dataDir: o.dataDir };
}
