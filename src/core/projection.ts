/**
 * The CRDT fold of SPEC §2. `foldIssue` sorts the events it is given, so the result is the same
 * whatever order (and however many duplicates) they arrived in.
 *
 * Add/remove sets: a remove takes away the adds of its member up to its horizon (`removeHorizon`):
 * older than itself (an add in the same millisecond is concurrent, and wins) and no newer than its
 * parent, the newest add of its member its writer had seen (an add stamped after that one is one
 * its writer had not seen: concurrent, and it wins). A member is present when its newest add is
 * beyond the newest horizon of its removes (docs/crdt.md). Timestamps are compared exactly
 * (`ExactTs`): above 2^53 - 1 the numbers events keep are rounded, and one writer's events a step
 * apart would round to one (docs/wal.md, "Integers").
 */
import { compareEvents, compareUtf8, type Event } from './event.js';
import { bytesEqual, toHex } from './hex.js';
import type { DepType, EventKind, IssueState } from './kinds.js';
import { memberName } from './set-member.js';
import { exactTs, justBefore, type ExactTs } from './timestamp.js';

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

/**
 * Per member, the newest add's timestamp and the newest horizon of its removes (`removeHorizon`),
 * -1 for none, as the store keeps them (a bigint above 2^53 - 1: src/core/plain-cbor.ts `decodeRow`).
 */
export type Timestamps = [member: string, added: ExactTs, horizon: ExactTs][];

/**
 * The newest add timestamp a remove stamped `ts` takes away: older than itself, and no newer than
 * its parent's `parentTs` when its parent is an event of the issue (undefined: none, or one not
 * held). The parent is the newest add of its member its writer had seen (src/commands/context.ts
 * `newestAdd`), so an add stamped after it is one the writer had not seen. Compared by timestamp
 * alone, as the remove's own limit is (docs/crdt.md, "Add/remove sets").
 */
export function removeHorizon(ts: ExactTs, parentTs: ExactTs | undefined): ExactTs {
  const own = justBefore(ts);
  return parentTs !== undefined && parentTs < own ? parentTs : own;
}

/**
 * Whether a remove stamped `ts` takes away the add stamped `addTs` that it names as parent. It
 * does whenever it is stamped after it, as writers stamp it; not after an add stamped 2^64 - 1,
 * since no u64 is later and an add in the remove's own millisecond is concurrent with it.
 */
export function removeTakesAway(ts: ExactTs, addTs: ExactTs): boolean {
  return removeHorizon(ts, addTs) >= addTs;
}

/** `name`: the member an event's text is (labels and assignees: `memberName`); stored members already are. */
class AddRemoveSet {
  private readonly ts = new Map<string, [added: ExactTs, horizon: ExactTs]>();

  constructor(
    stored: Timestamps = [],
    private readonly name: (text: string) => string = (text) => text,
  ) {
    for (const [m, added, horizon] of stored) this.ts.set(m, [added, horizon]);
  }

  add(text: string, ts: ExactTs): void {
    const t = this.entry(this.name(text));
    if (ts > t[0]) t[0] = ts;
  }

  /** A remove, by its horizon (`removeHorizon`). */
  remove(text: string, horizon: ExactTs): void {
    const t = this.entry(this.name(text));
    if (horizon > t[1]) t[1] = horizon;
  }

  private entry(member: string): [ExactTs, ExactTs] {
    let t = this.ts.get(member);
    if (!t) this.ts.set(member, (t = [-1, -1]));
    return t;
  }

  members(): string[] {
    const out: string[] = [];
    // A horizon is never below -1 (no timestamp is negative), so a member never added stays out.
    for (const [m, [added, horizon]] of this.ts) if (added > horizon) out.push(m);
    return out.sort(compareUtf8);
  }

  timestamps(): Timestamps {
    return [...this.ts].map(([m, [added, horizon]]) => [m, added, horizon]);
  }
}

/**
 * An issue's dependencies as the add/remove set of SPEC §2, members `<target hex> <dep_type>`.
 * The newest add and horizon per member decide, so events may come in any order and twice.
 */
export class DependencySet {
  private readonly set: AddRemoveSet;

  constructor(stored: Timestamps = []) {
    this.set = new AddRemoveSet(stored);
  }

