/**
 * What each CLI command does with its parsed input, by oclif command id. Flags and help text live
 * in the command classes (src/cli/commands); this table is free of oclif so that the fast path
 * (src/cli/fast.ts) can run a command without loading it.
 */
import { join, relative, resolve } from 'node:path';
import { refuseDirectoryPath } from '../core/errors.js';
import { readBody, stdinSha256 } from './input.js';
import { dim, singleLine } from './format.js';
import type { CliAction } from './output.js';
import type { FormattedAction } from './output-format.js';
import { renderActor, renderActorInit, renderActors, renderIssueIds, renderIssueList, renderIssueShow, renderWrite } from './render.js';
import { OPS_ACTIONS } from './ops-actions.js';
import { SYNC_ACTIONS } from './sync-actions.js';
import { DAEMON_ACTIONS } from './daemon-actions.js';
import { DEP_ACTIONS } from './dep-actions.js';
import { CONTEXT_ACTIONS } from './context-actions.js';

/**
 * Where init's AGENTS.md is, as found from where the user is (grit runs inside the working tree):
 * `AGENTS.md` at its top, `../../AGENTS.md` below it, where "AGENTS.md: created" named a file
 * that is not there.
 */
const agentsMdShown = (root: string): string => relative(process.cwd(), join(root, 'AGENTS.md'));

const byId = (p: { args: Record<string, unknown> }) => ({ issue_id: p.args.id });

/** "added label bug to 1a2b3c4d", naming the member as the command stored it (trimmed). */
function member(ipc: string, field: 'label' | 'user', done: 'added' | 'removed'): CliAction {
  const what = `${done} ${field === 'user' ? 'assignee' : 'label'}`;
  const where = done === 'added' ? 'to' : 'from';
  return {
    ipc,
    toArgs: ({ args, flags }) => ({ issue_id: args.id, [field]: flags[field] }),
    render: (d) => renderWrite(`${what} ${singleLine(String(d[field]))} ${where}`)(d),
  };
}

/** A file argument made absolute; `f.txt/` is refused first, as typed (resolve() would drop the slash). */
const resolvedFile = (file: string): string => {
  refuseDirectoryPath(file);
  return resolve(file);
};

export const ACTIONS: Record<string, FormattedAction> = {
  init: {
    ipc: 'Init',
    toArgs: ({ flags }) => ({ no_agents_md: flags['no-agents-md'], generate_key: flags['generate-key'] }),
    render: (d) =>
      `${d.already_initialized ? 'grit was already initialized in' : 'initialized grit in'} ${d.repo_root}\n${renderActor(d)}${d.agents_md === 'skipped' ? '' : `\n${agentsMdShown(d.repo_root)}: ${d.agents_md.replace('_', ' ')}`}`,
  },
  ...OPS_ACTIONS, // rebuild, db, snapshot, doctor, export
  ...SYNC_ACTIONS, // sync, lock …
  ...DAEMON_ACTIONS, // daemon start|status|stop
  ...DEP_ACTIONS, // issue dep …
  ...CONTEXT_ACTIONS, // context index|query|show|project|set
  'actor:init': {
    ipc: 'ActorInit',
    toArgs: ({ flags }) => ({ label: flags.label, generate_key: flags['generate-key'] }),
    render: renderActorInit,
  },
  'actor:list': { ipc: 'ActorList', toArgs: () => ({}), render: renderActors, pages: true },
  'actor:show': { ipc: 'ActorShow', toArgs: ({ args }) => ({ id: args.id }), render: renderActor },
  'actor:current': { ipc: 'ActorCurrent', toArgs: () => ({}), render: renderActor },
  'actor:use': { ipc: 'ActorUse', toArgs: ({ args }) => ({ id: args.id }), render: renderActor },
  'issue:create': {
    ipc: 'IssueCreate',
    toArgs: async ({ flags }) => ({ title: flags.title, body: await readBody(flags), labels: flags.label ?? [] }),
    render: renderWrite('created'),
  },
  'issue:update': {
    ipc: 'IssueUpdate',
    toArgs: async ({ args, flags }) => ({ issue_id: args.id, title: flags.title, body: await readBody(flags) }),
    render: renderWrite('updated'),
  },
  'issue:list': {
    ipc: 'IssueList',
    toArgs: ({ flags }) => ({ state: flags.state, label: flags.label }),
    render: renderIssueList,
    formats: { table: renderIssueList, json: 'json', ids: renderIssueIds },
    pages: true,
    payload: ({ flags }) => flags.format === 'ids',
  },
  'issue:show': { ipc: 'IssueShow', toArgs: byId, render: renderIssueShow, pages: true },
  'issue:comment': {
    ipc: 'IssueComment',
    toArgs: async ({ args, flags }) => ({ issue_id: args.id, body: await readBody(flags) }),
    render: renderWrite('commented on'),
  },
  'issue:close': { ipc: 'IssueClose', toArgs: byId, render: renderWrite('closed') },
  'issue:reopen': { ipc: 'IssueReopen', toArgs: byId, render: renderWrite('reopened') },
  'issue:label:add': member('IssueLabelAdd', 'label', 'added'),
  'issue:label:remove': member('IssueLabelRemove', 'label', 'removed'),
  'issue:assignee:add': member('IssueAssigneeAdd', 'user', 'added'),
  'issue:assignee:remove': member('IssueAssigneeRemove', 'user', 'removed'),
  'issue:link:add': {
    ipc: 'IssueLinkAdd',
    toArgs: ({ args, flags }) => ({ issue_id: args.id, url: flags.url, note: flags.note }),
    render: renderWrite('linked'),
  },
  'issue:attachment:add': {
    ipc: 'IssueAttachmentAdd',
    // A relative path is resolved here: the command may run in a daemon with another cwd. `-` is
    // this process's standard input, which is hashed here for the same reason.
    toArgs: async ({ args, flags }) => ({
      issue_id: args.id,
      ...(args.file === '-'
        ? { sha256: await stdinSha256(flags) }
        : { file: args.file === undefined ? undefined : resolvedFile(args.file as string), sha256: flags.sha256 }),
      name: flags.name,
      mime: flags.mime,
    }),
    render: (d) => renderWrite(`attached ${d.name} ${dim(`(${d.mime}, sha256 ${d.sha256.slice(0, 12)})`)} to`)(d),
  },
};
