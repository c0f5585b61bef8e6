/**
 * `export --format json|md|csv [--since ts|event_id] [--output path]` (SPEC §5, §6). Exports are
 * derived views written outside git's canonical data: by default into `<repo>/.grit/`, which gets
 * a `.gitignore` of `*` so they are never committed by accident.
 *
 * `--since` filters events: a timestamp (unix ms, or an RFC 3339 date or date-time) keeps events with a
 * greater ts; a full event id keeps the events after it in event order (ts, actor, event_id).
 * Issues in the export are then those with at least one kept event, in their current state.
 */
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readlinkSync, realpathSync, rmdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isWithin } from '../core/path-within.js';
import { diskFullError } from '../core/disk-full.js';
import { letSignalsIn, removeOnSignal } from '../core/remove-on-signal.js';
import { terminalProgress, type ProgressSink } from '../core/progress.js';
import { GritError, invalidArgs } from '../core/errors.js';
import { eventToJson, type Event } from '../core/event.js';
import { bytesEqual, fromHex, toHex } from '../core/hex.js';
import { compareInEventOrder, ISSUE_BYTES, logKeyEventId, logKeyExactTs, logKeyTs } from '../core/log-key.js';
import { U64_MAX } from '../core/timestamp.js';
import type { Issue } from '../core/projection.js';
import type { StoreSnapshot } from '../core/store.js';
import { writeFully } from '../core/write-fully.js';
import { writeNewFile } from '../core/write-new-file.js';
import { replaceFileWith, tempSerial } from '../core/replace-file.js';
import { worktreeGitDir } from '../git/repo.js';
import { oneOf, optInt, optText, type Args } from './args.js';
import { SINCE_MS } from './ranges.js';
import { worktreeRoot, type ContextOptions, type OutputSink, type RepoContext } from './context.js';
import { plural } from '../core/plural.js';
import { visibleDeep } from '../core/terminal-safe.js';
import { exportTempName } from './temp-files.js';
import { shellWord } from '../core/shell-word.js';
import { isScriptUrl } from '../core/script-url.js';

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

/**
 * Which events `--since` keeps, judged by their log keys (log-key.ts), which hold the timestamp
 * and the event order: events that are left out are never read.
 */
type KeyFilter = (logKey: Buffer) => boolean;

/** The log key of the event with this id (a copy), found among the keys alone; null if there is none. */
function logKeyOfEvent(snapshot: StoreSnapshot, id: Uint8Array): Buffer | null {
  for (const key of snapshot.logKeys()) if (bytesEqual(logKeyEventId(key), id)) return Buffer.from(key);
  return null;
}

/**
 * RFC 3339's forms of a time (ISO 8601's profile of it): a date, or a date and a time of day to
 * the minute, second or fraction, with an offset (`Z`, `±hh:mm`) or without one, which is UTC, as
 * a date alone is. Not Date.parse: it reads a date-time without an offset in the local zone (and
 * a daemon's zone is not its caller's) while it reads a date as UTC, takes text of no standard
 * (`2026-12-06 EST`, `12:00 PM`), and moves a day that does not exist (2025-02-30) to March.
 */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:Z|([+-])(\d{2}):(\d{2}))?)?$/i;

/** What `--since` says the accepted times are. */
const ISO_FORMS = '2025-01-01, 2025-01-01T12:00, 2025-01-01T12:00:30.5Z, 2025-01-01T12:00+02:00; a time without an offset is UTC';

/** The unix ms time of RFC 3339 text (ISO_TIME), or null for other text or a time that does not exist. */
function parseIsoTime(s: string): number | null {
  const m = ISO_TIME.exec(s);
  if (!m) return null;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 6, 9, 10].map((i) => Number(m[i] ?? 0));
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return null;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day); // Date.UTC would take years 0-99 as 1900-1999
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  const offset = (m[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  const ms = Number((m[7] ?? '').slice(0, 3).padEnd(3, '0')); // finer than a millisecond: dropped
  return date.getTime() + ((hour * 60 + minute - offset) * 60 + second) * 1000 + ms;
}

/**
 * `since`: text, or a JSON number (IPC, MCP, the API), which is a unix ms timestamp as the CLI's
 * digits are (SPEC §6 calls it a ts).
 */
function sinceArg(args: Args): string | number | undefined {
  const v = args.since;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'number') return v;
  throw notASince(v);
}

