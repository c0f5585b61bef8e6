/**
 * `export --format json|md|csv [--since ts|event_id] [--output path]` (SPEC §5, §6). Exports are
 * derived views written outside git's canonical data: by default into `<repo>/.grit/`, which gets
 * a `.gitignore` of `*` so they are never committed by accident.
 *
 * `--since` filters events: a timestamp (unix ms, or an ISO 8601 date) keeps events with a
 * greater ts; a full event id keeps the events after it in event order (ts, actor, event_id).
 * Issues in the export are then those with at least one kept event, in their current state.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { progressBar } from '../core/progress.js';
import { GritError, invalidArgs } from '../core/errors.js';
import { compareEvents, eventToJson, type Event } from '../core/event.js';
import { bytesEqual, compareBytes, fromHex, toHex } from '../core/hex.js';
import type { Issue } from '../core/projection.js';
import { writeFully } from '../git/objects.js';
import { oneOf, optInt, optText, type Args } from './args.js';
import { SINCE_MS } from './ranges.js';
import type { OutputSink, RepoContext } from './context.js';
import { plural } from '../core/plural.js';
import { visibleDeep } from '../core/terminal-safe.js';

export type ExportFormat = 'json' | 'md' | 'csv';
const EXT: Record<ExportFormat, string> = { json: 'json', md: 'md', csv: 'csv' };

export interface ExportResult {
  format: ExportFormat;
  output_path: string;
  wal_head: string | null;
  event_count: number;
  issue_count: number;
  /** The export itself, when it was asked for on standard output (`--output -`). */
  content?: string;
}

/** `--output -`: the export goes to standard output, through the reply (a daemon has no terminal). */
export const STDOUT = '-';

/** SPEC §2 output order for event lists: (issue_id, ts, actor, event_id). */
function compareForOutput(a: Event, b: Event): number {
  return compareBytes(a.issue_id, b.issue_id) || compareEvents(a, b);
}

type SinceFilter = (e: Event) => boolean;

function parseSince(all: readonly Event[], raw: string | undefined): SinceFilter | null {
  // An empty --since is refused below, not taken as none: `--since "$LAST"` unset is not "all".
  if (raw === undefined) return null;
  const s = raw.trim();
  if (/^[0-9a-f]{64}$/i.test(s)) {
    const id = fromHex(s, 32)!;
    const anchor = all.find((e) => bytesEqual(e.event_id, id));
    if (!anchor) {
      throw new GritError('not_found', `no event ${s.toLowerCase()}`, {
        details: { since: s },
        suggestion: 'give an event id from `grit issue show <id> --json`, or a timestamp',
      });
    }
    return (e) => compareEvents(e, anchor) > 0;
  }
  let ts: number;
  // Digits are a timestamp, refused beyond 2^53 - 1 rather than rounded to another one.
  if (/^\d+$/.test(s)) ts = optInt({ since: s }, 'since', SINCE_MS)!;
  else if (/^\d{4}-\d{2}-\d{2}/.test(s) && Number.isFinite(Date.parse(s))) ts = Date.parse(s);
  else {
    throw invalidArgs('--since must be a unix ms timestamp, an ISO 8601 date or a 64-hex event id', { field: 'since', value: s }, `for example --since 2025-01-01, or a timestamp from 0 to ${Number.MAX_SAFE_INTEGER} such as --since ${SINCE_MS.example}`);
  }
  return (e) => e.ts_unix_ms > ts;
}

// --- formats --------------------------------------------------------------------------------
// Each format is written as a sequence of pieces (an issue, an event, a row), never built whole:
// an export can be far larger than everything else the command holds (docs/operations.md).

interface ExportMeta {
  schema_version: number;
  generated_ts: number;
  wal_head: string | null;
  event_count: number;
}

/** `value` as `JSON.stringify(document, null, 2)` writes it `depth` levels in: JSON text has no raw line breaks. */
function nestedJson(value: unknown, depth: number): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, `\n${'  '.repeat(depth)}`);
}

/** A top-level array of the document, an element at a time. */
function* jsonArray<T>(items: readonly T[], toJson: (item: T) => unknown): Generator<string> {
  if (items.length === 0) {
    yield '[]';
    return;
  }
  for (const [n, item] of items.entries()) yield `${n === 0 ? '[' : ','}\n    ${nestedJson(toJson(item), 2)}`;
  yield '\n  ]';
}

