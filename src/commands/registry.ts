/**
 * Every command by its IPC name (SPEC §7: the CLI path in PascalCase). The CLI and the daemon's
 * workers both run commands through this table; each entry loads its module on first use so a
 * CLI invocation pays only for the command it runs.
 */
import { invalidArgs } from '../core/errors.js';
import { refuseDeepArgs, refuseIllFormedText, type Args } from './args.js';
import type { CommandEnv, ContextOptions, RepoContext } from './context.js';

export type CommandFn = (env: CommandEnv, args: Args) => Promise<unknown>;

interface CommandEntry {
  /**
   * Every argument the command reads (snake_case, as the CLI and the MCP tools send them). Any
   * other is refused: a misspelled one (`lables`) would otherwise be ignored and the command run
   * without it.
   */
  args: readonly string[];
  load: () => Promise<CommandFn>;
}

const withContext =
  (fn: (ctx: RepoContext, args: Args, options: ContextOptions) => Promise<unknown>): CommandFn =>
  (env, args) =>
    fn(env.context(), args, env.options);

const issues = () => import('./issues.js');
const deps = () => import('./deps.js');
const setup = () => import('./setup.js');
const db = () => import('./db-commands.js');
const snapshots = () => import('./snapshot-commands.js');
const context = () => import('./context-commands.js');
const locks = () => import('./locks.js');

const LOCK_PLACE = ['remote', 'local'];

export const COMMANDS: Record<string, CommandEntry> = {
  Init: { args: ['no_agents_md', 'generate_key'], load: async () => (await setup()).init },
  ActorInit: { args: ['label', 'generate_key'], load: async () => (await setup()).actorInit },
  ActorList: { args: [], load: async () => (await setup()).actorList },
  ActorShow: { args: ['id'], load: async () => (await setup()).actorShow },
  // The selected actor: an `id` would make it ActorShow.
  ActorCurrent: { args: [], load: async () => (await setup()).actorShow },
  ActorUse: { args: ['id'], load: async () => (await setup()).actorUse },
  Rebuild: { args: ['from_snapshot'], load: async () => withContext((await import('./rebuild.js')).rebuild) },
  DbStats: { args: [], load: async () => withContext((await db()).dbStats) },
  DbCheck: { args: [], load: async () => withContext((await db()).dbCheck) },
  DbVerify: { args: [], load: async () => withContext((await db()).dbVerify) },
  Snapshot: { args: [], load: async () => withContext((await snapshots()).snapshot) },
  SnapshotGc: { args: ['keep'], load: async () => withContext((await snapshots()).snapshotGc) },
  Doctor: { args: ['fix'], load: async () => (await import('./doctor.js')).doctor },
  Export: {
    args: ['format', 'since', 'output'],
    load: async () => {
      const { exportCommand } = await import('./export.js');
      return (env, args) => exportCommand(env.context(), args, env.options, env.stdout);
    },
  },
  IssueCreate: { args: ['title', 'body', 'labels'], load: async () => withContext((await issues()).issueCreate) },
  IssueUpdate: { args: ['issue_id', 'title', 'body'], load: async () => withContext((await issues()).issueUpdate) },
  IssueList: { args: ['state', 'label'], load: async () => withContext((await issues()).issueList) },
  IssueShow: { args: ['issue_id'], load: async () => withContext((await issues()).issueShow) },
  IssueComment: { args: ['issue_id', 'body'], load: async () => withContext((await issues()).issueComment) },
  IssueClose: { args: ['issue_id'], load: async () => withContext((await issues()).issueClose) },
  IssueReopen: { args: ['issue_id'], load: async () => withContext((await issues()).issueReopen) },
  IssueLabelAdd: { args: ['issue_id', 'label'], load: async () => withContext((await issues()).issueLabelAdd) },
  IssueLabelRemove: { args: ['issue_id', 'label'], load: async () => withContext((await issues()).issueLabelRemove) },
  IssueAssigneeAdd: { args: ['issue_id', 'user'], load: async () => withContext((await issues()).issueAssigneeAdd) },
  IssueAssigneeRemove: { args: ['issue_id', 'user'], load: async () => withContext((await issues()).issueAssigneeRemove) },
  IssueLinkAdd: { args: ['issue_id', 'url', 'note'], load: async () => withContext((await issues()).issueLinkAdd) },
  IssueAttachmentAdd: {
    args: ['issue_id', 'file', 'name', 'sha256', 'mime'],
    load: async () => withContext((await issues()).issueAttachmentAdd),
  },
  DaemonStart: { args: ['idle_timeout', 'worker_idle_timeout', 'max_workers', 'replace'], load: async () => (await import('./daemon.js')).daemonStart },
  DaemonStatus: { args: [], load: async () => (await import('./daemon.js')).daemonStatus },
  DaemonStop: { args: [], load: async () => (await import('./daemon.js')).daemonStop },
  IssueDepAdd: { args: ['issue_id', 'target', 'dep_type'], load: async () => withContext((await deps()).issueDepAdd) },
  IssueDepRemove: { args: ['issue_id', 'target', 'dep_type'], load: async () => withContext((await deps()).issueDepRemove) },
  IssueDepList: { args: ['issue_id', 'reverse'], load: async () => withContext((await deps()).issueDepList) },
  IssueDepTopo: { args: ['state', 'label'], load: async () => withContext((await deps()).issueDepTopo) },
  IssueDepGraph: { args: ['format'], load: async () => withContext((await deps()).issueDepGraph) },
  Sync: { args: ['pull', 'push', 'remote'], load: async () => withContext((await import('./sync.js')).sync) },
  LockAcquire: { args: ['resource', 'ttl', 'ttl_ms', ...LOCK_PLACE], load: async () => withContext((await locks()).lockAcquire) },
  LockRenew: { args: ['resource', 'ttl', 'ttl_ms', ...LOCK_PLACE], load: async () => withContext((await locks()).lockRenew) },
  LockRelease: { args: ['resource', ...LOCK_PLACE], load: async () => withContext((await locks()).lockRelease) },
  LockStatus: { args: [], load: async () => withContext((await locks()).lockStatus) },
  LockGc: { args: LOCK_PLACE, load: async () => withContext((await locks()).lockGc) },
  ContextIndex: { args: ['path', 'cwd', 'pattern', 'force'], load: async () => withContext((await import('./context-index.js')).contextIndex) },
  ContextQuery: { args: ['query', 'limit'], load: async () => withContext((await context()).contextQuery) },
  ContextShow: { args: ['path', 'cwd'], load: async () => withContext((await context()).contextShow) },
  ContextProject: { args: ['key'], load: async () => withContext((await context()).contextProject) },
  ContextSet: { args: ['key', 'value'], load: async () => withContext((await context()).contextSet) },
};