const notASince = (v: unknown) =>
  invalidArgs(
    `--since must be a unix ms timestamp, an RFC 3339 (ISO 8601) date or date-time (${ISO_FORMS}), or a 64-hex event id`,
    { field: 'since', value: v, forms: ISO_FORMS },
    `give --since a date such as 2025-01-01 or a date-time such as 2025-01-01T12:00Z, or a unix ms timestamp (a whole number, 0 or more) such as ${SINCE_MS.example}`,
  );

function parseSince(snapshot: StoreSnapshot, s: string | number | undefined): KeyFilter | null {
  // An empty --since is refused below, not taken as none: `--since "$LAST"` unset is not "all".
  // Not trimmed: a number with spaces around it is refused (args.ts `optInt`), and so is the rest.
  if (s === undefined) return null;
  if (typeof s === 'string' && /^[0-9a-f]{64}$/i.test(s)) {
    const anchor = logKeyOfEvent(snapshot, fromHex(s, 32)!);
    if (!anchor) {
      throw new GritError('not_found', `no event ${s.toLowerCase()}`, {
        details: { since: s },
        suggestion: 'give an event id from `grit issue show <id> --json`, or a timestamp',
      });
    }
    return (key) => compareInEventOrder(key, anchor) > 0;
  }
  if (typeof s === 'string' && /^\d{16,}$/.test(s) && BigInt(s) > Number.MAX_SAFE_INTEGER) return sinceU64(BigInt(s), s);
  // Digits are a timestamp, refused beyond 2^53 - 1 rather than rounded to another one.
  const ts = typeof s === 'number' || /^\d+$/.test(s) ? optInt({ since: s }, 'since', SINCE_MS)! : parseIsoTime(s);
  if (ts === null) throw notASince(s);
  return (key) => logKeyTs(key) > ts;
}

/**
 * `--since` digits above 2^53 - 1, up to SPEC's u64: compared with the exact timestamp a log key
 * holds (docs/wal.md, "Integers"), which its number would round. (A JSON number that large is
 * rounded already: refused by `optInt`.)
 */
function sinceU64(ts: bigint, text: string): KeyFilter {
  if (ts > U64_MAX) {
    throw invalidArgs(
      `--since is too large: at most ${U64_MAX}`,
      { field: 'since', value: text, min: 0, max: String(U64_MAX) },
      `give --since a whole number, 0 or more, up to ${U64_MAX} (a u64, as SPEC's timestamps), in digits only, for example --since ${SINCE_MS.example}`,
    );
  }
  return (key) => logKeyExactTs(key) > ts;
}

/**
 * What an export holds, read from one snapshot of the store: counted first (the JSON's meta and
 * the result come before the rest), then read again as it is written, a record at a time. The
 * store's log is in SPEC §2 output order (issue_id, ts, actor, event_id) and its issues in id
 * order, so nothing is sorted, and nothing but the record being written is held (under `--since`,
 * the ids of the issues selected too).
 */
interface Selection {
  wal_head: string | null;
  event_count: number;
  issue_count: number;
  issues(): Iterable<Issue>;
  events(): Iterable<Event>;
}

/**
 * What `--since` keeps, from one walk of the log's keys: the kept events' count, and the ids of
 * the issues with a kept event (`touched`), in id order (the log is keyed by issue first). Context
 * events, and the events of an issue whose creation the store has not seen, are logged under ids
 * that have no issue row: `issue_ids` leaves those out.
 */
function keptByKeys(snapshot: StoreSnapshot, keep: KeyFilter): { event_count: number; touched: string[]; issue_ids: string[] } {
  let event_count = 0;
  let last: Buffer | undefined;
  const touched: string[] = [];
  for (const key of snapshot.logKeys()) {
    if (!keep(key)) continue;
    event_count++;
    if (last === undefined || key.compare(last, 0, ISSUE_BYTES, 0, ISSUE_BYTES) !== 0) touched.push(toHex(key.subarray(0, ISSUE_BYTES)));
    last = key;
  }
  return { event_count, touched, issue_ids: touched.filter((id) => snapshot.hasIssue(id)) };
}

