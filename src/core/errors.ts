/**
 * Error codes and exit codes of SPEC §6. Every failure a user can see is a GritError.
 *
 * One rule gives the exit code: the code's own (EXIT_CODES), except for a failure of the
 * environment (no repository, a missing or broken config file, the run directory, the store),
 * which exits 5 whatever its code. The code then names what failed (git_error for the
 * repository, io_error for a file grit keeps): never invalid_args or not_found, which are the
 * caller's (2: fix the command; 3: the thing named is not there) and always exit 2 and 3.
 */
import { existsSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import { mapStrings, redactUrls } from './redact-url.js';

export type ErrorCode =
  | 'invalid_args'
  | 'not_found'
  | 'conflict'
  | 'db_busy'
  | 'io_error'
  | 'git_error'
  | 'wal_error'
  | 'ipc_error'
  | 'internal_error';

export const ENV_EXIT = 5;

const EXIT_CODES: Record<ErrorCode, number> = {
  invalid_args: 2,
  not_found: 3,
  conflict: 4,
  db_busy: 5,
  io_error: 1,
  git_error: 1,
  wal_error: 1,
  ipc_error: 1,
  internal_error: 1,
};

/** The code's own exit status: "anything else" (1) for a code SPEC §6 does not list, which a plugin's JavaScript can pass. */
const ownExitCode = (code: ErrorCode): number => EXIT_CODES[code] ?? 1;

/** The codes that say the caller must change the command: never an environment failure. */
const CALLERS_CODES: ReadonlySet<ErrorCode> = new Set(['invalid_args', 'not_found']);

/** The codes an environment failure (exit 5) may carry. */
export type EnvironmentCode = Exclude<ErrorCode, 'invalid_args' | 'not_found'>;

interface ErrorOptions {
  details?: Record<string, unknown>;
  suggestion?: string;
}

/**
 * Marks a GritError whichever copy of this module made it: the CLI's start-up bundle
 * (scripts/bundle.js, CommonJS) carries its own copy, and errors thrown by the ES modules it loads
 * later must still be told apart from crashes. `instanceof GritError` checks the mark.
 */
const BRAND = Symbol.for('grit.GritError');

export class GritError extends Error {
  static [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
  }

  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  /** One line telling a person what to try next. */
  readonly suggestion?: string;
  /** The code's own exit status, or 5 for a failure of the environment (see the top of this file). */
  readonly exitCode: number;

  /** A caller's mistake always says what to type instead (docs/agent-playbook.md, rule 1). */
  constructor(code: 'invalid_args', message: string, opts: ErrorOptions & { suggestion: string });
  constructor(code: Exclude<ErrorCode, 'invalid_args'>, message: string, opts?: ErrorOptions);
  constructor(code: EnvironmentCode, message: string, opts?: ErrorOptions & { environment?: boolean });
  constructor(code: ErrorCode, message: string, opts: ErrorOptions & { environment?: boolean } = {}) {
    // Redacted here, where every error grit reports is made: a remote's URL (or git's stderr
    // naming one) reaches messages, details and hints from many places.
    super(redactUrls(message));
    this.name = 'GritError';
    this.code = code;
    // A caller's value echoed in details is cut like one in a message (cutText): whole, a refused
    // 100 KB `--state` came back twice in its error.
    const cut = CALLERS_CODES.has(code);
    this.details = opts.details ? mapStrings(opts.details, (t) => (cut ? cutText(redactUrls(t), KEPT_CHARS) : redactUrls(t))) : {};
    this.suggestion = opts.suggestion === undefined ? undefined : redactUrls(opts.suggestion);
    // The caller's codes keep their exit status even if a reply from elsewhere says otherwise.
    this.exitCode = opts.environment && !CALLERS_CODES.has(code) ? ENV_EXIT : ownExitCode(code);
  }

  /**
   * The envelope's error. An exit code other than the code's own (a broken config file is an
   * io_error, yet exit 5: the environment) travels as `details.exit_code`, so that a reply from
   * the daemon exits as the same command run in-process would.
   */
  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    let details = this.suggestion ? { ...this.details, suggestion: this.suggestion } : this.details;
    if (this.exitCode !== ownExitCode(this.code)) details = { ...details, exit_code: this.exitCode };
    return { code: this.code, message: this.message, details };
  }

  /** The error `toJSON` gave, back again (from a daemon's reply or another thread). */
  static fromJSON(json: { code: ErrorCode; message: string; details?: Record<string, unknown> }): GritError {
    const { suggestion, exit_code, ...details } = json.details ?? {};
    return new GritError(json.code as EnvironmentCode, json.message, {
      details,
      suggestion: typeof suggestion === 'string' ? suggestion : undefined,
      environment: exit_code === ENV_EXIT,
    });
  }
}

