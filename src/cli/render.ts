/** Human renderings of command results. */
import type { IssueSummary } from '../core/projection.js';
import type { DepType } from '../core/kinds.js';
import type { IssueShowReply, ShownIssue } from '../commands/issues.js';
import type { ActorInfo } from '../commands/setup.js';
import { bold, cyan, dim, palette, relativeTime, short, singleLine, table, yellow, type Palette } from './format.js';
import { renderMarkdown } from './markdown.js';
import { plural } from '../core/plural.js';
import type { Parsed } from './output.js';

export interface WriteData {
  issue_id: string;
  event_id: string;
  wal_head: string;
}

/** "closed 1a2b3c4d", and " (already so)" when the write changed nothing here (`changed: false`). */
export const renderWrite =
  (verb: string) =>
  (d: WriteData & { changed?: boolean }): string =>
    `${verb} ${cyan(short(d.issue_id))}${d.changed === false ? dim(' (already so)') : ''}`;

/** An issue's state as shown; `null`: an issue this store has no events of (a dependency's target). */
export const stateLabel = (s: string | null, p: Palette = palette()): string =>
  s === null ? p.dim('unknown') : s === 'open' ? p.green('open') : p.dim('closed');

/**
 * A label or assignee among others joined with `,`: quoted (a `"` in it doubled) when it holds a
 * `,` or `"`, so that one such label cannot be read as two.
 */
const listItem = (s: string): string => (/[,"]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function renderIssueList(d: { issues: IssueSummary[]; total: number }, parsed?: Parsed): string {
  if (d.total === 0) {
    const filtered = parsed?.flags.state !== undefined || parsed?.flags.label !== undefined;
    return dim(filtered ? 'no issues match' : 'no issues (create one with `grit issue create --title "…"`)');
  }
  const p = palette();
  const now = Date.now();
  const rows = [['ID', 'STATE', 'TITLE', 'LABELS', 'UPDATED'].map((h) => p.bold(h))];
  const sorted = [...d.issues].sort((a, b) => b.updated_ts - a.updated_ts);
  for (const i of sorted) {
    rows.push([p.cyan(short(i.issue_id)), stateLabel(i.state, p), i.title, i.labels.map(listItem).join(','), p.dim(relativeTime(i.updated_ts, now))]);
  }
  // On a terminal long labels, then a long title, are cut so that each issue stays on one line:
  // the title is what people read. A narrow one loses the labels, then the times, before a title
  // is cut to nothing.
  return `${table(rows, { shrink: [3, 2], drop: [3, 4] })}\n${dim(plural(d.total, 'issue'))}`;
}

/** `issue list --format ids`: one full id a line, in the command's order, for `xargs` and loops. */
export function renderIssueIds(d: { issues: IssueSummary[] }): string {
  return d.issues.map((i) => i.issue_id).join('\n');
}

/** How a dependency another issue records on this one reads from this one's side. */
const SEEN_FROM_TARGET: Record<DepType, string> = { blocks: 'blocked by', depends_on: 'needed by', related_to: 'related to' };

/**
 * The issue's dependencies, then those others record on it. related_to goes both ways: one
 * recorded on each side is the same relation, listed once.
 */
function dependencyLines(i: ShownIssue): string[] {
  const lines = i.dependencies.map((dep) => `${dep.dep_type.replace('_', ' ')}: ${cyan(short(dep.target))}`);
  const related = new Set(i.dependencies.filter((dep) => dep.dep_type === 'related_to').map((dep) => dep.target));
  for (const dep of i.dependents) {
    if (dep.dep_type === 'related_to' && related.has(dep.issue_id)) continue;
    lines.push(`${SEEN_FROM_TARGET[dep.dep_type]}: ${cyan(short(dep.issue_id))}`);
  }
  return lines;
}

export function renderIssueShow(d: IssueShowReply): string {
  const i = d.issue;
  // An author by the label this repository knows it by, else by its id.
  const who = (actor: string) => d.actor_labels[actor] ?? short(actor);
  const lines = [
    `${bold(singleLine(i.title))} ${dim(`#${short(i.issue_id)}`)}`,
    `${stateLabel(i.state)} · opened ${relativeTime(i.created_ts)} by ${who(i.created_by)} · updated ${relativeTime(i.updated_ts)}`,
  ];
  // One line each, as a table's cells: a newline from the WAL (another writer's label) would split the row.
  if (i.labels.length) lines.push(`labels: ${i.labels.map((l) => yellow(singleLine(listItem(l)))).join(', ')}`);
  if (i.assignees.length) lines.push(singleLine(`assignees: ${i.assignees.map(listItem).join(', ')}`));
  if (i.body.trim()) lines.push('', renderMarkdown(i.body.trimEnd()));
  for (const l of i.links) lines.push(singleLine(`link: ${l.url}${l.note ? dim(` (${l.note})`) : ''}`));
  for (const a of i.attachments) lines.push(singleLine(`attachment: ${a.name} ${dim(`${a.mime} sha256:${a.sha256.slice(0, 12)}`)}`));
  lines.push(...dependencyLines(i));
  if (i.comments.length) {
    lines.push('', bold(plural(i.comments.length, 'comment')));
    for (const c of i.comments) {
      lines.push(`${dim(`── ${who(c.actor)} · ${relativeTime(c.ts_unix_ms)}`)}`, renderMarkdown(c.body.trimEnd()));
    }
  }
  return lines.join('\n');
}

export function renderActor(d: { actor: ActorInfo }): string {
  const a = d.actor;
  return table([
    ['actor', `${cyan(a.actor_id)}${a.is_default ? dim(' (default)') : ''}`],
    ['label', a.label || dim('-')],
    ['data dir', a.data_dir],
    ['signing key', a.public_key ? `ed25519 ${a.public_key.slice(0, 16)}…` : dim('none')],
  ]);
}

/** `actor init`: with the label of an actor that exists, that actor, and it is said. */
export function renderActorInit(d: { actor: ActorInfo; created: boolean }): string {
  const found = d.created ? '' : `${dim(`the actor labelled ${d.actor.label} exists already: this one (nothing created)`)}\n`;
  return found + renderActor(d);
}

export function renderActors(d: { actors: ActorInfo[] }): string {
  if (d.actors.length === 0) return dim('no actors yet (run `grit init`)');
  return table(d.actors.map((a) => [a.is_default ? '*' : ' ', cyan(a.actor_id), a.label || dim('-')]), { shrink: [2] });
}
