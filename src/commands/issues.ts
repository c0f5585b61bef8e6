/** Issue commands (SPEC §5), shared by the CLI and the daemon's workers. */
import { resolve } from 'node:path';
import { GritError, invalidArgs, quoted, refuseDirectoryPath } from '../core/errors.js';
import { eventToJson, type EventJson } from '../core/event.js';
import { fromHex, toHex } from '../core/hex.js';
import { newIssueId } from '../core/ids.js';
import type { DepType, EventKind, IssueState } from '../core/kinds.js';
import { mimeOfName } from '../core/mime.js';
import type { Issue, IssueSummary } from '../core/projection.js';
import { memberName } from '../core/set-member.js';
import { actorLabels } from './actors.js';
import { contentSha256, givenSha256, sha256OfFile } from './input-file.js';
import { assigneeArg, hasControl, labelArg, labelList, oneLine, oneOf, optLabel, optText, text, type Args } from './args.js';
import { withLockWarnings, type ContextOptions, type RepoContext } from './context.js';
import { isScriptUrl } from '../core/script-url.js';

export interface WriteReply {
  issue_id: string;
  event_id: string;
  wal_head: string;
  [extra: string]: unknown;
}

async function writeOne(ctx: RepoContext, issueHex: string, kind: EventKind): Promise<WriteReply> {
  const written = await ctx.write([{ issue_id: fromHex(issueHex, 16)!, kind }]);
  return withLockWarnings({ issue_id: issueHex, event_id: toHex(written.events[0].event_id), wal_head: written.wal_head }, written.warnings);
}

async function target(ctx: RepoContext, args: Args): Promise<Issue> {
  return ctx.resolveIssue(text(args, 'issue_id', { nonEmpty: true }));
}

export async function issueCreate(ctx: RepoContext, args: Args): Promise<WriteReply> {
  const title = oneLine(text(args, 'title', { nonEmpty: true }).trim(), 'title');
  const body = optText(args, 'body') ?? '';
  const labels = labelList(args);
  const issueId = newIssueId();
  return writeOne(ctx, toHex(issueId), { type: 'IssueCreated', title, body, labels });
}

/**
 * Sets the title and/or body. Written even when both already are so here (as close and label add
 * are, it settles a concurrent edit elsewhere); `changed: false` then says so.
 */
export async function issueUpdate(ctx: RepoContext, args: Args): Promise<WriteReply> {
  const title = optText(args, 'title')?.trim();
  const body = optText(args, 'body');
  if (title === undefined && body === undefined) {
    // The command line in backquotes: MCP and the API rename flags to argument names outside them only.
    throw invalidArgs('nothing to update: give --title or --body', { field: 'title' }, 'give --title or --body, for example `grit issue update <id> --title "…"`');
  }
  if (title === '') throw invalidArgs('--title must not be empty', { field: 'title' }, 'give a title: --title "…"');
  oneLine(title, 'title');
  const issue = await target(ctx, args);
  const changed = (title !== undefined && title !== issue.title) || (body !== undefined && body !== issue.body);
  return { ...(await writeOne(ctx, issue.issue_id, { type: 'IssueUpdated', title: title ?? null, body: body ?? null })), changed };
}

export async function issueList(ctx: RepoContext, args: Args): Promise<{ issues: IssueSummary[]; total: number }> {
  const state = oneOf<IssueState>(args, 'state', ['open', 'closed']);
  const only = optLabel(args);
  return ctx.read(() =>
    ctx.remember(`IssueList\u0000${state ?? ''}\u0000${only ?? ''}`, () => {
      const issues = ctx.store.listIssues({ state, label: only }).sort((a, b) => (a.issue_id < b.issue_id ? -1 : 1));
      return { issues, total: issues.length };
    }),
  );
}

/** A dependency another issue records on this one: "`issue_id` `dep_type` this issue". */
export interface Dependent {
  issue_id: string;
  dep_type: DepType;
}

/** `issue show`'s issue: the projected issue and, from the store's reverse index, its dependents. */
export interface ShownIssue extends Issue {
  dependents: Dependent[];
}

export interface IssueShowReply {
  issue: ShownIssue;
  events: EventJson[];
  /** The labels of the events' actors that this repository knows (`.git/grit/actors/<id>/`). */
  actor_labels: Record<string, string>;
}

