/**
 * Argument checks shared by every command function. Arguments arrive from the CLI or, untrusted,
 * from IPC requests, so each command validates what it reads through these.
 */
import { isAbsolute } from 'node:path';
import { GritError, invalidArgs } from '../core/errors.js';
import { durationMs, DURATION_FORMS } from '../core/duration.js';
import { memberName } from '../core/set-member.js';
import { codeUnitName, loneSurrogate, WELL_FORMED_HINT } from '../core/well-formed.js';

export type Args = Record<string, unknown>;

/**
 * IPC keys the CLI spells otherwise than as `--kebab-case`: its positional arguments, named as its
 * usage lines name them, and flags of another name.
 */
const CLI_SPELLING: Record<string, string> = {
  issue_id: '<id>',
  id: '<id>',
  query: '<query>',
  key: '<key>',
  value: '<value>',
  path: '<path>',
  labels: '--label',
  dep_type: '--type',
};

/**
 * How a person typed the argument on the command line: messages name it so. Other callers (the
 * MCP tools) call arguments by their keys; the MCP server turns these names back into keys.
 */
export const cliName = (key: string): string => CLI_SPELLING[key] ?? `--${key.replaceAll('_', '-')}`;

/** A flag (`--dep-type`) or a positional argument (`<id>`) as a command's message names it. */
const CLI_TOKEN = /(?<![\w:-])(--[a-z0-9][a-z0-9-]*|<[a-z_-]+>)(?![\w-])/g;

/** A command line to type (`grit actor init --data-dir <dir>`), kept as it is. */
const QUOTED = /(`[^`]*`)/;

/**
 * The same error with each CLI name (cliName) of one of `keys` in its message and its suggestion
 * given as that key (`dep_type`, `issue_id`): for callers that pass arguments by key (the MCP
 * tools, the API, IPC requests). `renamed` names what such a caller calls otherwise than the CLI's
 * key (the actor's selection: `actor` is the IPC's `actor_id`), `details.field` included. A
 * suggestion that names a flag only the CLI has (`--body-file`) is advice for the command line and
 * stays whole, and so does a command line in backquotes: both say what to type at a shell.
 */
export function inKeyTerms(err: GritError, keys: readonly string[], renamed: Readonly<Record<string, string>> = {}): GritError {
  const callerName = (key: string) => (Object.hasOwn(renamed, key) ? renamed[key] : key);
  const byCliName = new Map([...keys, ...Object.keys(renamed)].map((key) => [cliName(key), callerName(key)]));
  const translate = (text: string) => text.replace(CLI_TOKEN, (token) => byCliName.get(token) ?? token);
  const message = translate(err.message);
  const parts = err.suggestion?.split(QUOTED) ?? [];
  const prose = parts.filter((_, i) => i % 2 === 0);
  const known = prose.every((part) => [...part.matchAll(CLI_TOKEN)].every(([token]) => byCliName.has(token)));
  const suggestion = known ? parts.map((part, i) => (i % 2 === 0 ? translate(part) : part)).join('') : err.suggestion;
  const field = err.details.field;
  const renamedField = typeof field === 'string' ? callerName(field) : field;
  if (message === err.message && suggestion === err.suggestion && renamedField === field) return err;
  const json = err.toJSON();
  const details = { ...json.details, ...(suggestion === undefined ? {} : { suggestion }), ...(field === undefined ? {} : { field: renamedField }) };
  return GritError.fromJSON({ ...json, message, details });
}

/** What to type for an argument that is missing or empty; a few have more than one way in. */
const GIVE_HINTS: Record<string, string> = {
  actor: "give --actor an actor's id or label (`grit actor list`), or leave it out to act as the default actor",
  body: 'give --body "…", or --body-file <file> (--body-file - reads standard input)',
  data_dir: "give --data-dir an actor's data dir, or leave it out",
  issue_id: 'give the issue id (`grit issue list` lists them)',
  title: 'give a title: --title "…"',
};

const giveHint = (key: string): string => GIVE_HINTS[key] ?? `give ${cliName(key)} a value (\`--help\` says what it takes)`;

export function optText(args: Args, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidArgs(`${cliName(key)} must be text`, { field: key }, `pass ${cliName(key)} as a string`);
  return v;
}

/**
 * `cwd`: the caller's directory, which a path it typed may be relative to (the CLI sends it; a
 * daemon's own is elsewhere). Absolute, when given.
 */
export function callerDir(args: Args): string | undefined {
  const cwd = optText(args, 'cwd');
  if (cwd !== undefined && !isAbsolute(cwd)) throw invalidArgs('cwd must be an absolute path', { field: 'cwd', value: cwd }, 'pass cwd as an absolute path (the CLI sends the current directory)');
  return cwd;
}

export function text(args: Args, key: string, opts: { nonEmpty?: boolean } = {}): string {
  const v = optText(args, key);
  if (v === undefined) throw invalidArgs(`${cliName(key)} is required`, { field: key }, giveHint(key));
  if (opts.nonEmpty && v.trim() === '') throw invalidArgs(`${cliName(key)} must not be empty`, { field: key }, giveHint(key));
  return v;
}

/**
 * No command takes arguments nested more than a level or two. One nested thousands deep (JSON.parse
 * reads any depth) would overflow the stack of whatever walks it next: the hand-over to a daemon
 * worker, or an error that echoes the value in its details; it came back as internal_error.
 */
const MAX_ARG_DEPTH = 16;

function nestedDeeperThan(v: unknown, limit: number): boolean {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return false;
  if (limit === 0) return true;
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (nestedDeeperThan(x, limit - 1)) return true;
  return false;
}

/** Refuses the arguments of command `name` when nested deeper than any command reads (IPC, MCP, the API alike). */
export function refuseDeepArgs(name: string, args: Args): void {
  if (!nestedDeeperThan(args, MAX_ARG_DEPTH)) return;
  throw new GritError('invalid_args', `arguments of ${name} are nested more than ${MAX_ARG_DEPTH} deep`, {
    details: { limit: MAX_ARG_DEPTH },
    suggestion: "send each argument as the command's documentation gives it (SPEC §7)",
  });
}

/** Deeper than any argument a command reads: below this nothing is read, so nothing need be checked. */
const MAX_TEXT_DEPTH = 16;

/** Where in an argument value (`title`, `labels[1]`) the first text UTF-8 cannot hold is, and its lone surrogate. */
function illFormedText(v: unknown, path: string, depth: number): { path: string; unit: number } | null {
  if (typeof v === 'string') {
    const unit = loneSurrogate(v);
    return unit === null ? null : { path, unit };
  }
  if (v === null || typeof v !== 'object' || depth === MAX_TEXT_DEPTH) return null;
  const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [`${path}[${i}]`, x]) : Object.entries(v).map(([k, x]) => [`${path}.${k}`, x]);
  for (const [at, x] of entries) {
    const bad = illFormedText(x, at, depth + 1);
    if (bad !== null) return bad;
  }
  return null;
}