function select(snapshot: StoreSnapshot, since: string | number | undefined): Selection {
  const keep = parseSince(snapshot, since);
  // The head the snapshot's store reflects: another process may have applied more since this command's refresh.
  const wal_head = snapshot.meta().wal_head;
  if (!keep) return { wal_head, event_count: snapshot.eventCount(), issue_count: snapshot.issueCount(), issues: () => snapshot.issues(), events: () => snapshot.events() };
  const { event_count, touched, issue_ids } = keptByKeys(snapshot, keep);
  // The events are read again from the touched issues' parts of the log alone.
  return { wal_head, event_count, issue_count: issue_ids.length, issues: () => snapshot.issues(issue_ids), events: () => snapshot.events(keep, touched) };
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
function* jsonArray<T>(items: Iterable<T>, toJson: (item: T) => unknown): Generator<string> {
  let n = 0;
  for (const item of items) yield `${n++ === 0 ? '[' : ','}\n    ${nestedJson(toJson(item), 2)}`;
  yield n === 0 ? '[]' : '\n  ]';
}

/** The bytes of `JSON.stringify({ meta, issues, events }, null, 2)` and a newline. */
function* toJson(meta: ExportMeta, issues: Iterable<Issue>, events: Iterable<Event>): Generator<string> {
  yield `{\n  "meta": ${nestedJson(meta, 1)},\n  "issues": `;
  yield* jsonArray(issues, (i) => i);
  yield ',\n  "events": ';
  yield* jsonArray(events, eventToJson);
  yield '\n}\n';
}

/**
 * The UTC date of a timestamp; one past the last a date can hold (+275760-09-13, but SPEC allows
 * any u64) as its milliseconds, where `toISOString` would throw.
 */
function iso(ts: number): string {
  const date = new Date(ts);
  return Number.isNaN(date.getTime()) ? `${ts} ms after 1970-01-01T00:00:00.000Z` : date.toISOString();
}

/** Text inside a Markdown list item or heading: no line breaks. */
const inline = (s: string) => s.replace(/\s*\n\s*/g, ' ');

/**
 * A one-line field that is text, not Markdown (a title, an assignee, a link's note, an attachment's
 * name, a MIME type), shown as typed: the characters Markdown or the HTML in it would read (`<b>`,
 * `[x](javascript:…)`, `*`, `_`, a closing `#`, `&lt;`) get a `\`, and so does a `\` before
 * punctuation. Written raw, a title `<script>…` or a note `[see](javascript:…)` ran where the
 * export was opened, past `issue link add`'s refusal of such links. Bodies and comments are
 * Markdown and stay as written.
 */
const mdText = (s: string) => inline(s).replace(/\\(?=[!-/:-@[-`{-~])|[`*_[\]<>#~&]/g, '\\$&');

/** A label as code, whatever backticks it holds: fenced by a longer run, spaced off one at either end. */
function mdCode(s: string): string {
  const fence = '`'.repeat(Math.max(0, ...(s.match(/`+/g) ?? []).map((run) => run.length)) + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${inline(s)}${pad}${fence}`;
}

/**
 * A link's url as a link (an autolink, which may not hold a space, `<` or `>`: those are
 * percent-encoded, else `https://x/a><img onerror=…>` closed it and wrote HTML), unless it would
 * run code where it is followed (synced from another writer: `issue link add` refuses them), which
 * is shown as code.
 */
const mdUrl = (url: string) => (isScriptUrl(url) ? mdCode(url) : `<${url.replace(/[\s<>]/g, encodeURIComponent)}>`);

/**
 * A body or comment as written, with a fenced code block or an HTML comment it leaves open
 * closed at its end: open, it held the rest of the export (every later issue) in a code block or
 * hid it as a comment (a log pasted cut short, a template's `<!--` whose `-->` was deleted).
 * Top-level blocks, as CommonMark opens and closes them; a block in a list or a quote ends with it.
 */
function markdownBlock(text: string): string {
  let fence: string | null = null;
  let comment = false;
  for (const line of text.split('\n')) {
    if (comment) comment = !line.includes('-->');
    else if (fence !== null) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line)?.[1];
      if (close && close[0] === fence[0] && close.length >= fence.length) fence = null;
    } else {
      const open = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
      // A backtick fence's info string holds no backtick (else the line is inline code).
      if (open && !(open[1][0] === '`' && open[2].includes('`'))) fence = open[1];
      else if (/^ {0,3}<!--/.test(line)) comment = !line.slice(line.indexOf('<!--') + 4).includes('-->');
    }
  }
  return fence !== null ? `${text}\n${fence}` : comment ? `${text}\n-->` : text;
}

function* toMarkdown(meta: ExportMeta, issueCount: number, issues: Iterable<Issue>): Generator<string> {
  yield ['# Issues', '', `Exported by grit at ${iso(meta.generated_ts)} from WAL ${meta.wal_head ?? '(empty)'}: ${plural(issueCount, 'issue')}.`, ''].join('\n');
  for (const i of issues) yield `\n${markdownSection(i).join('\n')}`;
}

function markdownSection(i: Issue): string[] {
  const out = [`## ${mdText(i.title)}`, ''];
  out.push(`- **ID:** \`${i.issue_id}\``);
  out.push(`- **State:** ${i.state}`);
  out.push(`- **Labels:** ${i.labels.length ? i.labels.map(mdCode).join(', ') : '—'}`);
  out.push(`- **Assignees:** ${i.assignees.length ? i.assignees.map(mdText).join(', ') : '—'}`);
  out.push(`- **Created:** ${iso(i.created_ts)} by \`${i.created_by}\``);
  out.push(`- **Updated:** ${iso(i.updated_ts)}`);
  for (const d of i.dependencies) out.push(`- **${d.dep_type.replace('_', ' ')}:** \`${d.target}\``);
  for (const l of i.links) out.push(`- **Link:** ${mdUrl(l.url)}${l.note ? ` — ${mdText(l.note)}` : ''}`);
  for (const a of i.attachments) out.push(`- **Attachment:** ${mdText(a.name)} (${mdText(a.mime)}, sha256 \`${a.sha256}\`)`);
  out.push('');
  if (i.body.trim()) out.push(markdownBlock(i.body.trimEnd()), '');
  if (i.comments.length) {
    out.push(`### Comments (${i.comments.length})`, '');
    for (const c of i.comments) out.push(`**\`${c.actor.slice(0, 8)}\`** at ${iso(c.ts_unix_ms)}:`, '', markdownBlock(c.body.trimEnd()), '');
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

/**
 * A set (labels, assignees) in one CSV field: joined with `;`, a `;` or `\` inside a member
 * escaped with a `\`, so that a reader splitting on the other `;` gets the members exactly
 * (operations.md). Ordinary labels read as before.
 */
const csvSet = (members: string[]): string => members.map((m) => m.replace(/[\\;]/g, '\\$&')).join(';');

const CSV_COLUMNS = ['issue_id', 'title', 'state', 'labels', 'assignees', 'created_ts', 'updated_ts', 'comment_count'] as const;

function* toCsv(issues: Iterable<Issue>): Generator<string> {
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  for (const i of issues) {
    const row = [i.issue_id, i.title, i.state, csvSet(i.labels), csvSet(i.assignees), i.created_ts, i.updated_ts, i.comment_count];
    yield `${row.map(csvField).join(',')}\r\n`;
  }
}

/**
 * The formats people read, with `cat`, a pager or a spreadsheet: text from the WAL (anyone's,
 * through sync) has its control characters and bidirectional overrides shown in them, as in human
 * output (src/core/terminal-safe.ts), never written raw, so that Trojan-source text reads in the
 * order it is stored (docs/decisions.md). JSON is data: written exactly.
 */
const READ_BY_PEOPLE: Record<ExportFormat, boolean> = { json: false, md: true, csv: true };

function* shownToPeople(issues: Iterable<Issue>): Generator<Issue> {
  for (const i of issues) yield visibleDeep(i);
}

// --- the command -------------------------------------------------------------------------------

function defaultOutput(root: string, format: ExportFormat, umask: number | undefined, guarded: GuardedDir[]): string {
  const dir = join(root, '.grit');
  const ignore = join(dir, '.gitignore');
  const path = join(dir, `export.${EXT[format]}`);
  refuseGritNotADirectory(dir);
  // Checked before anything is made: `.grit` itself may be a link into the git dir.
  const refused = unfitTarget(path, guarded) ?? linkAt(path);
  if (refused) {
    const { problem, guarded_dir, linked } = refused;
    // What to move: `.grit` when it is the link that leads astray, else what is at the path.
    const culprit = lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink() ? dir : path;
    throw new GritError('io_error', `${path}, where exports go by default, is ${problem}`, {
      details: { path, ...(guarded_dir ? { guarded_dir } : {}) },
      suggestion: `move ${shellWord(culprit)} out of the way, or export elsewhere (${linked ? `\`--output ${shellWord(linked)}\` if that file is meant, ` : ''}\`--output <path>\`, \`-o -\` for standard output)`,
    });
  }
  let made: string[] = [];
  try {
    made = makeParents(dir, umask);
    // Not left empty by a full disk: an empty one would stay, ignoring nothing. Anything there,
    // a dangling link too, is left alone: writing one made the file it names, wherever that is.
    if (!lstatSync(ignore, { throwIfNoEntry: false }) && writeIgnoreFile(ignore)) applyCallerUmask(ignore, FILE_MODE, umask);
  } catch (err) {
    const error = writeError(ignore, err, `check that ${dir} can be written, or export elsewhere (\`--output <path>\`, \`-o -\` for standard output)`); // while its directory is there to tell the free space of
    removeEmpty(made);
    throw error;
  }
  return path;
}

/**
 * `.grit` that is there but no directory (a file, a link to one, a dangling link) is said to be
 * so: making the directory failed with the system's word for the `.gitignore` inside it ("cannot
 * write .grit/.gitignore: EEXIST: file already exists", for a file that was not there).
 */
function refuseGritNotADirectory(dir: string): void {
  const link = lstatSync(dir, { throwIfNoEntry: false });
  if (!link) return;
  const target = statSync(dir, { throwIfNoEntry: false });
  if (target?.isDirectory()) return;
  const what = !link.isSymbolicLink() ? 'a file, not a directory' : target ? `a symbolic link to ${readlinkSync(dir)}, not a directory` : `a symbolic link to ${readlinkSync(dir)}, which does not exist`;
  throw new GritError('io_error', `${dir} is ${what}: the default export goes into the directory .grit/`, {
    details: { path: dir },
    suggestion: `move ${shellWord(dir)} out of the way (grit makes the directory), or export elsewhere (\`--output <path>\`, \`-o -\` for standard output)`,
  });
}

export async function exportCommand(ctx: RepoContext, args: Args, options: ContextOptions, stdout?: OutputSink): Promise<ExportResult> {
  const format = oneOf<ExportFormat>(args, 'format', ['json', 'md', 'csv']) ?? 'json';
  const since = sinceArg(args);
  const output = optText(args, 'output');
  // Where it goes is settled before the work: a bad --output fails at once.
  const root = worktreeRoot(options);
  const umask = options.umask;
  const path = output === STDOUT ? STDOUT : output !== undefined ? outputPath(root, options.cwd ?? process.cwd(), output, stateDirs(ctx, root)) : defaultOutput(root, format, umask, stateDirs(ctx, root));
  const progress = options.progress ?? terminalProgress();
  // One snapshot for the counts and the records: what is counted is what is written.
  return ctx.withSnapshot(async (snapshot, inMemory) => {
    const sel = select(snapshot, since);
    if (!inMemory || (!stdout && path === STDOUT)) return writeExport(sel, format, path, umask, progress, stdout);
    // A store that cannot catch up (a full disk) is read in a transaction that ends at the first
    // await: the export is read whole before it (as `content`: writeExport does not await
    // without `stdout` for standard output), then written.
    const { content, ...result } = await writeExport(sel, format, STDOUT, umask, progress);
    if (path !== STDOUT) {
      await writeFile(path, [content!], umask);
      return { ...result, output_path: path };
    }
    stdout!.begin(result);
    await stdout!.write(content!);
    return result;
  });
}

async function writeExport(sel: Selection, format: ExportFormat, path: string, umask: number | undefined, progress: ProgressSink, stdout?: OutputSink): Promise<ExportResult> {
  const { wal_head, event_count, issue_count } = sel;
  // Drawn as the export is written: not over it, when that is on the same terminal.
  const shown = path === STDOUT && process.stdout.isTTY ? 0 : issue_count + (format === 'json' ? event_count : 0);
  const bar = progress.bar('exporting', shown);
  let written = 0;
  function* counted<T>(items: Iterable<T>): Generator<T> {
    for (const item of items) {
      bar.update(++written);
      yield item;
    }
  }
  const meta: ExportMeta = { schema_version: 1, generated_ts: Date.now(), wal_head, event_count };
  const issues = READ_BY_PEOPLE[format] ? shownToPeople(counted(sel.issues())) : counted(sel.issues());
  const body = format === 'json' ? toJson(meta, issues, counted(sel.events())) : format === 'md' ? toMarkdown(meta, issue_count, issues) : toCsv(issues);
  const result = (output_path: string) => ({ format, output_path, wal_head, event_count, issue_count });
  try {
    if (path !== STDOUT) {
      await writeFile(path, inPieces(body), umask);
      return result(path);
    }
    // Through a daemon (or the API) the export travels in the reply, which is one message.
    if (!stdout) return { ...result(STDOUT), content: [...body].join('') };
    stdout.begin(result(STDOUT));
    for (const piece of inPieces(body)) await stdout.write(piece);
    return result(STDOUT);
  } finally {
    bar.done();
  }
}

/** About this many characters are written at a time: enough to make few system calls, and all the export holds. */
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

/**
 * Written beside the target, under a name only grit's exports have (temp-files.ts), and renamed
 * over it (replace-file.ts): a reader never sees half an export. The name is unique to the call:
 * a daemon runs many exports at once under one pid (two to one path that shared a name: the
 * second removed the first's file, the first renamed the second's half-written one into place).
 * Interrupted (Ctrl-C, SIGTERM), it removes the temporary before the process ends; killed (-9),
 * it leaves it to `doctor --fix`. A character device (`/dev/null`, a terminal) is written
 * straight, as a shell's `>` writes it: there is no file to replace whole, and a rename would put
 * a plain file in the device's place. A new file and the directories made for it get the modes
 * the caller's `umask` gives (applyCallerUmask).
 */
async function writeFile(output: string, pieces: Iterable<string>, umask: number | undefined): Promise<void> {
  const path = throughLink(output);
  const existing = statSync(path, { throwIfNoEntry: false });
  if (existing?.isCharacterDevice()) return writeDevice(path, pieces);
  const tmp = join(dirname(path), exportTempName(basename(path), process.pid, tempSerial()));
  let made: string[] = [];
  const keepOnSignal = removeOnSignal(tmp);
  try {
    made = makeParents(dirname(path), umask);
    // Made new, never opened through what is at its name (`.grit/` comes with a clone: a link
    // planted there had the export written into the file it named). A file replaced keeps its
    // mode, as `>` keeps it (one made private stays private).
    await replaceFileWith(path, (fd) => writePieces(fd, pieces), {
      tmp,
      mode: lessUmask(FILE_MODE, umask),
      keepMode: true,
      beforeRename: existing?.isFile() ? undefined : (file) => applyCallerUmask(file, FILE_MODE, umask),
    });
  } catch (err) {
    // The pieces are read from the store as they are written: its errors (a damaged record) are its own.
    const error = err instanceof GritError ? err : writeError(path, err, BESIDE);
    removeEmpty(made);
    throw error;
  } finally {
    keepOnSignal();
  }
}

/** Where writing `path` lands: through a symbolic link, its target (as `>` writes it), so that the link stays a link. */
function throughLink(path: string): string {
  try {
    if (!lstatSync(path).isSymbolicLink()) return path;
  } catch {
    return path;
  }
  try {
    return realpathSync(path);
  } catch {
    return resolve(dirname(path), readlinkSync(path)); // a dangling link: the file it names is made
  }
}

async function writeDevice(path: string, pieces: Iterable<string>): Promise<void> {
  let fd: number | null = null;
  try {
    fd = openSync(path, 'w');
    await writePieces(fd, pieces);
  } catch (err) {
    throw err instanceof GritError ? err : cannotWrite(path, err, 'name a file to write instead, or `-o -` for standard output');
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

async function writePieces(fd: number, pieces: Iterable<string>): Promise<void> {
  for (const piece of pieces) {
    writeFully(fd, Buffer.from(piece));
    await letSignalsIn();
  }
}

/** What a failed write beside the target (writeFile) suggests. */
const BESIDE = 'the export is written beside that file and renamed over it, so its directory must take new files: name a file in a directory you can write to, or `-o -` for standard output';

/** The io_error for a failed write of `path`: a full disk said as such (as for the store), naming it. */

/** Makes the exports' `.gitignore`; false when another export (another process or thread) made it first. */
function writeIgnoreFile(path: string): boolean {
  try {
    writeNewFile(path, '# grit exports: derived data, never committed\n*\n');
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}
function writeError(path: string, err: unknown, suggestion: string): GritError {
  const full = diskFullError(dirname(path), path, err, `free space on that disk, or export elsewhere (\`--output <path>\` on another disk, \`-o -\` for standard output)`);
  return full ?? cannotWrite(path, err, suggestion);
}

/**
 * What the system said, without the temporary file's name it may carry (node's message ends with
 * the call and its path: `ENOENT: no such file or directory, open '/proc/.x.grit-…'`). Also a
 * device's failure (`/dev/full`'s ENOSPC), which is no disk's.
 */
function cannotWrite(path: string, err: unknown, suggestion: string): GritError {
  const e = err as NodeJS.ErrnoException;
  const why = e.code && e.message.startsWith(`${e.code}: `) ? e.message.split(', ')[0] : e.message;
  return new GritError('io_error', `cannot write ${path}: ${why}`, { details: { path, errno: e.code ?? null }, suggestion });
}

/** Per-process names: each process that opens one gets its own descriptor. */
const OWN_DESCRIPTORS = /^\/dev\/(stdin|stdout|stderr)$|^\/dev\/fd\/|^\/proc\/(self|thread-self)\/fd\//;

/**
 * `--output` as an absolute path, a relative one taken from the caller's directory `cwd` (never
 * the daemon's). Missing parent directories are made only inside the worktree (as `.grit/` is):
 * elsewhere a typo would create directories anywhere (as root, at /), so there the parent must
 * exist. What is there already must be a regular file, replaced whole (writeFile), or a character
 * device, written straight (`/dev/null`, a terminal). Not a pipe (opening one waits for a reader,
 * which would stall a daemon's worker: `-o - > fifo` does it), and not a name for the running
 * process's own descriptors (`/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`): in a daemon they are the
 * daemon's, and over MCP standard output is the protocol's. The CLI reads `/dev/stdout` as `-o -`
 * (src/cli/ops-actions.ts). Nowhere in `guarded` (stateDirs).
 */
function outputPath(root: string, cwd: string, output: string, guarded: GuardedDir[]): string {
  if (output === '') {
    throw invalidArgs('--output is empty', { field: 'output', value: output }, 'name a file to write, `-o -` for standard output, or leave --output out for .grit/export.<ext>');
  }
  const path = resolve(cwd, output);
  if (OWN_DESCRIPTORS.test(path)) {
    throw invalidArgs(`--output ${path} names a descriptor of the process that runs the export, which may be a daemon's`, { field: 'output', value: output }, '`-o -` writes to standard output (redirect it: `-o - > file`)');
  }
  const refused = unfitTarget(path, guarded);
  if (refused) {
    const { problem, suggestion, guarded_dir } = refused;
    throw invalidArgs(`--output ${path} is ${problem}`, { field: 'output', value: output, ...(guarded_dir ? { guarded_dir } : {}) }, suggestion);
  }
  const dir = dirname(path);
  if (isWithin(root, dir) || existsSync(dir)) return path;
  throw invalidArgs(
    `the directory of --output does not exist: ${dir}`,
    { field: 'output', value: output, directory: dir },
    `check the path, or create the directory first (\`mkdir -p ${shellWord(dir)}\`); grit makes missing directories only inside the repository`,
  );
}

/** A directory of git's or grit's own state, and what it is, for the message. */
interface GuardedDir {
  dir: string;
  what: string;
}

/**
 * Where an export must never land: the export replaces the file at its path whole, and there
 * that would be the signing key, the WAL's ref, a config or a store (git's state is the common
 * dir; a worktree's HEAD and index are in its own git dir, which its `.git` file names). The
 * actor's data dir is grit's too where it lies outside the repository (--data-dir, GRIT_HOME).
 */
function stateDirs(ctx: RepoContext, root: string): GuardedDir[] {
  return [
    { dir: ctx.repo.commonDir, what: "the repository's git dir" },
    { dir: join(root, '.git'), what: "the worktree's .git" },
    { dir: worktreeGitDir(root), what: "the worktree's git dir" },
    { dir: ctx.actor.dir, what: "the actor's data dir" },
  ];
}

/**
 * `path` as the system reaches it: the target of a symbolic link at it (which writeFile writes),
 * in directories with their links resolved as far as they exist (what is missing is made as
 * named). So a link, a linked directory or `..` through one cannot lead an export into a guarded dir.
 */
function physicalPath(path: string): string {
  const missing: string[] = [];
  for (let p = throughLink(path); ; p = dirname(p)) {
    try {
      return join(realpathSync(p), ...missing);
    } catch {
      if (dirname(p) === p) return path;
      missing.unshift(basename(p));
    }
  }
}

/** Why a path is no place for an export: what is there, a plan, the guarded dir or the file a link there leads to. */
interface Unfit {
  problem: string;
  suggestion?: string;
  guarded_dir?: string;
  linked?: string;
}

/**
 * A link at the default path is not written through, as `--output` writes through one: a
 * repository that commits `.grit/export.json -> ~/.bashrc` (or `../.env`) had an export replace
 * that file. A person who means to write there says so with `--output`.
 */
function linkAt(path: string): Unfit | null {
  if (!lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) return null;
  const target = physicalPath(path);
  return { problem: `a symbolic link (to ${target}), which the default export does not write through`, linked: target };
}

/**
 * Why an export may not be written at `path` (null: it may): what is there must be a file to
 * replace whole or a character device, and the path the system reaches must not be in git's or
 * grit's own state (stateDirs). The same for `--output` and for `.grit/export.<ext>`, which a
 * link there (one a cloned repository may hold) could otherwise lead into `.git/config`.
 */
function unfitTarget(path: string, guarded: GuardedDir[]): (Unfit & { suggestion: string }) | null {
  let existing;
  try {
    existing = statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    // Paths no file can have, for which stat throws rather than find nothing (a raw io_error before).
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') return { problem: 'under a file, not a directory', suggestion: 'name a file in a directory, or `-o -` for standard output' };
    if (code === 'ENAMETOOLONG') return { problem: 'longer than the file system takes for a name', suggestion: 'name a shorter path, or `-o -` for standard output' };
    throw err;
  }
  if (existing && !existing.isFile() && !existing.isCharacterDevice()) {
    return {
      problem: existing.isDirectory() ? 'a directory' : existing.isFIFO() ? 'a named pipe' : 'not a regular file',
      suggestion: existing.isFIFO() ? 'write to standard output and redirect it: `-o - > pipe`' : 'name a file to write (it is replaced whole), or `-o -` for standard output',
    };
  }
  const target = physicalPath(path);
  for (const { dir, what } of guarded) {
    if (!isWithin(physicalPath(dir), target)) continue;
    return {
      problem: `inside ${what} (${dir}): an export there would replace grit's or git's own files`,
      suggestion: 'write the export outside the git dir and the data dir: leave --output out for .grit/export.<ext>, name another path, or `-o -` for standard output',
      guarded_dir: dir,
    };
  }
  return null;
}

/**
 * `mkdir -p` one level at a time from the nearest directory that exists; returns the directories
 * it made (none left behind when it fails). Not node's recursive mkdir: on Node 20 it loops
 * forever under /proc (`/proc/self/x/y`), which would hang the command and, in a daemon, every
 * later request of its actor; a plain mkdir there fails with ENOENT. Each gets the mode the
 * caller's `umask` gives.
 */
function makeParents(dir: string, umask: number | undefined): string[] {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) missing.unshift(d);
  const made: string[] = [];
  try {
    for (const d of missing) {
      mkdirSync(d, lessUmask(DIR_MODE, umask));
      made.push(d);
      applyCallerUmask(d, DIR_MODE, umask);
    }
  } catch (err) {
    removeEmpty(made);
    throw err;
  }
  return made;
}

const FILE_MODE = 0o666;
const DIR_MODE = 0o777;

/** `mode` less the caller's umask: what a file or directory is made with (open and mkdir take this process's umask off it too). */
const lessUmask = (mode: number, umask: number | undefined): number => mode & ~(umask ?? 0);

/**
 * What the export made at `path` gets `mode` less the caller's umask, when the request carried it
 * (the CLI sends its own to the daemon): the daemon's umask, which open and mkdir applied, is
 * not the caller's, and may leave a file readable that `umask 077` was to keep private. Without
 * one, the command runs in the caller's process, whose umask applied.
 */
function applyCallerUmask(path: string, mode: number, umask: number | undefined): void {
  // A directory keeps the setgid bit it inherited from its parent, as mkdir gave it.
  if (umask !== undefined) chmodSync(path, (statSync(path).mode & 0o7000) | lessUmask(mode, umask));
}

/** Removes the directories `makeParents` made, deepest first, where they are still empty: a failed export leaves none. */
function removeEmpty(made: string[]): void {
  for (const d of [...made].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (another writer's), or gone: what is above it stays too
    }
  }
}
