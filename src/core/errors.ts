/** Error codes and exit codes of SPEC §6. Every failure a user can see is a GritError. */
import { constants as osConstants } from 'node:os';

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
  /** Overrides the code's exit status, e.g. "not a git repository" is an environment error (5). */
  readonly exitCode: number;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { details?: Record<string, unknown>; suggestion?: string; exitCode?: number } = {},
  ) {
    super(message);
    this.name = 'GritError';
    this.code = code;
    this.details = opts.details ?? {};
    this.suggestion = opts.suggestion;
    this.exitCode = opts.exitCode ?? EXIT_CODES[code];
  }

  /**
   * The envelope's error. An exit code other than the code's own (a broken config file is
   * invalid_args, yet exit 5: the environment) travels as `details.exit_code`, so that a reply
   * from the daemon exits as the same command run in-process would.
   */
  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    let details = this.suggestion ? { ...this.details, suggestion: this.suggestion } : this.details;
    if (this.exitCode !== EXIT_CODES[this.code]) details = { ...details, exit_code: this.exitCode };
    return { code: this.code, message: this.message, details };
  }

  /** The error `toJSON` gave, back again (from a daemon's reply or another thread). */
  static fromJSON(json: { code: ErrorCode; message: string; details?: Record<string, unknown> }): GritError {
    const { suggestion, exit_code, ...details } = json.details ?? {};
    return new GritError(json.code, json.message, {
      details,
      suggestion: typeof suggestion === 'string' ? suggestion : undefined,
      exitCode: Number.isInteger(exit_code) ? (exit_code as number) : undefined,
    });
  }
}

Object.defineProperty(GritError.prototype, BRAND, { value: true });

export const ENV_EXIT = 5;

export function invalidArgs(message: string, details?: Record<string, unknown>, suggestion?: string): GritError {
  return new GritError('invalid_args', message, { details, suggestion });
}

/** A file named on the command line (`--body-file`, an attachment) that could not be read. */
export function inputFileError(file: string, err: unknown): GritError {
  const code = (err as NodeJS.ErrnoException)?.code;
  const details = { file, errno: code ?? null };
  if (code === 'ENOENT') return new GritError('not_found', `no file ${file}`, { details, suggestion: 'check the path (relative paths are taken from the current directory)' });
  if (code === 'EISDIR') return invalidArgs(`${file} is a directory, not a file`, details, 'give the path of a file');
  if (code === 'EACCES' || code === 'EPERM') return new GritError('io_error', `cannot read ${file}: permission denied`, { details, suggestion: `check the permissions of ${file}` });
  return new GritError('io_error', `cannot read ${file}${code ? ` (${code})` : ''}`, { details });
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
function errnoName(code: unknown): string | null {
  if (typeof code === 'string') return /^E[A-Z0-9]+$/.test(code) ? code : null;
  if (typeof code !== 'number' || !Number.isInteger(code)) return null;
  if (LMDB_DAMAGED[code]) return LMDB_DAMAGED[code];
  for (const [name, n] of Object.entries(osConstants.errno)) if (n === code) return name;
  return null;
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'EACCES', 'EPERM', 'EIO']);

/** Wraps anything thrown into a GritError without losing a GritError's own code. */
export function toGritError(err: unknown): GritError {
  if (err instanceof GritError) return err;
  const e = err as NodeJS.ErrnoException;
  const errno = e ? errnoName((e as { code?: unknown }).code) : null;
  if (errno) {
    let suggestion: string | undefined;
    if (NO_SPACE.has(errno)) suggestion = 'check free disk space and write permission on the repository';
    else if (errno.startsWith('MDB_')) suggestion = 'the store (a cache) is damaged: run `grit doctor --fix` to rebuild it from the WAL';
    return new GritError('io_error', e.message, { details: { errno }, suggestion });
  }
  return new GritError('internal_error', e instanceof Error ? e.message : String(err));
}