/**
 * Refuses text with a lone surrogate in any argument of command `name` (src/core/well-formed.ts),
 * as the daemon refuses a CBOR text string that is not UTF-8: the same code, message and
 * `details.field` (`command.IssueCreate.title`), whichever way the text came (IPC JSON, MCP, the API).
 */
export function refuseIllFormedText(name: string, args: Args): void {
  for (const [key, v] of Object.entries(args)) {
    const bad = illFormedText(v, key, 0);
    if (bad === null) continue;
    throw invalidArgs(
      `${bad.path} is not valid UTF-8: it holds a lone surrogate (${codeUnitName(bad.unit)}), one half of a pair without the other`,
      { field: `command.${name}.${bad.path}` },
      WELL_FORMED_HINT,
    );
  }
}

// A control character (a newline, an escape) would break `issue show` and the tables' one line per
// value, and reach every clone's terminal and Markdown export through sync.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
export const hasControl = (value: string): boolean => CONTROL.test(value);

function refuseControl(value: string, key: string, raw: unknown): void {
  if (hasControl(value)) {
    throw invalidArgs(`${cliName(key)} must be one line without control characters`, { field: key, value: raw }, `remove line breaks, tabs and escape characters from ${cliName(key)}`);
  }
}

/** A one-line field (an assignee, a link's url or note, an attachment's name), refused with a control character. */
export function oneLine<T extends string | undefined>(value: T, key: string): T {
  if (value !== undefined) refuseControl(value, key, value);
  return value;
}

/**
 * A label as grit stores it: without surrounding whitespace, in NFC (`memberName`), not empty, one
 * line of printable text. Every way a label comes in (create's `labels`, label add/remove, the
 * `label` filters) reads it through here, so a label typed as `" urgent"` is `urgent` everywhere
 * and can be taken off again with the text it was put on with.
 */
function labelOf(v: unknown, key: string, stored = true): string {
  const label = typeof v === 'string' ? memberName(v.trim()) : '';
  if (label === '') throw invalidArgs(`${cliName(key)} must be non-empty text`, { field: key, value: v }, `give ${cliName(key)} a label, such as ${cliName(key)} bug`);
  if (stored) refuseControl(label, key, v);
  return label;
}

export const labelArg = (args: Args, key = 'label'): string => {
  if (args[key] === undefined || args[key] === null) throw invalidArgs(`${cliName(key)} is required`, { field: key }, giveHint(key));
  return labelOf(args[key], key);
};