Object.defineProperty(GritError.prototype, BRAND, { value: true });

/** How many characters of a caller's value an error's message echoes, and its details keep. */
export const ECHOED_CHARS = 200;
const KEPT_CHARS = 1024;

/**
 * A value as an error echoes it: whole, or its first `max` characters, `…` and how many there
 * were (`quote`: the kept part as a JSON string). Cut only when that saves something (more than
 * `max` + 32 characters), so that cutting what was cut (an error passed back from the daemon)
 * changes nothing.
 */
export function cutText(value: string, max = ECHOED_CHARS, quote = false): string {
  const q = quote ? JSON.stringify : (t: string) => t;
  if (value.length <= max + 32) return q(value);
  const chars = [...value];
  return chars.length <= max + 32 ? q(value) : `${q(chars.slice(0, max).join('') + '…')} (${chars.length} characters)`;
}

/** A caller's value quoted in a message: JSON-quoted, cut as cutText cuts it. */
export const quoted = (value: unknown): string =>
  typeof value === 'string' ? cutText(value, ECHOED_CHARS, true) : cutText(String(JSON.stringify(value)), ECHOED_CHARS);

export function invalidArgs(message: string, details: Record<string, unknown>, suggestion: string): GritError {
  return new GritError('invalid_args', message, { details, suggestion });
}

/**
 * A file named on the command line (`--body-file`, an attachment) that could not be read. One the
 * caller can fix by naming another (none there, a directory, not readable) is invalid_args, exit 2:
 * not_found (3) would read as "the issue is not there".
 */
/** Whether a file system error's code is a refusal by permission (the bits, or a policy: EPERM). */
export const isPermissionDenied = (code: unknown): boolean => code === 'EACCES' || code === 'EPERM';

/** Whether a write was refused by the environment: the permissions, or a file system mounted read-only. */
export const isWriteRefused = (code: unknown): boolean => isPermissionDenied(code) || code === 'EROFS';

/**
 * What to do about a write refused with EROFS: the file system is mounted read-only, which no
 * permission grants past (root's writes are refused too), so "check the permissions" would send
 * the user the wrong way.
 */
export const readOnlyMountSuggestion = (path: string): string =>
  `the file system holding ${path} is mounted read-only: mount it read-write (permissions do not help), then run the command again`;

export function inputFileError(file: string, err: unknown): GritError {
  const code = (err as NodeJS.ErrnoException)?.code;
  const details = { file, errno: code ?? null };
  // A name too long for the file system names no file either.
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG') return invalidArgs(`no file ${file}`, details, 'check the path (relative paths are taken from the current directory)');
  if (code === 'EISDIR') return invalidArgs(`${file} is a directory, not a file`, details, 'give the path of a file');
  if (isPermissionDenied(code)) return invalidArgs(`cannot read ${file}: permission denied`, details, `check the permissions of ${file}`);
  return new GritError('io_error', `cannot read ${file}${code ? ` (${code})` : ''}`, { details });
}

