/**
 * The CRDT fold of SPEC §2. `foldIssue` sorts the events it is given, so the result is the same
 * whatever order (and however many duplicates) they arrived in.
 *
 * Add/remove sets: for each member the newest add and the newest remove are compared by
 * timestamp; the member is present when its add is at least as new. Events with the same
 * millisecond are taken as concurrent, and then the add wins.
 */
import { compareEvents, type Event } from './event.js';
import { toHex } from './hex.js';
import type { DepType, IssueState } from './kinds.js';

interface Authored {
  event_id: string;
  actor: string;
  ts_unix_ms: number;
}
export interface Comment extends Authored {
  body: string;
}
export interface Link extends Authored {
  url: string;
  note: string | null;
}
export interface Attachment extends Authored {
  name: string;
  sha256: string;
  mime: string;
}
export interface Dependency {
  target: string;
  dep_type: DepType;
}

export interface IssueSummary {
  issue_id: string;
  title: string;
  state: IssueState;
  labels: string[];
  assignees: string[];
  updated_ts: number;
  comment_count: number;
}

export interface Issue extends IssueSummary {
  body: string;
  created_ts: number;
  created_by: string;
  comments: Comment[];
  links: Link[];
  attachments: Attachment[];
  dependencies: Dependency[];
  event_count: number;
}

class AddRemoveSet {
  private readonly added = new Map<string, number>();
  private readonly removed = new Map<string, number>();

  add(member: string, ts: number): void {
    this.added.set(member, Math.max(ts, this.added.get(member) ?? -1));
  }

  remove(member: string, ts: number): void {
    this.removed.set(member, Math.max(ts, this.removed.get(member) ?? -1));
  }

  members(): string[] {
    const out: string[] = [];
    for (const [m, ts] of this.added) if (ts >= (this.removed.get(m) ?? -1)) out.push(m);
    return out.sort();
  }
}

function dedupeSorted(events: readonly Event[]): Event[] {
  const byId = new Map<string, Event>();
  for (const e of events) byId.set(toHex(e.event_id), e);
  return [...byId.values()].sort(compareEvents);
}

/** Folds one issue's events; null until its IssueCreated has arrived. */
export function foldIssue(events: readonly Event[]): Issue | null {
  const sorted = dedupeSorted(events);
  const created = sorted.find((e) => e.kind.type === 'IssueCreated');
  if (!created) return null;

  const labels = new AddRemoveSet();
  const assignees = new AddRemoveSet();
  const deps = new AddRemoveSet();
  const issue: Issue = {
    issue_id: toHex(created.issue_id),
    title: '',
    body: '',
    state: 'open',
    labels: [],
    assignees: [],
    updated_ts: 0,
    comment_count: 0,
    created_ts: created.ts_unix_ms,
    created_by: toHex(created.actor),
    comments: [],
    links: [],
    attachments: [],
    dependencies: [],
    event_count: sorted.length,
  };

  for (const e of sorted) {
    const meta = { event_id: toHex(e.event_id), actor: toHex(e.actor), ts_unix_ms: e.ts_unix_ms };
    const k = e.kind;
    issue.updated_ts = Math.max(issue.updated_ts, e.ts_unix_ms);
    switch (k.type) {
      case 'IssueCreated':
        // Sorted order makes the last writer the winner, for a (theoretical) second create too.
        issue.title = k.title;
        issue.body = k.body;
        for (const l of k.labels) labels.add(l, e.ts_unix_ms);
        break;
      case 'IssueUpdated':
        if (k.title !== null) issue.title = k.title;
        if (k.body !== null) issue.body = k.body;
        break;
      case 'StateChanged':
        issue.state = k.state;
        break;
      case 'CommentAdded':
        issue.comments.push({ ...meta, body: k.body });
        break;
      case 'LinkAdded':
        issue.links.push({ ...meta, url: k.url, note: k.note });
        break;
      case 'AttachmentAdded':
        issue.attachments.push({ ...meta, name: k.name, sha256: toHex(k.sha256), mime: k.mime });
        break;
      case 'LabelAdded':
        labels.add(k.label, e.ts_unix_ms);
        break;
      case 'LabelRemoved':
        labels.remove(k.label, e.ts_unix_ms);
        break;
      case 'AssigneeAdded':
        assignees.add(k.user, e.ts_unix_ms);
        break;
      case 'AssigneeRemoved':
        assignees.remove(k.user, e.ts_unix_ms);
        break;
      case 'DependencyAdded':
        deps.add(`${toHex(k.target)} ${k.dep_type}`, e.ts_unix_ms);
        break;
      case 'DependencyRemoved':
        deps.remove(`${toHex(k.target)} ${k.dep_type}`, e.ts_unix_ms);
        break;
      case 'ContextUpdated':
      case 'ProjectContextUpdated':
        break;
    }
  }
  issue.labels = labels.members();
  issue.assignees = assignees.members();
  issue.dependencies = deps.members().map((m) => {
    const [target, dep_type] = m.split(' ');
    return { target, dep_type: dep_type as DepType };
  });
  issue.comment_count = issue.comments.length;
  return issue;
}

export function summarize(i: Issue): IssueSummary {
  return {
    issue_id: i.issue_id,
    title: i.title,
    state: i.state,
    labels: i.labels,
    assignees: i.assignees,
    updated_ts: i.updated_ts,
    comment_count: i.comment_count,
  };
}