/** An assignee (`user`) as grit stores it: trimmed, in NFC (`memberName`), not empty; `oneLine` refuses a control character. */
export const assigneeArg = (args: Args, key = 'user'): string => memberName(text(args, key, { nonEmpty: true }).trim());

/**
 * A label filter: absent is no filter, but an empty one is refused (`--label "$UNSET"` is not "all").
 * It is never stored, so a control character is let through: it finds a label another writer stored with one.
 */
export const optLabel = (args: Args, key = 'label'): string | undefined =>
  args[key] === undefined || args[key] === null ? undefined : labelOf(args[key], key, false);

/**
 * A list of labels, one `--label` per item on the CLI. A single text is refused, not taken as a
 * list of one: like every argument, a list has one type, whoever sends it (IPC, MCP, the API).
 */
export function labelList(args: Args, key = 'labels'): string[] {
  const v = args[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidArgs(`${cliName(key)} must be a list of labels`, { field: key, value: v }, 'send a list, even of one label (on the command line, `--label` once per label)');
  return [...new Set(v.map((item) => labelOf(item, key)))];
}

export function oneOf<T extends string>(args: Args, key: string, allowed: readonly T[]): T | undefined {
  const v = optText(args, key);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    throw invalidArgs(`${cliName(key)} must be one of ${allowed.join(', ')}`, { field: key, value: v }, `for example ${cliName(key)} ${allowed[0]}`);
  }
  return v as T;
}

export function bool(args: Args, key: string): boolean {
  const v = args[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw invalidArgs(`${cliName(key)} must be true or false`, { field: key }, `pass ${cliName(key)} as a boolean`);
  return v;
}

/**
 * The whole numbers an argument takes: from `min` to `max` (none: any a number holds exactly, up
 * to 2^53 - 1); `default`, when it has one, is what the command uses without it; `example`, what
 * a hint suggests (else the default).
 */
export interface IntRange {
  min: number;
  max?: number;
  default?: number;
  example?: number;
}

/** `1 to 10000`, `0 or more`: a range as help and messages give it. */
export const intRangeText = (range: IntRange): string => (range.max === undefined ? `${range.min} or more` : `${range.min} to ${range.max}`);

/**
 * An integer in `range`; numeric text is accepted too (the CLI passes flags as it got them). Only
 * digits count as numeric text (no surrounding spaces): `""`, `1e2` or `0x2` are refused here rather than becoming 0, 100
 * or 2 on the way, so every entry point (the CLI's fast path and oclif, the daemon, MCP, the API)
 * reads a value the same way and refuses it in the same words, naming the range.
 */
export function optInt(args: Args, key: string, range: IntRange): number | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  // Not trimmed: " 5" is refused, as GRIT_DRAIN_TIMEOUT (envSeconds) refuses it, rather than read two ways.
  const digits = typeof v === 'string' && /^-?\d+$/.test(v);
  const n = digits ? Number(v) : v;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= range.min && n <= max) return n;
  const flag = cliName(key);
  const allowed = range.max === undefined ? `a whole number, ${range.min} or more` : `a whole number from ${range.min} to ${range.max}`;
  // 2^53 and beyond: "0 or more" would read as if it were allowed.
  const message = range.max === undefined && typeof n === 'number' && n > max ? `${flag} is too large: at most ${max}` : `${flag} must be ${allowed}`;
  const example = range.example ?? range.default ?? Math.max(range.min, 1);
  // How to write it is advice for text (what the CLI passes); a JSON number needs only the range.
  const hint =
    typeof v === 'string'
      ? `give ${flag} ${allowed}${range.max === undefined ? ',' : ''} in digits only (no sign, space, unit or exponent), for example ${flag} ${example}`
      : `give ${flag} ${allowed}, such as ${example}`;
  throw invalidArgs(message, { field: key, value: v, min: range.min, max }, hint);
}

/**
 * A duration in whole seconds within `range` (`daemon start --idle-timeout`): a number of seconds
 * or a duration as `--ttl` takes one (src/core/duration.ts: `10m`, `1.5h`), read by the one
 * parser every duration flag uses. A fraction of a second is refused: the daemon counts seconds.
 */
export function optSeconds(args: Args, key: string, range: IntRange & { max: number }): number | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  const ms = durationMs(v);
  const s = ms === null ? Number.NaN : ms / 1000;
  if (Number.isSafeInteger(s) && s >= range.min && s <= range.max) return s;
  const flag = cliName(key);
  const allowed = `from ${range.min} to ${range.max} seconds`;
  throw invalidArgs(`${flag} must be a whole number of seconds, or a duration, ${allowed}`, { field: key, value: v, min: range.min, max: range.max }, `give ${flag} a duration ${allowed}: ${DURATION_FORMS}; for example ${flag} ${range.example ?? range.default ?? range.min}`);
}