/**
 * Refuses `f.txt/` where a file is meant (an attachment, a body or value file, `context show`):
 * the slash names a directory. Resolving the path drops it, and the file would be taken silently;
 * opening it gives ENOTDIR, which read as "no file f.txt/" beside a file that is there.
 */
export function refuseDirectoryPath(path: string): void {
  if (!path.endsWith('/')) return;
  const bare = path.replace(/\/+$/, '');
  throw invalidArgs(`${path} ends in /, which names a directory, not a file`, { file: path }, bare ? `give the file's path without the / (${bare})` : 'give the path of a file');
}

export function walError(message: string, details?: Record<string, unknown>): GritError {
  return new GritError('wal_error', message, { details, suggestion: 'run `grit doctor` to inspect the WAL' });
}

/** LMDB's own failure codes (lmdb.h) that mean the store file is damaged or unusable. */
const LMDB_DAMAGED: Record<number, string> = {
  [-30796]: 'MDB_CORRUPTED',
  [-30797]: 'MDB_PAGE_NOTFOUND',
  [-30793]: 'MDB_INVALID',
  [-30794]: 'MDB_VERSION_MISMATCH',
  [-30795]: 'MDB_PANIC',
  [-30792]: 'MDB_MAP_FULL',
  // What a read meets in a damaged page ("Invalid dupdata flag with no mc_xcursor"): found by
  // overwriting bytes of a store file (test/reliability/bad-state.test.ts).
  [-30782]: 'MDB_BAD_TXN',
};

/**
 * The errno name of a failure: node's fs errors carry it as a string (`ENOSPC`); LMDB (lmdb-js)
 * throws plain Errors whose `code` is the errno number (28) or an LMDB code.
 */
export function errnoName(code: unknown): string | null {
  if (typeof code === 'string') return /^E[A-Z0-9]+$/.test(code) ? code : null;
  if (typeof code !== 'number' || !Number.isInteger(code)) return null;
  if (LMDB_DAMAGED[code]) return LMDB_DAMAGED[code];
  for (const [name, n] of Object.entries(osConstants.errno)) if (n === code) return name;
  return null;
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EIO']);

/** Wraps anything thrown into a GritError without losing a GritError's own code. */
export function toGritError(err: unknown): GritError {
  if (err instanceof GritError) return err;
  const e = err as NodeJS.ErrnoException;
  // process.cwd() of a directory deleted (or moved away) under the shell.
  if (e?.syscall === 'uv_cwd') {
    return new GritError('io_error', 'the current directory no longer exists', {
      environment: true,
      details: { errno: e.code ?? null },
      suggestion: 'cd to a directory that exists (this one was deleted or moved away)',
    });
  }
  const errno = e ? errnoName((e as { code?: unknown }).code) : null;
  // Both are the environment refusing the write (exit 5), as the store's own check says (write-access.ts).
  if (isWriteRefused(errno)) {
    const path = typeof e.path === 'string' ? e.path : null;
    // A file being made (a temporary one, say) is refused by its directory: name that.
    const where = path && !existsSync(path) ? dirname(path) : path;
    const suggestion =
      errno === 'EROFS'
        ? readOnlyMountSuggestion(where ?? 'the repository')
        : where
          ? `check the permissions of ${where} and of the directories above it`
          : 'check the permissions of the repository\'s files';
    return new GritError('io_error', e.message, { environment: true, details: { errno, path }, suggestion });
  }
  if (errno) {
    let suggestion: string | undefined;
    if (NO_SPACE.has(errno)) suggestion = 'check free disk space and write permission on the repository';
    else if (errno.startsWith('MDB_')) suggestion = 'the store (a cache) is damaged: run `grit doctor --fix` to rebuild it from the WAL';
    return new GritError('io_error', e.message, { details: { errno }, suggestion });
  }
  return new GritError('internal_error', e instanceof Error ? e.message : String(err));
}
