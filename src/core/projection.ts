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

/** Per member, the newest add and the newest remove timestamp (-1: none), as the store keeps them. */
export type Timestamps = [member: string, added: number, removed: number][];

class AddRemoveSet {
  private readonly ts = new Map<string, [added: number, removed: number]>();

  constructor(stored: Timestamps = []) {
    for (const [m, added, removed] of stored) this.ts.set(m, [added, removed]);
  }

  add(member: string, ts: number): void {
    const t = this.entry(member);
    t[0] = Math.max(ts, t[0]);
  }

  remove(member: string, ts: number): void {
    const t = this.entry(member);
    t[1] = Math.max(ts, t[1]);
  }

  private entry(member: string): [number, number] {
    let t = this.ts.get(member);
    if (!t) this.ts.set(member, (t = [-1, -1]));
    return t;
  }

  members(): string[] {
    const out: string[] = [];
    for (const [m, [added, removed]] of this.ts) if (added >= 0 && added >= removed) out.push(m);
    return out.sort();
  }

  timestamps(): Timestamps {
    return [...this.ts].map(([m, [added, removed]]) => [m, added, removed]);
  }
}

/**
 * An issue's dependencies as the add/remove set of SPEC §2, members `<target hex> <dep_type>`.
 * The newest add and remove per member decide, so events may come in any order and twice.
 */
export class DependencySet {
  private readonly set: AddRemoveSet;

  constructor(stored: Timestamps = []) {
    this.set = new AddRemoveSet(stored);
  }

  /** Folds a DependencyAdded or DependencyRemoved event. */
  take(kind: { type: 'DependencyAdded' | 'DependencyRemoved'; target: Uint8Array; dep_type: DepType }, ts: number): void {
    const member = `${toHex(kind.target)} ${kind.dep_type}`;
    if (kind.type === 'DependencyAdded') this.set.add(member, ts);
    else this.set.remove(member, ts);
  }

  members(): Dependency[] {
    return this.set.members().map((m) => {
      const [target, dep_type] = m.split(' ');
      return { target, dep_type: dep_type as DepType };
    });
  }

  timestamps(): Timestamps {
    return this.set.timestamps();
  }
}

/**
 * What folding more events onto an issue needs besides its projection: the add/remove sets'
 * timestamps (a removed member is not in the projection, but its remove still beats an older
 * add) and the newest folded event, in event order. The store keeps it beside each issue.
 */
export interface FoldState {
  labels: Timestamps;
  assignees: Timestamps;
  dependencies: Timestamps;
  /** The newest folded event: ts, actor hex, event id hex (hex of equal length sorts like the bytes). */
  last: [ts: number, actor: string, event_id: string];
  /** How many events were folded: a state that disagrees with its issue is not used. */
  event_count: number;
}

export interface Folded {
  issue: Issue;
  state: FoldState;
}

/** Event order (SPEC §2), duplicates (same event id, hence same sort key) dropped. */
function sortedUnique(events: readonly Event[]): Event[] {
  const sorted = [...events].sort(compareEvents);
  return sorted.filter((e, i) => i === 0 || compareEvents(sorted[i - 1], e) !== 0);
}

/** True when `e` sorts after the newest event folded into `state`. */
function isAfter(e: Event, last: FoldState['last']): boolean {
  if (e.ts_unix_ms !== last[0]) return e.ts_unix_ms > last[0];
  const actor = toHex(e.actor);
  if (actor !== last[1]) return actor > last[1];
  return toHex(e.event_id) > last[2];
}

/** Folds one issue's events; null until its IssueCreated has arrived. */
export function foldIssue(events: readonly Event[]): Issue | null {
  return foldIssueState(events)?.issue ?? null;
}

/** `foldIssue`, with the state that `foldMore` continues from. */
export function foldIssueState(events: readonly Event[]): Folded | null {
  const sorted = sortedUnique(events);
  const created = sorted.find((e) => e.kind.type === 'IssueCreated');
  if (!created) return null;
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
    event_count: 0,
  };
  return new Folder(issue, { labels: [], assignees: [], dependencies: [], last: [-1, '', ''], event_count: 0 }).fold(sorted);
}

