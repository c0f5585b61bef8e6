/**
 * Every command by its IPC name (SPEC §7: the CLI path in PascalCase). The CLI and the daemon's
 * workers both run commands through this table; each entry loads its module on first use so a
 * CLI invocation pays only for the command it runs.
 */
import type { Args } from './args.js';
import type { CommandEnv, ContextOptions, RepoContext } from './context.js';

export type CommandFn = (env: CommandEnv, args: Args) => Promise<unknown>;
type Loader = () => Promise<CommandFn>;

const withContext =
  (fn: (ctx: RepoContext, args: Args, options: ContextOptions) => Promise<unknown>): CommandFn =>
  (env, args) =>
    fn(env.context(), args, env.options);

const issues = () => import('./issues.js');
const deps = () => import('./deps.js');
const setup = () => import('./setup.js');
const maintenance = () => import('./maintenance.js');
const context = () => import('./context-commands.js');

export const COMMANDS: Record<string, Loader> = {
  Init: async () => (await setup()).init,
  ActorInit: async () => (await setup()).actorInit,
  ActorList: async () => (await setup()).actorList,
  ActorShow: async () => (await setup()).actorShow,
  ActorCurrent: async () => (await setup()).actorShow,
  ActorUse: async () => (await setup()).actorUse,
  Rebuild: async () => withContext((await maintenance()).rebuild),
  DbStats: async () => withContext((await maintenance()).dbStats),
  DbCheck: async () => withContext((await maintenance()).dbCheck),
  DbVerify: async () => withContext((await maintenance()).dbVerify),
  Snapshot: async () => withContext((await maintenance()).snapshot),
  SnapshotGc: async () => withContext((await maintenance()).snapshotGc),
  Doctor: async () => (await import('./doctor.js')).doctor,
  Export: async () => withContext((await import('./export.js')).exportCommand),
  IssueCreate: async () => withContext((await issues()).issueCreate),
  IssueUpdate: async () => withContext((await issues()).issueUpdate),
  IssueList: async () => withContext((await issues()).issueList),
  IssueShow: async () => withContext((await issues()).issueShow),
  IssueComment: async () => withContext((await issues()).issueComment),
  IssueClose: async () => withContext((await issues()).issueClose),
  IssueReopen: async () => withContext((await issues()).issueReopen),
  IssueLabelAdd: async () => withContext((await issues()).issueLabelAdd),
  IssueLabelRemove: async () => withContext((await issues()).issueLabelRemove),
  IssueAssigneeAdd: async () => withContext((await issues()).issueAssigneeAdd),
  IssueAssigneeRemove: async () => withContext((await issues()).issueAssigneeRemove),
  IssueLinkAdd: async () => withContext((await issues()).issueLinkAdd),
  IssueAttachmentAdd: async () => withContext((await issues()).issueAttachmentAdd),
  DaemonStart: async () => (await import('./daemon.js')).daemonStart,
  DaemonStatus: async () => (await import('./daemon.js')).daemonStatus,
  DaemonStop: async () => (await import('./daemon.js')).daemonStop,
  IssueDepAdd: async () => withContext((await deps()).issueDepAdd),
  IssueDepRemove: async () => withContext((await deps()).issueDepRemove),
  IssueDepList: async () => withContext((await deps()).issueDepList),
  IssueDepTopo: async () => withContext((await deps()).issueDepTopo),
  IssueDepGraph: async () => withContext((await deps()).issueDepGraph),
  Sync: async () => withContext((await import('./sync.js')).sync),
  LockAcquire: async () => withContext((await import('./locks.js')).lockAcquire),
  LockRenew: async () => withContext((await import('./locks.js')).lockRenew),
  LockRelease: async () => withContext((await import('./locks.js')).lockRelease),
  LockStatus: async () => withContext((await import('./locks.js')).lockStatus),
  LockGc: async () => withContext((await import('./locks.js')).lockGc),
  ContextIndex: async () => withContext((await import('./context-index.js')).contextIndex),
  ContextQuery: async () => withContext((await context()).contextQuery),
  ContextShow: async () => withContext((await context()).contextShow),
  ContextProject: async () => withContext((await context()).contextProject),
  ContextSet: async () => withContext((await context()).contextSet),
};

export function isCommandName(name: string): boolean {
  return Object.hasOwn(COMMANDS, name);
}

const loaded = new Map<string, CommandFn>();

/**
 * The function of a command (`isCommandName`), its module loaded on first use and the function
 * kept: a daemon worker runs thousands of commands a second, and an `import()` of a loaded module
 * still goes through the module loader each time.
 */
export async function commandFn(name: string): Promise<CommandFn> {
  let fn = loaded.get(name);
  if (!fn) loaded.set(name, (fn = await COMMANDS[name]()));
  return fn;
}