export async function issueShow(ctx: RepoContext, args: Args): Promise<IssueShowReply> {
  const input = text(args, 'issue_id', { nonEmpty: true });
  return ctx.read(() => {
    const issue = ctx.findIssue(input);
    const events = ctx.store.mapIssueEvents(issue.issue_id, eventToJson);
    const dependents = ctx.store.dependentsOf(issue.issue_id).map(({ issue_id, dep_type }) => ({ issue_id, dep_type }));
    return { issue: { ...issue, dependents }, events, actor_labels: actorLabels(ctx.repo, events.map((e) => e.actor)) };
  });
}

export async function issueComment(ctx: RepoContext, args: Args): Promise<WriteReply> {
  const body = text(args, 'body', { nonEmpty: true });
  const issue = await target(ctx, args);
  return writeOne(ctx, issue.issue_id, { type: 'CommentAdded', body });
}

/**
 * Closes or reopens. The event is written even when the issue already is in that state here (a
 * concurrent reopen elsewhere must lose to it); `previous_state` and `changed` tell an agent that
 * raced another to it that the other got there first.
 */
async function setState(ctx: RepoContext, args: Args, state: IssueState): Promise<WriteReply> {
  const issue = await target(ctx, args);
  const written = await writeOne(ctx, issue.issue_id, { type: 'StateChanged', state });
  return { ...written, state, previous_state: issue.state, changed: issue.state !== state };
}

export const issueClose = (ctx: RepoContext, args: Args) => setState(ctx, args, 'closed');
export const issueReopen = (ctx: RepoContext, args: Args) => setState(ctx, args, 'open');

/**
 * The member a remove names: the stored one it equals exactly (in NFC, as the projection holds
 * members), else what `normalised` makes of it (refusing what no add could write). Members from
 * the WAL are SPEC's text, whoever wrote them: an empty label, one holding a newline or an escape,
 * one with its spaces (another writer, an older grit) can still be taken off by its exact text
 * (docs/decisions.md).
 */
function removedMember(given: string, has: readonly string[], normalised: () => string): string {
  const exact = memberName(given);
  return has.includes(exact) ? exact : normalised();
}

/**
 * Adds or removes a label or assignee. Removing one the issue does not have here is not_found, as
 * for a dependency: the remove would otherwise be written anyway and, being newer, win over an
 * add of it made meanwhile in another clone, one its writer never saw (docs/crdt.md). An add of a
 * member it has is written (it refreshes the add against a concurrent remove) and says
 * `changed: false`.
 */
function member(
  field: 'label' | 'user',
  make: (value: string) => EventKind,
  members: (issue: Issue) => string[],
  removes?: { list: string },
): (ctx: RepoContext, args: Args) => Promise<WriteReply> {
  return async (ctx, args) => {
    const normalised = () => (field === 'label' ? labelArg(args) : assigneeArg(args));
    // What an add writes is checked; a remove takes a stored member by its exact text (removedMember).
    const given = removes ? text(args, field) : oneLine(normalised(), field);
    const issue = await target(ctx, args);
    const has = members(issue);
    const value = removes ? removedMember(given, has, normalised) : given;
    if (removes && !has.includes(value)) {
      throw new GritError('not_found', `issue ${issue.issue_id.slice(0, 8)} has no ${field === 'user' ? 'assignee' : 'label'} ${quoted(value)}`, {
        details: { issue_id: issue.issue_id, [field]: value, [removes.list]: has },
        suggestion: `run \`grit issue show ${issue.issue_id.slice(0, 8)}\` to see its ${removes.list}`,
      });
    }
    return { ...(await writeOne(ctx, issue.issue_id, make(value))), [field]: value, changed: removes !== undefined || !has.includes(value) };
  };
}

const labels = (i: Issue) => i.labels;
const assignees = (i: Issue) => i.assignees;
export const issueLabelAdd = member('label', (label) => ({ type: 'LabelAdded', label }), labels);
export const issueLabelRemove = member('label', (label) => ({ type: 'LabelRemoved', label }), labels, { list: 'labels' });
export const issueAssigneeAdd = member('user', (user) => ({ type: 'AssigneeAdded', user }), assignees);
export const issueAssigneeRemove = member('user', (user) => ({ type: 'AssigneeRemoved', user }), assignees, { list: 'assignees' });