/**
 * Folds `events` (new to the issue: none of them folded before) onto a stored fold, giving what
 * `foldIssueState` gives for all of the issue's events; null when that needs the full fold
 * because some event sorts before the newest folded one.
 */
export function foldMore(folded: Folded, events: readonly Event[]): Folded | null {
  // A state written by a store that has since been changed without it no longer describes the issue.
  const { issue, state } = folded;
  if (state.event_count !== issue.event_count || state.last[0] !== issue.updated_ts) return null;
  const sorted = sortedUnique(events);
  if (sorted.length > 0 && !isAfter(sorted[0], folded.state.last)) return null;
  return new Folder(folded.issue, folded.state).fold(sorted);
}

/** The fold of SPEC §2, one event at a time in event order, onto an issue and its state. */
class Folder {
  private readonly labels: AddRemoveSet;
  private readonly assignees: AddRemoveSet;
  private readonly deps: DependencySet;
  private last: FoldState['last'];

  constructor(
    private readonly issue: Issue,
    state: FoldState,
  ) {
    this.labels = new AddRemoveSet(state.labels);
    this.assignees = new AddRemoveSet(state.assignees);
    this.deps = new DependencySet(state.dependencies);
    this.last = state.last;
  }

  fold(sorted: readonly Event[]): Folded {
    for (const e of sorted) this.event(e);
    const issue = this.issue;
    if (sorted.length > 0) {
      const newest = sorted[sorted.length - 1];
      this.last = [newest.ts_unix_ms, toHex(newest.actor), toHex(newest.event_id)];
    }
    issue.event_count += sorted.length;
    issue.labels = this.labels.members();
    issue.assignees = this.assignees.members();
    issue.dependencies = this.deps.members();
    issue.comment_count = issue.comments.length;
    const state = {
      labels: this.labels.timestamps(),
      assignees: this.assignees.timestamps(),
      dependencies: this.deps.timestamps(),
      last: this.last,
      event_count: issue.event_count,
    };
    return { issue, state };
  }

  private event(e: Event): void {
    const issue = this.issue;
    const k = e.kind;
    issue.updated_ts = Math.max(issue.updated_ts, e.ts_unix_ms);
    switch (k.type) {
      case 'IssueCreated':
        // Event order makes the last writer the winner, for a (theoretical) second create too.
        issue.title = k.title;
        issue.body = k.body;
        for (const l of k.labels) this.labels.add(l, e.ts_unix_ms);
        break;
      case 'IssueUpdated':
        if (k.title !== null) issue.title = k.title;
        if (k.body !== null) issue.body = k.body;
        break;
      case 'StateChanged':
        issue.state = k.state;
        break;
      case 'CommentAdded':
        // Only comments, links and attachments record who wrote them: hex only for those. Written
        // out, not spread from a shared part: a spread makes a slow (dictionary) object, several
        // times the size of this one, and 100k of them cost the garbage collector.
        issue.comments.push({ event_id: toHex(e.event_id), actor: toHex(e.actor), ts_unix_ms: e.ts_unix_ms, body: k.body });
        break;
      case 'LinkAdded':
        issue.links.push({ event_id: toHex(e.event_id), actor: toHex(e.actor), ts_unix_ms: e.ts_unix_ms, url: k.url, note: k.note });
        break;
      case 'AttachmentAdded':
        issue.attachments.push({
          event_id: toHex(e.event_id),
          actor: toHex(e.actor),
          ts_unix_ms: e.ts_unix_ms,
          name: k.name,
          sha256: toHex(k.sha256),
          mime: k.mime,
        });
        break;
      case 'LabelAdded':
        this.labels.add(k.label, e.ts_unix_ms);
        break;
      case 'LabelRemoved':
        this.labels.remove(k.label, e.ts_unix_ms);
        break;
      case 'AssigneeAdded':
        this.assignees.add(k.user, e.ts_unix_ms);
        break;
      case 'AssigneeRemoved':
        this.assignees.remove(k.user, e.ts_unix_ms);
        break;
      case 'DependencyAdded':
      case 'DependencyRemoved':
        this.deps.take(k, e.ts_unix_ms);
        break;
      case 'ContextUpdated':
      case 'ProjectContextUpdated':
        break;
    }
  }
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