export function isCommandName(name: string): boolean {
  return Object.hasOwn(COMMANDS, name);
}

/**
 * Refuses arguments the command does not read, nested deeper than any it reads, and text no UTF-8
 * can hold, before it runs. The daemon's supervisor calls
 * this itself for the commands it answers without a command function (DaemonStatus, DaemonStop).
 */
export function checkArgs(name: string, args: Args): void {
  const allowed = COMMANDS[name].args;
  // From the API any value can come: a string's characters would be refused one by one as "unknown argument 0".
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    const got = Array.isArray(args) ? 'an array' : args === null ? 'null' : typeof args;
    throw invalidArgs(`the arguments of ${name} must be an object of named arguments, not ${got}`, { command: name, allowed: [...allowed] }, argsPlan(name, allowed));
  }
  const unknown = Object.keys(args).filter((k) => !allowed.includes(k));
  if (unknown.length === 0) {
    refuseDeepArgs(name, args);
    return refuseIllFormedText(name, args);
  }
  throw invalidArgs(
    `unknown argument${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')} for ${name}`,
    { command: name, unknown, allowed: [...allowed] },
    argsPlan(name, allowed),
  );
}

const argsPlan = (name: string, allowed: readonly string[]): string => (allowed.length ? `${name} takes ${allowed.join(', ')}` : `${name} takes no arguments`);

const loaded = new Map<string, CommandFn>();

/**
 * The function of a command, which checks its arguments (`checkArgs`) on every call: the CLI, the
 * MCP server, the API and the daemon's workers all get commands here, so none can skip the check.
 * Its module is loaded on first use and the function kept: a daemon worker runs thousands of
 * commands a second, and an `import()` of a loaded module still goes through the module loader
 * each time.
 */
export async function commandFn(name: string): Promise<CommandFn> {
  if (!isCommandName(name)) throw invalidArgs(`unknown command ${name}`, { command: name }, 'name a command in PascalCase, such as IssueList (SPEC §7)');
  let fn = loaded.get(name);
  if (!fn) {
    const run = await COMMANDS[name].load();
    fn = async (env, args) => {
      checkArgs(name, args);
      return run(env, args);
    };
    loaded.set(name, fn);
  }
  return fn;
}