export async function issueLinkAdd(ctx: RepoContext, args: Args): Promise<WriteReply> {
  const url = text(args, 'url', { nonEmpty: true }).trim();
  // Such a link reaches every clone through sync: refused here (core/script-url.ts).
  if (isScriptUrl(url)) {
    throw invalidArgs(`--url must not be a ${url.split(':')[0].trim().toLowerCase()}: link (it would run code where the link is followed)`, { field: 'url' }, 'link an http(s) URL');
  }
  oneLine(url, 'url');
  // An absolute URL, scheme and all (what a browser or `git` can follow): a bare word is most
  // often the note given as the url, and a link nothing can open is worth nothing synced.
  if (!URL.canParse(url)) {
    throw invalidArgs(`--url must be a URL with its scheme, such as https://… (got ${quoted(url)})`, { field: 'url', value: url }, 'give the whole URL: --url https://example.com/issues/1 (a note goes in --note)');
  }
  // A URL holds no space (one is %20): `https://x/1 see logs` is most often a note run into the
  // url, and stored it showed as one link that nothing opens whole.
  if (/\s/.test(url)) {
    throw invalidArgs(`--url must not hold spaces (got ${quoted(url)})`, { field: 'url', value: url }, 'a space inside a URL is written %20; a note goes in --note');
  }
  const note = oneLine(optText(args, 'note'), 'note') ?? null;
  const issue = await target(ctx, args);
  return writeOne(ctx, issue.issue_id, { type: 'LinkAdded', url, note });
}

/**
 * type/subtype, with RFC 2045 parameters if given: `file --mime` (a common way to get the type)
 * prints `text/plain; charset=us-ascii`, which was refused.
 */
const MIME = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(?: *; *[a-z0-9!#$&^_.+-]+=(?:[a-z0-9!#$&^_.+-]+|"[^"\\\u0000-\u001f]*"))*$/i;

/** `issue attachment add`'s reply: the write's, and what was recorded. */
export interface AttachmentReply extends WriteReply {
  name: string;
  sha256: string;
  mime: string;
}

/**
 * Metadata only: a given file is hashed for the user, its bytes never enter the WAL; a `--sha256`
 * given with it must be the file's. Without a MIME type, the name's extension gives one
 * (core/mime.ts). A relative file is the caller's (its `cwd`), never the daemon's. The issue is
 * found before the file is read: a mistyped id is answered at once, whatever the file's size.
 */
export async function issueAttachmentAdd(ctx: RepoContext, args: Args, options: ContextOptions): Promise<AttachmentReply> {
  const file = optText(args, 'file');
  // Before the name is taken from it (`f.txt/` would give none) and the path resolved (which drops the slash).
  if (file !== undefined) refuseDirectoryPath(file);
  const given = givenSha256(optText(args, 'sha256'));
  const named = optText(args, 'name');
  const name = named ?? file?.split('/').pop();
  if (!name || name.trim() === '') throw invalidArgs('--name is required (or give a file path)', { field: 'name' }, 'give the file (`grit issue attachment add <id> <file>`), or --name with --sha256');
  // A name taken from the file is the file's to blame: "--name must be one line" named a flag not given.
  if (named === undefined && hasControl(name)) {
    throw invalidArgs(
      `the file's name ${JSON.stringify(name)} names the attachment, and a name must be one line without control characters`,
      { field: 'name', file },
      'give the attachment a name of one line with --name',
    );
  }
  oneLine(name, 'name');
  if (file === undefined && given === undefined) {
    throw invalidArgs('--sha256 is required (or give a file path)', { field: 'sha256' }, 'give the file, which is hashed for you, or --sha256 <64 hex> (`sha256sum <file>`)');
  }
  const mime = optText(args, 'mime') ?? mimeOfName(name);
  if (!MIME.test(mime)) throw invalidArgs('--mime must look like type/subtype, with any parameters as ; name=value', { field: 'mime', value: mime }, 'for example --mime text/plain, or leave it out to take it from the name');
  const issue = await target(ctx, args);
  const sha256 = file === undefined ? given! : contentSha256(await sha256OfFile(resolve(options.cwd ?? process.cwd(), file)), given, file);
  const written = await writeOne(ctx, issue.issue_id, { type: 'AttachmentAdded', name, sha256, mime });
  return { ...written, name, sha256: toHex(sha256), mime };
}
