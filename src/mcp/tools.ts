/**
 * The MCP tools of `grit mcp`, as a table: each tool names the command function (IPC name, SPEC §7)
 * it runs and the JSON Schema of its arguments, which are the command's own snake_case arguments.
 * A tool whose command is not in the registry is simply not offered, so a tool for a command that
 * is still being written is one line here and appears once the command lands.
 *
 * Free of the MCP SDK so that the table can be read by tests and docs without loading it.
 */
import { invalidArgs } from '../core/errors.js';
import { labelList, type Args } from '../commands/args.js';
import { QUERY_LIMIT } from '../commands/ranges.js';

export type JsonSchema = { type: string | string[]; description?: string; [k: string]: unknown };

export interface ObjectSchema {
  type: 'object';
  properties: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties: false;
}

/** Runs one command function by IPC name; the server decides where (in process, or a daemon). */
export type Runner = (ipc: string, args: Args) => Promise<unknown>;

export interface ToolSpec {
  name: string;
  /** The command the tool needs; the tool is listed only while the registry has it. */
  ipc: string;
  description: string;
  input: ObjectSchema;
  /** Defaults to running `ipc` with the tool's arguments unchanged. */
  call?: (run: Runner, args: Args) => Promise<unknown>;
}

const str = (description: string, extra: Record<string, unknown> = {}): JsonSchema => ({ type: 'string', description, ...extra });
const bool = (description: string): JsonSchema => ({ type: 'boolean', description });
const strList = (description: string): JsonSchema => ({ type: 'array', items: { type: 'string' }, description });