/** The bytes of `JSON.stringify({ meta, issues, events }, null, 2)` and a newline. */
function* toJson(meta: ExportMeta, issues: readonly Issue[], events: readonly Event[]): Generator<string> {
  yield `{\n  "meta": ${nestedJson(meta, 1)},\n  "issues": `;
  yield* jsonArray(issues, (i) => i);
  yield ',\n  "events": ';
  yield* jsonArray(events, eventToJson);
  yield '\n}\n';
}

const iso = (ts: number) => new Date(ts).toISOString();

/** Text inside a Markdown list item or heading: no line breaks. */
const inline = (s: string) => s.replace(/\s*\n\s*/g, ' ');

function* toMarkdown(meta: ExportMeta, issues: readonly Issue[]): Generator<string> {
  yield ['# Issues', '', `Exported by grit at ${iso(meta.generated_ts)} from WAL ${meta.wal_head ?? '(empty)'}: ${plural(issues.length, 'issue')}.`, ''].join('\n');
  // Markdown is read with `cat` and a pager: text from the WAL (anyone's, through sync) has its
  // control characters shown, as in human output, never written raw (docs/decisions.md).
  for (const i of issues) yield `\n${markdownSection(visibleDeep(i)).join('\n')}`;
}

function markdownSection(i: Issue): string[] {
  const out = [`## ${inline(i.title)}`, ''];
  out.push(`- **ID:** \`${i.issue_id}\``);
  out.push(`- **State:** ${i.state}`);
  out.push(`- **Labels:** ${i.labels.length ? i.labels.map((l) => `\`${inline(l)}\``).join(', ') : '—'}`);
  out.push(`- **Assignees:** ${i.assignees.length ? i.assignees.map(inline).join(', ') : '—'}`);
  out.push(`- **Created:** ${iso(i.created_ts)} by \`${i.created_by}\``);
  out.push(`- **Updated:** ${iso(i.updated_ts)}`);
  for (const d of i.dependencies) out.push(`- **${d.dep_type.replace('_', ' ')}:** \`${d.target}\``);
  for (const l of i.links) out.push(`- **Link:** <${l.url}>${l.note ? ` — ${inline(l.note)}` : ''}`);
  for (const a of i.attachments) out.push(`- **Attachment:** ${inline(a.name)} (${a.mime}, sha256 \`${a.sha256}\`)`);
  out.push('');
  if (i.body.trim()) out.push(i.body.trimEnd(), '');
  if (i.comments.length) {
    out.push(`### Comments (${i.comments.length})`, '');
    for (const c of i.comments) out.push(`**\`${c.actor.slice(0, 8)}\`** at ${iso(c.ts_unix_ms)}:`, '', c.body.trimEnd(), '');
  }
  return out;
}

/**
 * RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF rows. Text
 * that a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, a tab or CR first: OWASP's CSV
 * injection list) gets a `'` before it: titles come from every actor through sync, and opening
 * the export must not run one. Numbers are written as they are.
 */