  /** Folds a DependencyAdded (at its timestamp) or a DependencyRemoved (at its horizon, `removeHorizon`). */
  take(kind: { type: 'DependencyAdded' | 'DependencyRemoved'; target: Uint8Array; dep_type: DepType }, at: ExactTs): void {
    const member = `${toHex(kind.target)} ${kind.dep_type}`;
    if (kind.type === 'DependencyAdded') this.set.add(member, at);
    else this.set.remove(member, at);
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
 * timestamps and horizons (a removed member is not in the projection, but its remove still beats
 * an older add) and the newest folded event, in event order. The store keeps it beside each issue.
 */
export interface FoldState {
  labels: Timestamps;
  assignees: Timestamps;
  dependencies: Timestamps;
  /** The newest folded event: ts, actor hex, event id hex (hex of equal length sorts like the bytes). */
  last: [ts: ExactTs, actor: string, event_id: string];
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

/** Whether an event is a remove from an add/remove set: the events whose parent the fold reads. */
function isRemove(e: Event): boolean {
  return removedMember(e.kind) !== null;
}

/** A dependency as its set's member: target and type. */
const depMember = (k: { target: Uint8Array; dep_type: DepType }): string => `dependency ${toHex(k.target)} ${k.dep_type}`;

/** The add/remove-set member a remove takes away (`label x`, `assignee u`, `dependency <target> <type>`), or null for any other kind. */
export function removedMember(kind: EventKind): string | null {
  switch (kind.type) {
    case 'LabelRemoved':
      return `label ${memberName(kind.label)}`;
    case 'AssigneeRemoved':
      return `assignee ${memberName(kind.user)}`;
    case 'DependencyRemoved':
      return depMember(kind);
    default:
      return null;
  }
}

/** Whether `kind` adds `member` (as `removedMember` names it); an IssueCreated adds each of its labels. */
export function addsMember(kind: EventKind, member: string): boolean {
  switch (kind.type) {
    case 'IssueCreated':
      return member.startsWith('label ') && kind.labels.some((label) => memberName(label) === member.slice(6));
    case 'LabelAdded':
      return member === `label ${memberName(kind.label)}`;
    case 'AssigneeAdded':
      return member === `assignee ${memberName(kind.user)}`;
    case 'DependencyAdded':
      return member === depMember(kind);
    default:
      return false;
  }
}

/**
 * Finds the timestamp of a remove's parent among the events folded before it: most often the one
 * just before it (what its writer had last seen, nothing concurrent in between), else through an
 * index of their ids built the first time it is needed, once per fold. A parent that sorts after
 * its remove is stamped no earlier, so it would not lower the horizon: looking before is enough.
 */
class ParentTimes {
  private ids: Map<string, ExactTs> | null = null;
  private indexed = 0;

  /** `last`: the newest event folded before `sorted` (none: `[-1, '', '']`). */
  constructor(
    private readonly sorted: readonly Event[],
    private readonly last: FoldState['last'],
  ) {}

  /** The timestamp of `sorted[i]`'s parent if that is `last` or an event before it in `sorted`. */
  of(i: number): ExactTs | undefined {
    const parent = this.sorted[i].parent;
    if (parent === null) return undefined;
    const before = i > 0 ? this.sorted[i - 1] : undefined;
    return before !== undefined && bytesEqual(before.event_id, parent) ? exactTs(before) : this.lookUp(parent, i);
  }

  private lookUp(parent: Uint8Array, i: number): ExactTs | undefined {
    const hex = toHex(parent);
    if (hex === this.last[2]) return this.last[0];
    const ids = (this.ids ??= new Map());
    for (; this.indexed < i; this.indexed++) ids.set(toHex(this.sorted[this.indexed].event_id), exactTs(this.sorted[this.indexed]));
    return ids.get(hex);
  }

  /** The `removeHorizon` of `sorted[i]`, a remove. */
  horizon(i: number): ExactTs {
    return removeHorizon(exactTs(this.sorted[i]), this.of(i));
  }
}

/** True when `e` sorts after the newest event folded into `state`. */
function isAfter(e: Event, last: FoldState['last']): boolean {
  const ts = exactTs(e);
  if (ts !== last[0]) return ts > last[0];
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
 * because some event sorts before the newest folded one, or a remove names a parent it cannot
 * place.
 */
export function foldMore(folded: Folded, events: readonly Event[]): Folded | null {
  // A state written by a store that has since been changed without it no longer describes the issue.
  const { issue, state } = folded;
  if (state.event_count !== issue.event_count || Number(state.last[0]) !== issue.updated_ts) return null;
  const sorted = sortedUnique(events);
  if (sorted.length > 0 && !isAfter(sorted[0], folded.state.last)) return null;
  // A remove's parent that is neither among these events nor the newest folded one may be an
  // older event of the issue, which only the full fold has in hand (or one it does not hold).
  const parents = new ParentTimes(sorted, state.last);
  if (sorted.some((e, i) => isRemove(e) && e.parent !== null && parents.of(i) === undefined)) return null;
  return new Folder(folded.issue, folded.state).fold(sorted, parents);
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
    this.labels = new AddRemoveSet(state.labels, memberName);
    this.assignees = new AddRemoveSet(state.assignees, memberName);
    this.deps = new DependencySet(state.dependencies);
    this.last = state.last;
  }

  fold(sorted: readonly Event[], parents = new ParentTimes(sorted, this.last)): Folded {
    for (let i = 0; i < sorted.length; i++) this.event(sorted[i], i, parents);
    const issue = this.issue;
    if (sorted.length > 0) {
      const newest = sorted[sorted.length - 1];
      this.last = [exactTs(newest), toHex(newest.actor), toHex(newest.event_id)];
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

  /** Folds `e`, which is `parents`' event `i`. */
  private event(e: Event, i: number, parents: ParentTimes): void {
    const issue = this.issue;
    const k = e.kind;
    issue.updated_ts = Math.max(issue.updated_ts, e.ts_unix_ms);
    switch (k.type) {
      case 'IssueCreated':
        // Event order makes the last writer the winner, for a (theoretical) second create too.
        issue.title = k.title;
        issue.body = k.body;
        for (const l of k.labels) this.labels.add(l, exactTs(e));
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
        this.labels.add(k.label, exactTs(e));
        break;
      case 'LabelRemoved':
        this.labels.remove(k.label, parents.horizon(i));
        break;
      case 'AssigneeAdded':
        this.assignees.add(k.user, exactTs(e));
        break;
      case 'AssigneeRemoved':
        this.assignees.remove(k.user, parents.horizon(i));
        break;
      case 'DependencyAdded':
        this.deps.take(k, exactTs(e));
        break;
      case 'DependencyRemoved':
        this.deps.take(k, parents.horizon(i));
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