function args(properties: Record<string, JsonSchema>, required: string[] = []): ObjectSchema {
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

const issueId = str('issue id, or a unique prefix of at least 4 hex characters');
const state = str('only issues in this state', { enum: ['open', 'closed'] });
const onIssue = (properties: Record<string, JsonSchema> = {}, required: string[] = []) =>
  args({ issue_id: issueId, ...properties }, ['issue_id', ...required]);
const lockPlace = {
  remote: str('remote to take the lock on (default: origin when configured)'),
  local: bool('local-only lock, even when a remote is configured (not with remote)'),
};

/** A JSON number is seconds, as on the CLI: a client that sends 3600 for an hour gets an hour. */
const ttl: JsonSchema = {
  type: ['string', 'number'],
  description: 'time to live: a duration such as "30s", "15m", "2h", or a number of seconds (default 5m, at most 30d)',
};

const limit: JsonSchema = {
  type: 'integer',
  minimum: QUERY_LIMIT.min,
  maximum: QUERY_LIMIT.max,
  description: `at most this many results (default ${QUERY_LIMIT.default}); "truncated" says whether there were more`,
};

export const MEMORY_LABEL = 'memory';

export const TOOLS: ToolSpec[] = [
  {
    name: 'issue_create',
    ipc: 'IssueCreate',
    description: 'Create an issue. Returns {issue_id, event_id, wal_head}.',
    input: args({ title: str('one-line title'), body: str('Markdown body'), labels: strList('labels to set') }, ['title']),
  },
  {
    name: 'issue_list',
    ipc: 'IssueList',
    description: 'List issues (summaries without bodies). Returns {issues, total}.',
    input: args({ state, label: str('only issues with this label') }),
  },
  {
    name: 'issue_show',
    ipc: 'IssueShow',
    description: 'One issue with body, comments, links, attachments, dependencies, dependents (edges other issues record on it) and its events. Returns {issue, events}.',
    input: onIssue(),
  },
  {
    name: 'issue_update',
    ipc: 'IssueUpdate',
    description: 'Change the title and/or body of an issue.',
    input: onIssue({ title: str('new title'), body: str('new Markdown body') }),
  },
  { name: 'issue_comment', ipc: 'IssueComment', description: 'Add a comment to an issue.', input: onIssue({ body: str('Markdown comment') }, ['body']) },
  { name: 'issue_close', ipc: 'IssueClose', description: 'Close an issue.', input: onIssue() },
  { name: 'issue_reopen', ipc: 'IssueReopen', description: 'Reopen a closed issue.', input: onIssue() },
  { name: 'label_add', ipc: 'IssueLabelAdd', description: 'Add a label to an issue.', input: onIssue({ label: str('label') }, ['label']) },
  { name: 'label_remove', ipc: 'IssueLabelRemove', description: 'Remove a label from an issue.', input: onIssue({ label: str('label') }, ['label']) },
  {
    name: 'issue_dep_add',
    ipc: 'IssueDepAdd',
    description: 'Record that an issue blocks, depends_on or is related_to another (cycles are refused with conflict).',
    input: onIssue({ target: str('the other issue: id or unique prefix'), dep_type: str('relation of issue_id to target', { enum: ['blocks', 'depends_on', 'related_to'] }) }, ['target', 'dep_type']),
  },
  {
    name: 'issue_dep_topo',
    ipc: 'IssueDepTopo',
    description: 'Issues in dependency order (what to work on first).',
    input: args({ state, label: str('only issues with this label') }),
  },
  {
    name: 'lock_acquire',
    ipc: 'LockAcquire',
    description: 'Take an advisory lock on repo:, path:<path> or issue:<id> for a TTL (e.g. "15m"). Fails with conflict when someone else holds it.',
    input: args({ resource: str('repo:, path:<path> or issue:<id>'), ttl, ...lockPlace }, ['resource']),
  },
  {
    name: 'lock_renew',
    ipc: 'LockRenew',
    description: 'Set the expiry of a lock you hold to now + TTL; a shorter TTL than it has left shortens it (long work: renew before it expires).',
    input: args({ resource: str('the locked resource'), ttl, ...lockPlace }, ['resource']),
  },
  {
    name: 'lock_release',
    ipc: 'LockRelease',
    description: 'Release a lock you hold.',
    input: args({ resource: str('the locked resource'), ...lockPlace }, ['resource']),
  },
  { name: 'lock_status', ipc: 'LockStatus', description: 'Live locks and conflicts between them.', input: args({}) },
  {
    name: 'context_index',
    ipc: 'ContextIndex',
    // No `cwd`: the CLI sends its directory, which a relative path is read against first; a tool's caller has none, so a path is the root's.
    description:
      'Index the code symbols of the tracked files, for context_query. Incremental: only files changed since they were last indexed are read. Returns {files, indexed, unchanged, removed, symbols, languages, warnings, …}.',
    input: args({
      path: str('only this directory or file, relative to the repository root'),
      pattern: str('only files matching this glob ("*.ts", "src/**/*.py")'),
      force: bool('index unchanged files again too'),
    }),
  },
  {
    name: 'context_query',
    ipc: 'ContextQuery',
    description: 'Find where code symbols are defined, by name. "indexed": false in the reply means nothing is indexed yet: call context_index first.',
    input: args({ query: str('what to look for'), limit }, ['query']),
  },
  {
    name: 'context_project',
    ipc: 'ContextProject',
    description: 'Read the project context: every key and value, or the one key given (not_found when it is not set).',
    input: args({ key: str('one key to read (default: all)') }),
  },
  {
    name: 'context_set',
    ipc: 'ContextSet',
    description: 'Set a project context key.',
    input: args({ key: str('key'), value: str('value') }, ['key', 'value']),
  },
  {
    name: 'sync',
    ipc: 'Sync',
    description: 'Exchange events with a remote (pull, rebase, push). Neither pull nor push means both.',
    input: args({ pull: bool('pull'), push: bool('push'), remote: str('remote name, URL or path (default origin)') }),
  },
  {
    name: 'memory_store',
    ipc: 'IssueCreate',
    description: `Remember something for later sessions: an issue labelled "${MEMORY_LABEL}". Returns {issue_id, event_id, wal_head}.`,
    input: args({ title: str('what to remember, in one line'), body: str('details (Markdown)'), labels: strList('extra labels') }, ['title']),
    // Checked as IssueCreate checks `labels` before it is spread: a text ("howto") is refused, not h, o, w, t, o.
    call: (run, a) => run('IssueCreate', { ...a, labels: [MEMORY_LABEL, ...labelList(a)] }),
  },
  {
    name: 'memory_query',
    ipc: 'IssueList',
    description: `Recall memories: issues labelled "${MEMORY_LABEL}" whose title or body contains the text (case-insensitive; all when empty). Returns {memories, total}.`,
    input: args({ query: str('text to look for'), state }),
    call: memoryQuery,
  },
];

export interface Memory {
  issue_id: string;
  title: string;
  body: string;
  labels: string[];
  state: string;
  updated_ts: number;
}

/** Summaries carry no body, so each memory is read whole; memories are few by nature. */
async function memoryQuery(run: Runner, a: Args): Promise<{ memories: Memory[]; total: number }> {
  const query = a.query === undefined || a.query === null ? '' : a.query;
  if (typeof query !== 'string') throw invalidArgs('query must be text', { field: 'query' }, 'pass query as a string, or leave it out to list every memory');
  const needle = query.toLowerCase();
  const { issues } = (await run('IssueList', { label: MEMORY_LABEL, state: a.state })) as { issues: { issue_id: string }[] };
  const memories: Memory[] = [];
  for (const summary of issues) {
    const { issue } = (await run('IssueShow', { issue_id: summary.issue_id })) as { issue: Memory };
    if (needle && !issue.title.toLowerCase().includes(needle) && !issue.body.toLowerCase().includes(needle)) continue;
    const { issue_id, title, body, labels, state: s, updated_ts } = issue;
    memories.push({ issue_id, title, body, labels, state: s, updated_ts });
  }
  memories.sort((x, y) => y.updated_ts - x.updated_ts);
  return { memories, total: memories.length };
}