export function csvField(v: string | number): string {
  const s = typeof v === 'string' && /^[=+\-@\t\r]/.test(v) ? `'${v}` : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const CSV_COLUMNS = ['issue_id', 'title', 'state', 'labels', 'assignees', 'created_ts', 'updated_ts', 'comment_count'] as const;

function* toCsv(issues: readonly Issue[]): Generator<string> {
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  for (const i of issues) {
    const row = [i.issue_id, i.title, i.state, i.labels.join(';'), i.assignees.join(';'), i.created_ts, i.updated_ts, i.comment_count];
    yield `${row.map(csvField).join(',')}\r\n`;
  }
}

// --- the command -------------------------------------------------------------------------------

function defaultOutput(ctx: RepoContext, format: ExportFormat): string {
  const dir = join(ctx.repo.root, '.grit');
  mkdirSync(dir, { recursive: true });
  const ignore = join(dir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# grit exports: derived data, never committed\n*\n');
  return join(dir, `export.${EXT[format]}`);
}

export async function exportCommand(ctx: RepoContext, args: Args, stdout?: OutputSink): Promise<ExportResult> {
  const format = oneOf<ExportFormat>(args, 'format', ['json', 'md', 'csv']) ?? 'json';
  const since = optText(args, 'since');
  const output = optText(args, 'output');
  // Where it goes is settled before the work: a bad --output fails at once.
  const path = output === STDOUT ? STDOUT : output ? outputPath(ctx.repo.root, output) : defaultOutput(ctx, format);
  const wal_head = await ctx.refresh();
  const store = ctx.store;
  const all = [...store.allEvents()];
  const keep = parseSince(all, since);
  const events = (keep ? all.filter(keep) : all).sort(compareForOutput);
  const touched = keep ? new Set(events.map((e) => toHex(e.issue_id))) : null;
  const issues: Issue[] = [];
  const ids = [...store.issueIds()];
  const bar = progressBar('exporting', ids.length);
  for (const [n, id] of ids.entries()) {
    bar.update(n + 1);
    if (touched && !touched.has(id)) continue;
    const issue = store.getIssue(id);
    if (issue) issues.push(issue);
  }
  bar.done();
  issues.sort((a, b) => (a.issue_id < b.issue_id ? -1 : a.issue_id > b.issue_id ? 1 : 0));

  const meta: ExportMeta = { schema_version: 1, generated_ts: Date.now(), wal_head, event_count: events.length };
  const body = format === 'json' ? toJson(meta, issues, events) : format === 'md' ? toMarkdown(meta, issues) : toCsv(issues);
  const result = (output_path: string) => ({ format, output_path, wal_head, event_count: events.length, issue_count: issues.length });
  if (path !== STDOUT) {
    writeFile(path, inPieces(body));
    return result(path);
  }
  // Through a daemon (or the API) the export travels in the reply, which is one message.
  if (!stdout) return { ...result(STDOUT), content: [...body].join('') };
  stdout.begin(result(STDOUT));
  for (const piece of inPieces(body)) await stdout.write(piece);
  return result(STDOUT);
}

/** About this many characters are written at a time: enough to make few system calls, small beside the events held. */
export const PIECE_CHARS = 64 * 1024;

/** The text in pieces of about PIECE_CHARS, each made of whole parts (a surrogate pair is never split). */
function* inPieces(parts: Iterable<string>): Generator<string> {
  let piece = '';
  for (const part of parts) {
    piece += part;
    if (piece.length >= PIECE_CHARS) {
      yield piece;
      piece = '';
    }
  }
  if (piece) yield piece;
}

/** Written beside the target and renamed over it: a reader never sees half an export. */
function writeFile(path: string, pieces: Iterable<string>): void {
  const tmp = `${path}.${process.pid}.tmp`;
  let fd: number | null = null;
  try {
    makeParents(dirname(path));
    fd = openSync(tmp, 'w');
    for (const piece of pieces) writeFully(fd, Buffer.from(piece));
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    throw new GritError('io_error', `cannot write ${path}: ${(err as Error).message}`, { details: { path } });
  }
}

/**
 * `--output` as an absolute path. Missing parent directories are made only inside the worktree
 * (as `.grit/` is): elsewhere a typo would create directories anywhere (as root, at /), so there
 * the parent must exist. What is there already must be a regular file: the export is written
 * beside it and renamed over it, which would replace a device (`/dev/full`) or a pipe with a
 * plain file, and a daemon's `/dev/stdout` is not the caller's.
 */
function outputPath(root: string, output: string): string {
  const path = resolve(output);
  const existing = statSync(path, { throwIfNoEntry: false });
  if (existing && !existing.isFile()) {
    throw invalidArgs(
      `--output ${path} is ${existing.isDirectory() ? 'a directory' : 'not a regular file'}`,
      { field: 'output', value: output },
      'name a file to write (it is replaced whole), or `-o -` for standard output',
    );
  }
  const dir = dirname(path);
  const rel = relative(root, dir);
  const inside = rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
  if (inside || existsSync(dir)) return path;
  throw invalidArgs(
    `the directory of --output does not exist: ${dir}`,
    { field: 'output', value: output, directory: dir },
    `check the path, or create the directory first (\`mkdir -p ${dir}\`); grit makes missing directories only inside the repository`,
  );
}

/**
 * `mkdir -p` one level at a time from the nearest directory that exists. Not node's recursive
 * mkdir: on Node 20 it loops forever under /proc (`/proc/self/x/y`), which would hang the command
 * and, in a daemon, every later request of its actor; a plain mkdir there fails with ENOENT.
 */
function makeParents(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) mkdirSync(d);
}
